"""Errors that reach the person as one line on stderr and exit code 2.

Anything raised as a HavenError is bad usage or bad input that the person can fix;
the message says what happened and what to do. Everything else is a bug (exit 1).
"""

import signal


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


_stopping: list[KeyboardInterrupt] = []


def on_stop_signal(signum, frame):
    """Ctrl-C, SIGTERM and SIGHUP: raised in the main thread, so that a command ends the way
    Ctrl-C ends it, and remembered for raise_if_stopped."""
    error = {signal.SIGTERM: Terminated, signal.SIGHUP: HungUp}.get(signum, KeyboardInterrupt)()
    _stopping.append(error)
    raise error


def raise_if_stopped() -> None:
    """Raise a stop signal's exception again if it was lost on its way up. Python runs the
    handler between any two bytecodes of the main thread, so its exception can land in code
    that drops it (a library's catch-all, a __del__); a loop that asks here once a frame
    still ends when told to."""
    if _stopping:
        raise _stopping[0]


def forget_stop_signals() -> None:
    _stopping.clear()
