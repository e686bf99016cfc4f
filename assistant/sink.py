"""Where Haven's voice goes: a timeline written as a WAV file, or the speakers.

Both take the same calls, so the session does not care which it has:
play(samples, at) puts a reply on the timeline at sample `at`; cut(at) stops the
reply that is playing at `at` (barge-in); playing(at) says whether one is.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.errors import HavenError


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
            import os
            import wave

            self._tmp = f"{path}.partial"
            try:
                self._wave = wave.open(self._tmp, "wb")
            except OSError as e:
                raise HavenError(f"cannot write {path}: {e.strerror or e}; choose another --output path") from None
            self._wave.setnchannels(1)
            self._wave.setsampwidth(2)
            self._wave.setframerate(SAMPLE_RATE)
            self._replace = os.replace

    def play(self, samples: np.ndarray, at: int) -> int:
        """Place a clip at sample `at`; returns its end."""
        self._clips.append([max(at, self._written), samples])
        return at + len(samples)

    def end(self) -> int:
        return max([s + len(x) for s, x in self._clips] + [self._written])

    def playing(self, at: int) -> bool:
        return any(s <= at < s + len(x) for s, x in self._clips)

    def cut(self, at: int) -> int | None:
        """Stop what is playing at `at`, and drop what was queued after it (the reply's
        later sentences); returns where the sound now ends, or None if nothing played."""
        playing = self.playing(at)
        for clip in self._clips:
            s, x = clip
            if s <= at < s + len(x):
                clip[1] = x[: at - s]
        self._clips = [c for c in self._clips if c[0] <= at]
        return at if playing else None

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
        self._wave.writeframes((self._mix(self._written, upto) * 32767).astype("<i2").tobytes())
        self._written = upto
        self._clips = [c for c in self._clips if c[0] + len(c[1]) > upto]

    def render(self) -> np.ndarray:
        """The whole timeline in memory (without a path)."""
        return self._mix(0, max(self.length, self.end()))

    def close(self) -> None:
        """Write the rest and put the file in place."""
        if self._wave is None:
            return
        self.advance(max(self.length, self.end()))
        self._wave.close()
        self._wave = None
        self._replace(self._tmp, self._path)

    def abandon(self) -> None:
        """Interrupted: no half-written output is left behind."""
        if self._wave is not None:
            import os

            self._wave.close()
            self._wave = None
            os.unlink(self._tmp)


class SpeakerSink:
    """Plays through a sounddevice.OutputStream whose callback can be stopped at once.

    sd.play/sd.stop across threads deadlocked in tests; a callback that raises
    CallbackStop when a flag is set stops within one block (a few milliseconds).
    """

    BLOCK = 320  # 20 ms at 16 kHz

    def __init__(self, device=None, echo=None):
        import sounddevice as sd

        self._sd = sd
        self.device = device
        self.echo = echo  # an EchoGuard to tell what the speakers play
        self._queue: queue.Queue = queue.Queue()
        self._current: np.ndarray | None = None
        self._pos = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._playing = threading.Event()
        self.started_at: float | None = None  # stream time of the first sample of the current clip
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
        with self._lock:
            if self._stop.is_set():
                self._stop.clear()
                self._current = None
                self._drain()
            filled = 0
            while filled < frames:
                if self._current is None:
                    try:
                        self._current = self._queue.get_nowait()
                        self._pos = 0
                        self.started_at = time_info.outputBufferDacTime + filled / SAMPLE_RATE
                    except queue.Empty:
                        break
                take = min(frames - filled, len(self._current) - self._pos)
                out[filled:filled + take] = self._current[self._pos:self._pos + take]
                filled += take
                self._pos += take
                if self._pos >= len(self._current):
                    self._current = None
            if self._current is None and self._queue.empty():
                self._playing.clear()
        if self.echo is not None:
            import time

            # Every block, silence included, so the reference stays one continuous stream.
            lead = max(0.0, time_info.outputBufferDacTime - time_info.currentTime) if time_info.currentTime else 0.0
            self.echo.played(time.monotonic() + lead, out.copy())

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def play(self, samples: np.ndarray, at: int | None = None) -> None:
        self._playing.set()
        self._queue.put(samples.astype(np.float32, copy=False))

    def playing(self, at: int | None = None) -> bool:
        return self._playing.is_set()

    def cut(self, at: int | None = None) -> None:
        """Barge-in: silence from the next block on."""
        self._stop.set()
        self._playing.clear()

    def wait(self, timeout: float | None = None) -> None:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self._playing.is_set():
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(self._stream.latency + 0.05)  # let the device play out its buffer

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except self._sd.PortAudioError:
            pass
