"""Checks made when a command starts, before anything slow or irreversible happens.

- check_output: an --output path that Haven may write (never the person's recording,
  never a device or other special file, an existing file only with --force).
- no_core_dumps: a crash must not write the decoded voice and transcripts to disk.
- local_sound_server: Haven never opens a network connection, and a sound server
  reached over TCP would be one (native code, out of reach of any Python guard).
"""

from __future__ import annotations

import os
import resource
import stat
import tempfile
from pathlib import Path

from assistant.errors import HavenError


def check_output(path: str, input: str | None = None, force: bool = False) -> Path:
    """Refuse an --output that would destroy something; returns it as a Path.

    The folder is tried by creating (and removing) a temporary file in it, so that
    an unwritable folder fails here and not after the slow model load, and no empty
    file is left when the run is interrupted later."""
    if not path or not path.strip():
        raise HavenError("--output needs a file name, such as --output replies.wav")
    p = Path(path)
    try:
        st = os.stat(p) if os.path.lexists(p) else None
    except OSError as e:  # a symlink loop, a folder we may not enter
        raise HavenError(f"cannot write {p}: {e.strerror or e}; choose another --output path") from None
    if input is not None and st is not None and os.path.exists(input) and os.path.samefile(p, input):
        raise HavenError(f"--output {p} is the recording given with --input; choose another --output path")
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise HavenError(f"cannot write {p}: it is a folder; give a file name such as {p / 'replies.wav'}")
    if p.is_symlink() or (st is not None and not stat.S_ISREG(st.st_mode)):
        raise HavenError(f"--output {p} is not a regular file (a link, device or pipe); give a new file name")
    if st is not None and not force:
        raise HavenError(f"--output {p} exists; add --force to replace it, or choose another name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise HavenError(f"cannot write {p}: the folder {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{p.name}.", suffix=".check"):
            pass
    except OSError as e:
        raise HavenError(f"cannot write {p}: the folder {parent} is not writable ({e.strerror or e}); "
                         "choose another --output path") from None
    return p


def no_core_dumps() -> None:
    """A crash must not write memory to disk: it holds the decoded voice and the transcripts
    (the audit found a whole recording in a 588 MB core after SIGQUIT). The soft limit is
    the one the kernel applies (and passes to systemd-coredump, which honours it); the
    voice worker inherits it. The hard limit is left alone: lowering it could not be undone
    by whatever runs Haven in-process (the tests), and nothing in Haven raises the soft one."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


def local_sound_server(allow_network: bool = False) -> None:
    """Refuse a sound server reached over the network (PULSE_SERVER=tcp:host...).

    libpulse connects from native code (espeak-ng, PortAudio), even when Haven only
    writes files, and sends its auth cookie; no Python-level guard can stop it."""
    server = os.environ.get("PULSE_SERVER", "").strip()
    if allow_network or not server:
        return
    for entry in server.split():
        address = entry.split("}", 1)[-1]  # "{machine-id}unix:/path" names the machine it is for
        if not (address.startswith("unix:") or address.startswith("/")):
            raise HavenError(
                f"PULSE_SERVER={server} is a network sound server, and Haven never opens a network "
                "connection; unset PULSE_SERVER (or point it at a unix: socket), or add --allow-network-audio")
