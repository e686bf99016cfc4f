"""Ctrl-C, SIGTERM and SIGHUP end a session however the signal lands, in process: the real
pipeline, the real model, a real signal sent to this process."""

from __future__ import annotations

import contextlib
import json
import os
import signal

import numpy as np
import pytest

from assistant.errors import Terminated, forget_stop_signals, on_stop_signal
from assistant.settings import FRAME
from assistant.source import ArraySource
from speech import silence, speak


class SwallowingSource(ArraySource):
    """Test double for a library that drops exceptions (a catch-all, a __del__): at `at` frames
    in, SIGTERM arrives while such code runs, and its exception goes no further."""

    def __init__(self, audio: np.ndarray, at: int):
        super().__init__(audio)
        self.at = at
        self.given = 0

    def __iter__(self):
        for frames in super().__iter__():
            self.given += 1
            if self.given == self.at:
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    for _ in range(1000):  # the handler runs between two of these bytecodes
                        pass
                except BaseException:
                    pass  # swallowed, as the library would
            yield frames


@contextlib.contextmanager
def stop_handlers():
    previous = signal.signal(signal.SIGTERM, on_stop_signal)
    forget_stop_signals()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        forget_stop_signals()


def test_a_sigterm_whose_exception_is_swallowed_still_ends_the_session(stages):
    from assistant.pipeline import run
    from assistant.session import SessionSettings
    from assistant.transcriber import InlineASR

    audio = np.concatenate([silence(0.5), speak("He walked out again and I feel so alone.", "en-us"),
                            silence(2.0), speak("I keep waiting for him to call me.", "en-us"), silence(2.0)])
    source = SwallowingSource(audio, at=30)  # about 1 s in: inside the first sentence
    seen: list[dict] = []
    with stop_handlers(), pytest.raises(Terminated):
        run(source, stages, None, lambda e: seen.append(json.loads(e.to_json())), SessionSettings(speak=False),
            InlineASR(stages.transcriber))
    assert source.given < len(audio) // FRAME // 2, "the session went on after the signal"
    summary = next(e for e in seen if e["event"] == "summary")
    assert summary["reason"] == "terminate"
    assert [e["event"] for e in seen][-1] == "done"
    assert not any(e["event"] == "reply" for e in seen)  # it ended before the first utterance was over


def test_a_signal_ignored_before_haven_started_stays_ignored(tmp_path):
    """`nohup haven listen` must outlive the terminal: a SIGHUP ignored when Haven starts is
    not taken over (it once was, and ended the session). SIGTERM still ends it, with 143."""
    import subprocess
    import sys

    from assistant.audio import write_wav
    from conftest import ROOT

    path = tmp_path / "talk.wav"
    parts = [silence(0.5)]
    for sentence in ("He walked out again and I feel so alone.", "I keep waiting for him to call me.",
                     "We fought about the same thing as last week.", "I don't know how to reach him anymore."):
        parts += [speak(sentence, "en-us"), silence(2.5)]
    write_wav(path, np.concatenate(parts))
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "listen", "--json", "--no-speak", "--input", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    events = []
    for line in proc.stdout:
        events.append(json.loads(line)["event"])
        if events[-1] == "reply":
            break
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "haven: stopped (SIGTERM)"


# A test double for a library that never returns from its cleanup, as a sound stack stuck in
# stopping a stream does: the stop signal's exception is caught and the main thread waits for good.
HANGING_CLEANUP = """
import signal, threading, time
from assistant import errors
errors.STOP_GRACE_S = 1.0
signal.signal(signal.SIGTERM, errors.on_stop_signal)
try:
    print("ready", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    threading.Event().wait()
"""


def test_a_stop_signal_ends_haven_even_when_its_cleanup_hangs():
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.Popen([sys.executable, "-c", HANGING_CLEANUP], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    [line] = err.splitlines()  # one line, no traceback, and where it waited
    assert line.startswith("haven: still stopping 1 s after the signal (waiting at threading.py:"), line
    assert "in wait" in line and line.endswith("ended without waiting longer")


def test_a_stop_that_ends_in_time_leaves_no_watchdog_behind():
    import threading

    with stop_handlers(), pytest.raises(Terminated):
        on_stop_signal(signal.SIGTERM, None)
    assert not [t for t in threading.enumerate() if t.name == "haven-stop-watchdog" and t.is_alive()]


def test_a_signal_due_as_the_journal_holds_signals_leaves_them_unblocked(monkeypatch):
    """The journal holds Ctrl-C, SIGTERM and SIGHUP while it writes an entry. A signal that
    arrives just as it blocks them has its handler run by that very call, whose exception must
    not leave the three blocked for good (later Ctrl-Cs would then do nothing). A signal landing
    between two system calls cannot be timed from a test, so the test double here is
    pthread_sigmask itself: the real call, then the exception a due handler raises."""
    from assistant import journal

    real = signal.pthread_sigmask

    def block_then_interrupt(how, mask):
        result = real(how, mask)
        if how == signal.SIG_BLOCK and signal.SIGTERM in set(mask):
            raise Terminated()
        return result

    before = real(signal.SIG_BLOCK, [])
    monkeypatch.setattr(journal.signal, "pthread_sigmask", block_then_interrupt)
    try:
        with pytest.raises(Terminated):
            with journal._signals_held():
                pytest.fail("the block ran on after the signal")
    finally:
        monkeypatch.undo()
        after = real(signal.SIG_SETMASK, before)  # whatever happened, this test leaves the mask as it was
    assert after == before, f"left blocked: {sorted(s.name for s in after - before)}"
