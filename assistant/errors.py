"""Errors that reach the person as one line on stderr and exit code 2.

Anything raised as a HavenError is bad usage or bad input that the person can fix;
the message says what happened and what to do. Everything else is a bug (exit 1).
"""

import os
import signal
import sys
import threading


class HavenError(Exception):
    """A problem the person can fix; str(error) is the one line we print."""


class PromptsError(HavenError):
    """A malformed file in prompts/: the message names the file and line."""


class AudioInputError(HavenError):
    """A recording or microphone we cannot read."""


class ModelError(HavenError):
    """No usable speech-recognition model."""


class DeviceLost(HavenError):
    """The microphone stopped delivering sound mid-session (the sound server died, the device went)."""


class VoiceError(HavenError):
    """No text-to-speech voice for the language."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it ends a command the way Ctrl-C does."""

    exit_code = 143


class HungUp(KeyboardInterrupt):
    """SIGHUP (the terminal was closed): ends a command the way SIGTERM does, exit 128 + 1."""

    exit_code = 129


def exit_code(stop: KeyboardInterrupt) -> int:
    """The exit code a stop signal ends Haven with: 130 for Ctrl-C (128 + SIGINT), 143 or 129."""
    return getattr(stop, "exit_code", 130)


_stopped: KeyboardInterrupt | None = None  # the first stop signal's exception: it decides the exit code

# A stop signal ends Haven within this long even if closing hangs in native code (a sound
# stack that never returns from stopping a stream is a known PortAudio/ALSA-pulse failure).
# The journal is closed within a second, so this never cuts it short.
STOP_GRACE_S = 20.0
_watchdog: threading.Timer | None = None


def on_stop_signal(signum, frame):
    """Ctrl-C, SIGTERM and SIGHUP: raised in the main thread, so that a command ends the way
    Ctrl-C ends it, and remembered for raise_if_stopped."""
    global _stopped
    error = {signal.SIGTERM: Terminated, signal.SIGHUP: HungUp}.get(signum, KeyboardInterrupt)()
    if _stopped is None:
        _stopped = error
    _watch_the_stop(exit_code(error))
    raise error


def _watch_the_stop(code: int) -> None:
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Timer(STOP_GRACE_S, _give_up, (code,))
        _watchdog.name, _watchdog.daemon = "haven-stop-watchdog", True
        _watchdog.start()


def _give_up(code: int) -> None:
    """Still not ended STOP_GRACE_S after the signal: say where the main thread waits (for a bug
    report) and end now. os.write, not sys.stderr: the stuck thread may hold stderr's lock."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    ours = frame
    while ours is not None and os.path.basename(os.path.dirname(ours.f_code.co_filename)) != "assistant":
        ours = ours.f_back
    where = ", from ".join(dict.fromkeys(
        f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno} in {f.f_code.co_name}"
        for f in (frame, ours) if f is not None)) or "interpreter exit"
    try:
        os.write(2, f"haven: still stopping {STOP_GRACE_S:g} s after the signal (waiting at {where}); "
                    "ended without waiting longer\n".encode())
    finally:
        os._exit(code)


def raise_if_stopped() -> None:
    """Raise a stop signal's exception again if it was lost on its way up. Python runs the
    handler between any two bytecodes of the main thread, so its exception can land in code
    that drops it (a library's catch-all, a __del__); a loop that asks here once a frame
    still ends when told to."""
    if _stopped is not None:
        raise _stopped


def forget_stop_signals(keep_watching: bool = False) -> None:
    """A new command starts clean. keep_watching: the process is about to exit, and the
    watchdog of a stop still covers what runs at exit (thread joins, PortAudio's atexit)."""
    global _stopped, _watchdog
    _stopped = None
    if _watchdog is not None and not keep_watching:
        _watchdog.cancel()
        _watchdog.join(1.0)  # it wakes at once on cancel
        _watchdog = None
