"""The journal: what was said and answered, kept only when the person asks (--journal).

Nothing else Haven does leaves a trace on disk: audio stays in memory, and without
--journal no transcript is written anywhere. With it, each session is one Markdown
file, named by its start time, in

    platformdirs.user_data_dir("haven")/journal/     (or $HAVEN_DATA_DIR/journal)

The folder is 0700 and each file 0600 from the moment it exists (os.open with the
mode, so no umask can widen it, and O_EXCL so an existing file is never reused).
Every entry is appended with one write() and fsync'ed at once: a process that is
killed loses at most the utterance in flight. The file is created at the first
utterance, so a session in which nothing was said leaves nothing behind. Only
text goes in (transcript, what it was taken for, the reply, the summary): never audio.

`haven journal list | show N | forget N | forget --all` read and delete these files;
N is the number `list` shows (oldest first).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from assistant.errors import HavenError
from assistant.events import Done, Event, Listening, ReplyEvent, Summary

DIR_MODE = 0o700
FILE_MODE = 0o600
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})(\d{2})(?:-(\d+))?\.md$")
_ENTRY = re.compile(r"^## \d+ · ")
_THEME = re.compile(r"^- \*\*Heard as:\*\* .*?theme `([a-z_]+)`")
_END = re.compile(r"^\*Session ended ")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def data_dir() -> Path:
    override = os.environ.get("HAVEN_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("haven", appauthor=False))


def journal_dir() -> Path:
    return data_dir() / "journal"


def ensure_journal_dir() -> Path:
    """The journal folder, created 0700 (and tightened to 0700 if it was looser)."""
    folder = journal_dir()
    try:
        if not folder.parent.exists():
            os.makedirs(folder.parent, mode=DIR_MODE, exist_ok=True)
            os.chmod(folder.parent, DIR_MODE)  # the mode given to makedirs is subject to the umask
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            pass
        if folder.is_symlink() or not folder.is_dir():
            raise HavenError(f"{folder} is not a folder; move it away so Haven can keep the journal there")
        st = folder.stat()
        if st.st_uid != os.getuid():
            raise HavenError(f"{folder} belongs to another user; the journal must be readable by you alone")
        if st.st_mode & 0o777 != DIR_MODE:
            os.chmod(folder, DIR_MODE)
        # Writable now, not at the first utterance (a read-only folder passed this check before).
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise HavenError(f"cannot keep a journal in {folder}: {e.strerror or e}; "
                         "check that folder, or set HAVEN_DATA_DIR to another") from None
    return folder


def _clean(text: str | None) -> str:
    """One line of text: no newlines (they could forge a heading), no control characters."""
    return _CONTROL.sub("", " ".join(str(text or "").split()))


class Journal:
    """One session's journal file. `record(event)` takes the session's events as they come."""

    def __init__(self, folder: Path, source: str = "", started: float | None = None):
        self.folder = folder
        self.source = source
        self.started = started if started is not None else time.time()
        self.path: Path | None = None
        self.utterances = 0
        self.replies = 0
        self.closed = False
        self.failed = False
        self._fd: int | None = None
        self._details: list[str] = []
        self._themes: list[str] = []
        self._summarised = False
        self._ended = False
        self._kept = 0  # entries written whole

    @classmethod
    def open(cls, source: str = "") -> "Journal":
        """Check the folder now (so a problem shows before the slow start-up); the file comes later."""
        return cls(ensure_journal_dir(), source)

    # -- writing ----------------------------------------------------------------------

    def wrap(self, emit):
        """An emit function that also records each event here."""

        def emit_and_record(event: Event) -> None:
            self.record(event)  # first: the journal must not depend on the terminal
            emit(event)

        return emit_and_record

    def record(self, event: Event) -> None:
        if self.closed or self.failed:
            return
        if isinstance(event, Listening):
            self._details = [f"language {_clean(event.language)}", f"model {_clean(event.model)}"]
        elif isinstance(event, ReplyEvent):
            self.utterances += 1
            if event.reply:
                self.replies += 1
            if event.theme and event.theme not in self._themes:
                self._themes.append(event.theme)
            self._write(self._reply_text(event))
        elif isinstance(event, Summary):
            if self._fd is None:
                return  # nothing was said: nothing to keep
            self._summarised = True
            themes = ", ".join(_clean(t) for t in event.themes) or "none"
            self._write(f"## Summary\n\n- **Themes:** {themes}\n- **Haven:** {_clean(event.text)}\n\n")
        elif isinstance(event, Done):
            self._end()

    def _reply_text(self, e: ReplyEvent) -> str:
        when = time.strftime("%H:%M:%S", time.localtime())
        taken = _clean(e.kind)
        if e.theme:
            taken += f", theme `{_clean(e.theme)}`"
        if e.command:
            taken = f"command `{_clean(e.command)}`" if e.kind == "command" else f"{taken}, command `{_clean(e.command)}`"
        said = _clean(e.reply) if e.reply else ("*(paused: Haven stayed quiet)*" if e.mode == "paused" else "*(no reply)*")
        lines = [f"## {self.utterances} · {when}", "",
                 f"- **You said:** {_clean(e.transcript)}",
                 f"- **Heard as:** {taken}",
                 f"- **Haven:** {said}"]
        if e.mode == "safety":
            lines.append("- **Mode:** safety (after words about harm, Haven stays with safety)")
        lines.append(f"- **At:** {e.start_s:.1f}–{e.end_s:.1f} s into the session")
        return "\n".join(lines) + "\n\n"

    def _header(self) -> str:
        started = time.localtime(self.started)
        title = time.strftime("%A %d %B %Y, %H:%M", started)
        details = " · ".join(d for d in [time.strftime("%Y-%m-%d %H:%M:%S", started),
                                         _clean(self.source), *self._details] if d)
        return f"# Haven journal: {title}\n\nStarted {details}\n\n"

    def _create(self) -> None:
        stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(self.started))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for n in range(1, 1000):
            path = self.folder / (f"{stamp}.md" if n == 1 else f"{stamp}-{n}.md")
            try:
                fd = os.open(path, flags, FILE_MODE)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(f"too many journal files named {stamp}")
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        self._fd, self.path = fd, path
        try:  # make the new name itself durable
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        os.write(fd, self._header().encode("utf-8"))

    def _write(self, text: str) -> None:
        """Append one entry with a single write, and put it on the disk before going on."""
        whole = None  # the file's size before this entry: what it is cut back to if the entry fails
        try:
            with _signals_held():  # an entry is written whole, or not begun
                if self._fd is None:
                    self._create()
                whole = os.lseek(self._fd, 0, os.SEEK_END)
                data = text.encode("utf-8")
                while data:
                    data = data[os.write(self._fd, data):]
                os.fsync(self._fd)
                self._kept += 1
        except OSError as e:
            # A full disk must not end the conversation: say so once, and stop keeping it.
            self.failed = True
            self._cut_back(whole)
            sys.stderr.write(f"haven: the journal could not be written ({e.strerror or e}); "
                             f"{'the entries before this one are kept' if self._kept else 'nothing was kept'}, "
                             "and the rest of this session is not\n")

    def _cut_back(self, size: int | None) -> None:
        """After a failed write: no torn entry (cut back to the last whole one), and no file
        at all if no entry was kept (an empty journal would list as a session)."""
        if self._fd is None:
            if self.path is not None:  # created, but not even the header went in
                self.path.unlink(missing_ok=True)
                self.path = None
            return
        try:
            if self._kept == 0:
                os.close(self._fd)
                self._fd = None
                self.path.unlink(missing_ok=True)
                self.path = None
            elif size is not None:
                os.ftruncate(self._fd, size)  # freeing space works on a full disk
        except OSError:
            pass

    def _end(self) -> None:
        if self._ended or self._fd is None:
            return
        self._ended = True
        ended = time.strftime("%Y-%m-%d %H:%M:%S")
        if not self._summarised:  # the recording ended without "stop": still name the themes
            themes = ", ".join(_clean(t) for t in self._themes) or "none"
            self._write(f"## Themes\n\n- **Themes:** {themes}\n\n")
        self._write(f"---\n\n*Session ended {ended} · {count(self.utterances, 'utterance')}, "
                    f"{count(self.replies, 'reply', 'replies')}.*\n")

    def close(self) -> None:
        """Write the end line (if the session did not), flush to disk, close. Safe to call twice."""
        if self.closed:
            return
        with _signals_held():  # a second Ctrl-C must not cut the closing short
            if not self.failed:
                self._end()
            self.closed = True
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (they are delivered after it)."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# -- reading and forgetting (haven journal ...) ---------------------------------------


@dataclass
class Entry:
    number: int
    path: Path
    started: str
    utterances: int
    themes: list = field(default_factory=list)
    finished: bool = False

    def fields(self) -> dict:
        return {"number": self.number, "started": self.started, "utterances": self.utterances,
                "themes": self.themes, "finished": self.finished, "file": str(self.path)}


def entries() -> list[Entry]:
    """The journal files, oldest first, numbered from 1."""
    folder = journal_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted((p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file()), key=_order):
        m = _NAME.match(path.name)
        utterances, themes, finished = 0, [], False
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            if _ENTRY.match(line):
                utterances += 1
            elif (t := _THEME.match(line)) and t.group(1) not in themes:
                themes.append(t.group(1))
            elif _END.match(line):
                finished = True
        started = f"{m.group(1)} {m.group(2)}:{m.group(3)}:{m.group(4)}"
        found.append(Entry(len(found) + 1, path, started, utterances, themes, finished))
    return found


def _order(path: Path) -> tuple[str, int]:
    """Start time, then the -N of a second session started in the same second: by name,
    "..._134546-2.md" would sort before "..._134546.md" and `forget 1` would take the later one."""
    m = _NAME.match(path.name)
    return path.name[:17], int(m.group(5) or 1)


def _pick(number: int) -> Entry:
    all_entries = entries()
    if not all_entries:
        raise HavenError("the journal is empty; sessions are kept only with: haven listen --journal")
    if not 1 <= number <= len(all_entries):
        raise HavenError(f"there is no journal entry {number}; there are {len(all_entries)} "
                         f"(numbers 1 to {len(all_entries)}, see: haven journal list)")
    return all_entries[number - 1]


def show(number: int) -> str:
    entry = _pick(number)
    try:
        return entry.path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise HavenError(f"cannot read {entry.path}: {e.strerror or e}") from None


def _delete(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise HavenError(f"cannot delete {path}: {e.strerror or e}") from None


def _sync_folder() -> None:
    try:
        fd = os.open(journal_dir(), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def forget(number: int) -> Entry:
    entry = _pick(number)
    _delete(entry.path)
    _sync_folder()
    return entry


def forget_all() -> int:
    all_entries = entries()
    for entry in all_entries:
        _delete(entry.path)
    _sync_folder()
    return len(all_entries)
