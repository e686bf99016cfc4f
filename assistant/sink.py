"""Where Haven's voice goes: a timeline written as a WAV file, or the speakers.

All sinks take the same calls, on the session's sample clock, and mean the same by them:

- play(samples, at) -> start: the clip starts at sample `at` (or as soon after it as
  the sink can: after what is already queued, or once the device can reach it);
  returns where it starts.
- playing(at): whether something is sounding at sample `at` (the state "speaking").
- pending(at): whether anything handed over is still to sound at or after `at` (a
  reply that has not started yet counts: barge-in stops it too).
- cut(at): stop what sounds at `at`, and drop what was queued after it (barge-in).
- advance(clock): the session clock moved on (a WAV writes out what is final).
- finish(): the session is over, keep what was played (a WAV is put in place; the
  speakers play out what is queued). abandon(): interrupted, keep nothing.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections import deque
from typing import Callable

import numpy as np

from assistant.audio import to_pcm16
from assistant.errors import HavenError
from assistant.settings import SAMPLE_RATE


class TimelineSink:
    """Replies placed on the input's clock; written as one WAV, sample-aligned with the input.

    With a path, the WAV is written as the session goes: everything before the
    session's clock is final (a reply is only ever placed at or after the moment it
    was decided, and only a reply still playing can be cut), so advance(clock)
    writes it out and forgets it. Memory then stays flat however long the session.
    The file is written beside its name and renamed into place when complete.
    """

    def __init__(self, length: int = 0, path=None):
        self.length = length
        self._clips: list[list] = []  # [start, samples]
        self._written = 0  # samples already written out
        self._path = path
        self._wave = None
        if path is not None:
            import wave

            clean_stale_partials(path)
            self._tmp = partial_name(path, os.getpid())
            try:
                # Opened here, not by wave.open(name): a failed open then leaves no half-made
                # Wave_write whose __del__ prints a traceback.
                # Readable by the owner alone: the replies name the themes, a crisis reply reveals a crisis.
                self._file = os.fdopen(os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
            except OSError as e:
                raise HavenError(f"cannot write {path}: {e.strerror or e}; choose another --output path") from None
            self._wave = wave.open(self._file, "wb")
            self._wave.setnchannels(1)
            self._wave.setsampwidth(2)
            self._wave.setframerate(SAMPLE_RATE)

    def play(self, samples: np.ndarray, at: int) -> int:
        start = max(at, self._written)
        self._clips.append([start, samples])
        return start

    def end(self) -> int:
        return max([s + len(x) for s, x in self._clips] + [self._written])

    def playing(self, at: int) -> bool:
        return any(s <= at < s + len(x) for s, x in self._clips)

    def pending(self, at: int) -> bool:
        return any(at < s + len(x) for s, x in self._clips)

    def cut(self, at: int) -> None:
        for clip in self._clips:
            s, x = clip
            if s <= at < s + len(x):
                clip[1] = x[: at - s]
        self._clips = [c for c in self._clips if c[0] <= at]

    def _mix(self, start: int, end: int) -> np.ndarray:
        out = np.zeros(max(0, end - start), dtype=np.float32)
        for s, x in self._clips:
            a, b = max(s, start), min(s + len(x), end)
            if b > a:
                out[a - start:b - start] += x[a - s:b - s]
        return np.clip(out, -1.0, 1.0)

    def advance(self, upto: int) -> None:
        """Write out what is final: everything before `upto`."""
        if self._wave is None or upto <= self._written:
            return
        try:
            self._wave.writeframes(to_pcm16(self._mix(self._written, upto)))
        except OSError as e:  # a full disk mid-session: the replies said so far stay on the screen
            raise HavenError(f"cannot write {self._path}: {e.strerror or e} after {self._written / SAMPLE_RATE:.0f} s; "
                             "free some space or choose another --output path") from None
        self._written = upto
        self._clips = [c for c in self._clips if c[0] + len(c[1]) > upto]

    def render(self) -> np.ndarray:
        """The whole timeline in memory (without a path)."""
        return self._mix(0, max(self.length, self.end()))

    def finish(self) -> None:
        """Write the rest and put the file in place."""
        if self._wave is None:
            return
        self.advance(max(self.length, self.end()))
        try:
            self._wave.close()  # writes the final header sizes
            self._file.close()
        except OSError as e:
            raise HavenError(f"cannot write {self._path}: {e.strerror or e}; free some space or choose "
                             "another --output path") from None
        self._wave = None
        os.replace(self._tmp, self._path)

    def abandon(self) -> None:
        """Interrupted: no half-written output is left behind."""
        if self._wave is not None:
            for close in (self._wave.close, self._file.close):
                try:
                    close()
                except OSError:  # the disk filled up: the file goes anyway
                    pass
            self._wave = None
            os.unlink(self._tmp)


def partial_name(path, pid: int) -> str:
    """Where an output is written until it is complete: beside it, named for the process writing it."""
    return f"{path}.{pid}.partial"


def clean_stale_partials(path) -> None:
    """Remove what a killed run (SIGKILL, power loss) left of this output: Haven's own
    partial files whose process is gone. A run still writing one is left alone."""
    from pathlib import Path

    p = Path(path)
    for stale in p.parent.glob(f"{glob.escape(p.name)}.*.partial"):
        pid = stale.name[len(p.name) + 1:-len(".partial")]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class SpeakerSink:
    """Plays through a sounddevice.OutputStream whose callback places each clip at its sample.

    clock: the session's SampleClock (samples ↔ time.monotonic()). The callback knows
    when each block will be heard (PortAudio's DAC time), so a clip starts within a
    sample of its time, or at once if that has passed; the real start of every clip is
    kept in `starts` (session samples). Without a clock, clips play as they come.

    sd.play/sd.stop across threads deadlocked in tests; a callback that drops the clips
    when a flag is set stops within one block (a few milliseconds).
    """

    BLOCK = 320  # 20 ms at 16 kHz

    def __init__(self, device=None, echo=None, clock=None):
        from assistant.devices import sounddevice

        sd = self._sd = sounddevice()
        self.device = device
        self.echo = echo  # an EchoGuard to tell what the speakers play
        self.clock = clock
        self._queue: deque = deque()  # [time to start on time.monotonic() or None, samples]
        self._current: np.ndarray | None = None
        self._pos = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._playing = threading.Event()
        self.starts: list[int] = []  # where each clip really started, on the session clock
        try:
            self._stream = sd.OutputStream(
                samplerate=SAMPLE_RATE, channels=1, dtype="float32", device=device,
                blocksize=self.BLOCK, callback=self._callback, latency="high",
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise HavenError(f"cannot open the speakers ({e}); check 'haven devices' or use --output FILE") from None

    def _callback(self, outdata, frames, time_info, status) -> None:
        out = outdata[:, 0]
        out[:] = 0
        # When this block's first sample is heard, on time.monotonic().
        lead = max(0.0, time_info.outputBufferDacTime - time_info.currentTime) if time_info.currentTime else 0.0
        heard_at = time.monotonic() + lead
        with self._lock:
            if self._stop.is_set():
                self._stop.clear()
                self._current = None
                self._queue.clear()
            filled = 0
            while filled < frames:
                if self._current is None:
                    if not self._queue:
                        break
                    start_at, samples = self._queue[0]
                    if start_at is not None:
                        wait = int(round((start_at - heard_at) * SAMPLE_RATE)) - filled
                        if wait >= frames - filled:
                            break  # its time is in a later block
                        filled += max(0, wait)
                    self._queue.popleft()
                    self._current, self._pos = samples, 0
                    if self.clock is not None:
                        self.starts.append(self.clock.sample_at(heard_at + filled / SAMPLE_RATE))
                take = min(frames - filled, len(self._current) - self._pos)
                out[filled:filled + take] = self._current[self._pos:self._pos + take]
                filled += take
                self._pos += take
                if self._pos >= len(self._current):
                    self._current = None
            if self._current is None and not self._queue:
                self._playing.clear()
        if self.echo is not None:
            # Every block, silence included, so the reference stays one continuous stream.
            self.echo.played(heard_at, out.copy())

    def play(self, samples: np.ndarray, at: int | None = None) -> int:
        start_at = self.clock.time_of(at) if self.clock is not None and at is not None else None
        earliest = self._earliest()
        with self._lock:
            self._queue.append([start_at, samples.astype(np.float32, copy=False)])
            self._playing.set()
        if at is None:
            return earliest or 0
        return max(at, earliest) if earliest is not None else at

    def _earliest(self) -> int | None:
        """The first session sample the device can still reach (its output latency from now)."""
        if self.clock is None:
            return None
        return self.clock.sample_at(time.monotonic() + self._stream.latency)

    def playing(self, at: int | None = None) -> bool:
        """Sounding at `at`: a clip is being played, or the next one's time has come."""
        with self._lock:
            if self._current is not None:
                return True
            if not self._queue:
                return False
            start_at = self._queue[0][0]
        due = self.clock.time_of(at) if self.clock is not None and at is not None else None
        return start_at is None or due is None or start_at <= due

    def pending(self, at: int | None = None) -> bool:
        return self._playing.is_set()

    def cut(self, at: int | None = None) -> None:
        """Barge-in: silence from the next block on."""
        self._stop.set()
        self._playing.clear()

    def advance(self, clock: int) -> None:
        pass

    def wait(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._playing.is_set():
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(self._stream.latency + 0.05)  # let the device play out its buffer

    def finish(self) -> None:
        """Let what is queued play out (the goodbye), then close."""
        self.wait(timeout=60)
        self.close()

    def abandon(self) -> None:
        self.cut()
        self.close()

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except self._sd.PortAudioError:
            pass


class NullSink:
    """A sink that plays nothing but notes when each clip was handed over (tests, benchmarks)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.launched: list[tuple[float, int, int]] = []  # (clock() when handed over, start sample, samples)
        self.cuts = 0
        self._clips: list[list[int]] = []  # [start, end] on the session clock

    def play(self, samples: np.ndarray, at: int = 0) -> int:
        self.launched.append((self.clock(), at, len(samples)))
        self._clips.append([at, at + len(samples)])
        return at

    def playing(self, at: int = 0) -> bool:
        return any(s <= at < e for s, e in self._clips)

    def pending(self, at: int = 0) -> bool:
        return any(at < e for _s, e in self._clips)

    def cut(self, at: int = 0) -> None:
        self.cuts += 1
        self._clips = [[s, min(e, at)] for s, e in self._clips if s <= at]

    def advance(self, clock: int) -> None:
        pass

    def wait(self, timeout=None) -> None:
        pass

    def finish(self) -> None:
        pass

    def abandon(self) -> None:
        pass
