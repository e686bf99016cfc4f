"""The echo guard: Haven must not take its own voice, coming back from the speakers into
the microphone, for the person talking (that would cut its own replies off, and answer them).

Choice: compare the microphone with what is being played. For each voiced 32 ms
window, the last `context` seconds of microphone audio are correlated (normalised,
at every lag up to `max_delay`, by FFT) with what the speakers played. Echo is a
delayed copy of the reference and correlates strongly; the person's own voice does
not, and when they talk over the echo the correlation drops (to about
sqrt(echo / (echo + voice)) in power terms). A window whose context correlates above
`threshold` counts as unvoiced for the endpointer.

The context is a few hundred milliseconds, not one window: two voices correlate by
chance at some lag over 32 ms (voiced speech is nearly periodic), which made a first
version take the person for echo; over 0.3 s chance correlation stays low.

Why not a level gate: speaker-to-microphone coupling differs by orders of magnitude
between a headset and a laptop's speakers, so any fixed level either lets echo in
or stops a soft-spoken person from interrupting. Correlation needs no calibration.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from assistant.settings import SAMPLE_RATE
from assistant.source import SampleClock


_JITTER = 0.03  # timestamps closer than this to where the stream should be are jitter


class EchoGuard:
    def __init__(self, max_delay: float = 0.8, max_ahead: float = 0.5, threshold: float = 0.65, context: float = 0.3,
                 keep: float = 3.0, clock: SampleClock | None = None):
        self.max_delay = max_delay
        # The two streams' timestamps are estimates (PulseAudio reports the sink's whole
        # buffer as latency), so the echo may seem to arrive before its reference.
        self.max_ahead = max_ahead
        self.threshold = threshold
        self.context = int(context * SAMPLE_RATE)
        self._played: deque = deque()  # (monotonic time the block is heard, samples)
        self._keep = keep
        self._lock = threading.Lock()
        self.clock = clock or SampleClock()  # the microphone's samples on time.monotonic()
        self._heard = np.zeros(0, np.float32)  # the latest microphone audio
        self._heard_end = 0  # its end on the microphone's sample clock

    # -- fed by the speakers and the microphone ------------------------------------

    def played(self, heard_at: float, samples: np.ndarray) -> None:
        """Called from the output callback with what goes to the speakers."""
        with self._lock:
            # The output is sample-continuous: place a block right after the previous
            # one unless the timestamps say there was a real gap. Timestamping each
            # block on its own put jitter into the reference, which broke correlation
            # (dips to 0.5 on pure echo under load).
            if self._played:
                last_t, last_x = self._played[-1]
                expected = last_t + len(last_x) / SAMPLE_RATE
                if abs(heard_at - expected) < _JITTER:
                    heard_at = expected
            self._played.append((heard_at, samples.copy()))
            while self._played and self._played[0][0] < heard_at - self._keep:
                self._played.popleft()

    def heard(self, clock: int, frames: np.ndarray) -> None:
        """The microphone block starting at sample `clock` (its capture time is on self.clock)."""
        keep = self.context + 4096
        self._heard = np.concatenate([self._heard, frames])[-keep:]
        self._heard_end = clock + len(frames)

    # -- asked by the endpointer ---------------------------------------------------

    def _reference(self, start: float, end: float) -> np.ndarray | None:
        """What the speakers played from `start` to `end` (zeros where they played nothing)."""
        with self._lock:
            blocks = [(t, x) for t, x in self._played if t + len(x) / SAMPLE_RATE > start and t < end]
        if not blocks:
            return None
        ref = np.zeros(int((end - start) * SAMPLE_RATE), np.float32)
        for t, x in blocks:
            a = int(round((t - start) * SAMPLE_RATE))
            lo, hi = max(a, 0), min(a + len(x), len(ref))
            if hi > lo:
                ref[lo:hi] = x[lo - a:hi - a]
        return ref

    def is_echo(self, window: np.ndarray, clock: int) -> bool:
        """Whether this microphone window (starting at sample `clock`) is mostly Haven's own voice."""
        end = clock + len(window)
        offset = self._heard_end - end
        if offset < 0 or offset > len(self._heard):
            return False
        mic = self._heard[max(0, len(self._heard) - offset - self.context): len(self._heard) - offset]
        t_end = self.clock.time_of(end)
        if t_end is None or len(mic) < len(window):
            return False
        t_start = t_end - len(mic) / SAMPLE_RATE
        ref = self._reference(t_start - self.max_delay, t_end + self.max_ahead)
        if ref is None or len(ref) < len(mic) or not np.any(ref):
            return False
        return normalised_xcorr_max(mic, ref) >= self.threshold


def normalised_xcorr_max(window: np.ndarray, ref: np.ndarray) -> float:
    """max over lags of <window, ref[lag:lag+n]> / (|window| |ref[lag:lag+n]|)."""
    n, m = len(window), len(ref)
    w_norm = float(np.sqrt(np.dot(window, window)))
    if w_norm < 1e-6:
        return 0.0
    size = 1 << int(np.ceil(np.log2(n + m)))
    corr = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(window, size)), size)[: m - n + 1]
    energy = np.concatenate([[0.0], np.cumsum(ref.astype(np.float64) ** 2)])
    seg = np.sqrt(np.maximum(energy[n:] - energy[:-n], 1e-12))[: m - n + 1]
    return float(np.max(corr / (w_norm * seg)))
