"""The microphone: a sounddevice.InputStream whose callback only copies frames into a queue.

No work happens on PortAudio's thread. Frames come out as 16 kHz mono float32; a
device that will not open at 16 kHz is opened at its own rate and resampled here,
at the edge. Each block carries the monotonic time at which it was captured, so the
echo guard can line it up with what the speakers played.
"""

from __future__ import annotations

import queue
import time

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.devices import default_device, sounddevice
from assistant.errors import HavenError

BLOCK = 512  # 32 ms at 16 kHz: one VAD window, so speech is seen as soon as it can be


class Microphone:
    def __init__(self, device: int | None = None):
        sd = sounddevice()
        if device is None and default_device("input") is None:
            raise HavenError(
                "no microphone found; connect one and check that the sound server runs (pactl info), "
                "see 'haven devices', or listen to a recording with --input FILE")
        self._queue: queue.Queue = queue.Queue()
        self.overflows = 0
        self._resampler = None
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
                              blocksize=int(BLOCK * rate / SAMPLE_RATE), callback=self._callback)

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        # When the first sample of this block reached the microphone, on time.monotonic().
        captured = time.monotonic() - max(0.0, time_info.currentTime - time_info.inputBufferAdcTime) \
            if time_info.currentTime else time.monotonic() - frames / self.rate
        self._queue.put((captured, indata[:, 0].copy()))

    def start(self) -> None:
        self._stream.start()

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
