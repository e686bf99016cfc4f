"""Keeping native libraries' chatter off the person's screen.

alsa-lib writes lines such as "ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred"
straight to file descriptor 2 from C, under the live panel: each one pushes the
panel down and leaves a stale copy of it behind, and they split the breathing bar.
Two layers keep them away: alsa-lib's own error handler set to one that says nothing
(process-wide), and, while a panel is drawn, fd 2 pointed at /dev/null for anything
else written from C (PortAudio, onnxruntime). Python's sys.stderr stays on the real
terminal the whole time, so Haven's own one-line messages still reach the person.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...):
# the variadic tail is never read, so a fixed prototype is safe to hand to alsa-lib.
_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_char_p)
_silent_handler = None  # kept referenced for the life of the process: alsa-lib holds a pointer to it


@functools.cache  # once per process: find_library runs ldconfig, and every use of sound asks here
def silence_alsa() -> bool:
    """alsa-lib's error messages go nowhere from now on; False where there is no alsa-lib."""
    global _silent_handler
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    except OSError:
        return False
    handler = _ALSA_HANDLER(lambda *_: None)
    lib.snd_lib_error_set_handler(handler)
    _silent_handler = handler
    return True


@contextlib.contextmanager
def native_stderr_hidden():
    """While the block runs, C code writing to fd 2 writes to /dev/null; sys.stderr (Python's
    own, so Haven's messages) still goes to where fd 2 pointed before."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no usable fd 2 (an embedded or closed stderr): nothing to hide
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    previous = sys.stderr
    try:
        os.dup2(devnull, 2)
        sys.stderr = open(saved, "w", buffering=1, encoding=getattr(previous, "encoding", None) or "utf-8",
                          errors="backslashreplace", closefd=False)
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        sys.stderr = previous
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def quiet_screen():
    """Both layers, for as long as a live panel or the breathing bar is drawn."""
    silence_alsa()
    with native_stderr_hidden():
        yield
