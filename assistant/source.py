"""Where audio comes from: the microphone, a recording, or a silent clock.

Every source yields 16 kHz mono float32 frames of the same size (settings.FRAME, the
microphone's 32 ms block), and its sample count is the session's clock. So a
recording is heard exactly as the microphone would have delivered it, and the
states, barge-in, breathing and the journal behave the same by construction.

A source also keeps a SampleClock: when each sample was (or will be) heard, on
time.monotonic(). The echo guard lines the microphone up with the speakers by it,
and the speaker sink places a clip at its sample by it.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from pathlib import Path

import numpy as np

from assistant.decoding import Recording
from assistant.errors import DeviceLost, HavenError
from assistant.settings import FRAME, SAMPLE_RATE

_JITTER = 0.03  # timestamps closer than this to where the stream should be are jitter
# A running input stream delivers a block every 32 ms, silence included; none for this long
# means the device or the sound server is gone (PortAudio then waits forever, saying nothing).
LOST_AFTER_S = 2.0


class SampleClock:
    """Samples of a source ↔ time.monotonic(), from (sample, time) marks as frames come in."""

    def __init__(self) -> None:
        self._marks: deque = deque(maxlen=64)

    def mark(self, sample: int, at: float) -> None:
        """The frame starting at `sample` was heard at `at`."""
        if self._marks:
            c, t = self._marks[-1]
            expected = t + (sample - c) / SAMPLE_RATE
            if abs(at - expected) < _JITTER:
                at = expected  # sample-continuous: jitter in the timestamps is not real
        self._marks.append((sample, at))

    def time_of(self, sample: int) -> float | None:
        """When `sample` is heard (extrapolated past the marks kept), or None before any mark."""
        if not self._marks:
            return None
        for c, t in reversed(self._marks):
            if c <= sample:
                return t + (sample - c) / SAMPLE_RATE
        c, t = self._marks[0]
        return t + (sample - c) / SAMPLE_RATE

    def sample_at(self, at: float) -> int | None:
        """The sample heard at time `at` (the inverse of time_of)."""
        if not self._marks:
            return None
        c, t = self._marks[-1]
        return c + int(round((at - t) * SAMPLE_RATE))


class ArraySource:
    """Audio already in memory (16 kHz mono float32), fed in frames on its own clock.

    paced: at the speed of speech, as a microphone would deliver it; by default as
    fast as the session can take it (the session clock is the recording's own).
    """

    live = False

    def __init__(self, audio: np.ndarray, name: str = "audio", frame: int = FRAME, paced: bool = False):
        self.audio = audio
        self.name = name
        self.frame = frame
        self.paced = paced
        self.clock = SampleClock()

    def __len__(self) -> int:
        return len(self.audio)

    def __iter__(self):
        t0 = time.monotonic()
        for i in range(0, len(self.audio), self.frame):
            if self.paced:
                time.sleep(max(0.0, t0 + i / SAMPLE_RATE - time.monotonic()))
            self.clock.mark(i, t0 + i / SAMPLE_RATE)
            yield self.audio[i:i + self.frame]

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass


class FileSource(ArraySource):
    """A recording, decoded as it is heard: memory stays flat however long it is.

    Opening it checks the file and decodes its first block, so bad input fails before
    the slow start-up. len() is the length its header gives (what the output WAV is
    padded to); `audio` decodes it whole, for short files (the demo, tests)."""

    def __init__(self, path: str | Path, frame: int = FRAME, paced: bool = False):
        self.recording = Recording(path)
        self._audio: np.ndarray | None = None
        self._streamed = False
        super().__init__(None, str(path), frame, paced)

    @property
    def audio(self) -> np.ndarray:
        if self._audio is None:
            if self._streamed:  # its blocks went by once already: decode it again (without its warnings again)
                self.recording = Recording(self.recording.path, warn=lambda message: None)
            self._audio = np.concatenate(list(self.recording.blocks()))
        return self._audio

    @audio.setter
    def audio(self, value) -> None:
        self._audio = value

    def __len__(self) -> int:
        return len(self._audio) if self._audio is not None else self.recording.samples_estimate

    def __iter__(self):
        if self._audio is not None:
            yield from super().__iter__()
            return
        self._streamed = True
        t0 = time.monotonic()
        i, pending = 0, np.zeros(0, np.float32)
        for block in self.recording.blocks():
            pending = np.concatenate([pending, block]) if len(pending) else block
            while len(pending) >= self.frame:
                yield self._frame(pending[:self.frame], i, t0)
                pending, i = pending[self.frame:], i + self.frame
        if len(pending):
            yield self._frame(pending, i, t0)

    def _frame(self, frame: np.ndarray, i: int, t0: float) -> np.ndarray:
        if self.paced:
            time.sleep(max(0.0, t0 + i / SAMPLE_RATE - time.monotonic()))
        self.clock.mark(i, t0 + i / SAMPLE_RATE)
        return frame


class SilentSource:
    """Silence on a clock: what `haven breathe` runs on (there is nothing to hear).

    paced: in real time, for the speakers; otherwise as fast as possible, `seconds` long
    (for --output). Stops when stop() is called.
    """

    live = False

    def __init__(self, seconds: float | None = None, paced: bool = True, frame: int = FRAME):
        self.limit = None if seconds is None else int(seconds * SAMPLE_RATE)
        self.paced = paced
        self.frame = frame
        self.clock = SampleClock()
        self.name = "silence"
        self._stopped = False
        self._t0 = time.monotonic()

    def stop(self) -> None:
        self._stopped = True

    def open(self) -> None:
        self._t0 = time.monotonic()
        self.clock.mark(0, self._t0)

    def __iter__(self):
        quiet = np.zeros(self.frame, dtype=np.float32)
        i = 0
        while not self._stopped and (self.limit is None or i < self.limit):
            if self.paced:
                time.sleep(max(0.0, self._t0 + i / SAMPLE_RATE - time.monotonic()))
            self.clock.mark(i, self._t0 + i / SAMPLE_RATE)
            yield quiet
            i += self.frame

    def close(self) -> None:
        pass


class MicSource:
    """A sounddevice.InputStream whose callback only copies frames into a queue.

    No work happens on PortAudio's thread. A device that will not open at 16 kHz is
    opened at its own rate and resampled here, at the edge. Each block carries the
    monotonic time at which it was captured: the SampleClock, and the echo guard
    (which is told every block, see echo.EchoGuard.heard).
    """

    live = True

    def __init__(self, device: int | None = None, echo=None):
        from assistant.devices import default_device, sounddevice

        sd = sounddevice()
        if device is None and default_device("input") is None:
            raise HavenError(
                "no microphone found; connect one and check that the sound server runs (pactl info), "
                "see 'haven devices', or listen to a recording with --input FILE")
        self.name = "microphone"
        self.echo = echo
        self.clock = echo.clock if echo is not None else SampleClock()
        self._queue: queue.Queue = queue.Queue()
        self._resampler = None
        self._received = 0
        self._stopped = False
        try:
            self._stream = self._open(sd, device, SAMPLE_RATE)
            self.rate = SAMPLE_RATE
        except sd.PortAudioError:
            # The device cannot do 16 kHz: take its own rate and resample at the edge.
            info = sd.query_devices(device, "input")
            self.rate = int(info["default_samplerate"])
            try:
                self._stream = self._open(sd, device, self.rate)
            except sd.PortAudioError as e:
                raise HavenError(f"cannot open the microphone ({e}); see 'haven devices'") from None
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def _open(self, sd, device, rate: int):
        return sd.InputStream(samplerate=rate, channels=1, dtype="float32", device=device,
                              blocksize=int(FRAME * rate / SAMPLE_RATE), callback=self._callback)

    def _callback(self, indata, frames, time_info, status) -> None:
        # When the first sample of this block reached the microphone, on time.monotonic().
        captured = time.monotonic() - max(0.0, time_info.currentTime - time_info.inputBufferAdcTime) \
            if time_info.currentTime else time.monotonic() - frames / self.rate
        self._queue.put((captured, indata[:, 0].copy()))

    def open(self) -> None:
        self._stream.start()

    def stop(self) -> None:
        self._stopped = True

    def __iter__(self):
        heard = time.monotonic()
        while not self._stopped:
            got = self.read(0.25)
            if got is None:
                if time.monotonic() - heard >= LOST_AFTER_S:
                    raise DeviceLost(
                        f"the microphone has delivered no sound for {LOST_AFTER_S:g} s: the sound server or "
                        "the device went away; check it (pactl info, 'haven devices') and start haven again")
                continue
            heard = time.monotonic()
            captured, frames = got
            self.clock.mark(self._received, captured)
            if self.echo is not None:
                self.echo.heard(self._received, frames)
            self._received += len(frames)
            yield frames

    def read(self, timeout: float = 0.5) -> tuple[float, np.ndarray] | None:
        """(capture time, 16 kHz frames), or None when nothing came in time."""
        try:
            captured, block = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._resampler is not None:
            import av

            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = self.rate
            block = np.concatenate([f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)] or
                                   [np.zeros(0, np.float32)])
        return captured, block

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:  # closing a stream the device already dropped
            pass
