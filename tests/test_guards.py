"""Start-up guards: no core dumps (they would hold the voice and the transcripts) and no
sound server over the network. Real processes, real signals, the real sound libraries."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, assert_one_line_error, haven_here


def _unlimited_cores():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    # A shell starting the tests in the background (`pytest &`) makes them ignore SIGQUIT, and
    # the child would inherit that and never quit: give it SIGQUIT's default action (a core).
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def _quit_after_first_line(cmd: list[str], cwd) -> int:
    """Start cmd allowed to dump core, give it one line, wait for its answer, send SIGQUIT."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=cwd, preexec_fn=_unlimited_cores,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdin.write("he never listens to me\n")
    proc.stdin.flush()
    assert proc.stdout.readline()  # it is running, past start-up
    proc.send_signal(signal.SIGQUIT)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{cmd[-1]!r} did not quit on SIGQUIT within 60 s") from None


def _cores(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith("core")]


@pytest.mark.slow
def test_a_crash_leaves_no_core_dump(tmp_path):
    control, haven = tmp_path / "control", tmp_path / "haven"
    control.mkdir()
    haven.mkdir()
    # Control: this machine does write a core for a plain Python process in the same state.
    echo = "import sys; print(sys.stdin.readline(), flush=True); sys.stdin.readline()"
    try:
        code = _quit_after_first_line([sys.executable, "-c", echo], control)
    except subprocess.SubprocessError:
        pytest.skip("cannot raise the core limit here")
    if not _cores(control):
        pytest.skip(f"this machine writes no core files (core_pattern "
                    f"{open('/proc/sys/kernel/core_pattern').read().strip()!r})")
    assert code == -signal.SIGQUIT
    code = _quit_after_first_line([sys.executable, "-u", "-m", "assistant", "reflect", "--batch"], haven)
    assert code == -signal.SIGQUIT
    assert _cores(haven) == []


def test_network_sound_server_is_refused(tmp_path, monkeypatch):
    for server in ("tcp:192.0.2.1:4713", "192.0.2.1", "unix:/run/pulse/native tcp6:[::1]:4713"):
        monkeypatch.setenv("PULSE_SERVER", server)
        assert_one_line_error(haven_here("breathe", "--cycles", "1", "--output", tmp_path / "b.wav"),
                              "network sound server", "--allow-network-audio")
        assert not (tmp_path / "b.wav").exists()


def test_local_sound_server_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server-here")
    assert haven_here("breathe", "--cycles", "1", "--output", tmp_path / "b.wav", "--json").returncode == 0


def test_network_sound_server_when_allowed(tmp_path, monkeypatch):
    # Port 1 on this machine: nothing listens, so the attempt fails at once and never leaves it.
    monkeypatch.setenv("PULSE_SERVER", "tcp:127.0.0.1:1")
    result = haven_here("breathe", "--cycles", "1", "--output", tmp_path / "b.wav", "--json",
                        "--allow-network-audio")
    assert result.returncode == 0, result.stderr
