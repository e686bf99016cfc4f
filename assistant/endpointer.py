"""End-pointing: where an utterance starts and ends, with the Silero VAD inside faster-whisper.

Fed audio frames of any size (16 kHz mono float32); emits events on the input's own
sample clock. Venting has long pauses, so the end of an utterance waits for a silence
hangover (default 1.2 s). Shorter internal pauses close a *chunk* that the transcriber
can start on while the person is still talking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assistant.settings import FRAME, PAUSE_S, SAMPLE_RATE

WINDOW = FRAME  # Silero's frame at 16 kHz: 32 ms, the microphone's block
CONTEXT = 64  # samples of the previous window the model sees


@dataclass(frozen=True)
class EndpointerSettings:
    """How speech is found and cut. Times in seconds."""

    threshold: float = 0.5
    """Speech probability above which a window counts as voiced."""
    pause: float = PAUSE_S
    """Silence that ends an utterance."""
    chunk_pause: float = 0.3
    """Silence that closes a chunk inside an utterance (for early transcription)."""
    min_start: float = 0.16
    """Voiced time in a row needed to start an utterance: breaths and clicks don't."""
    barge_start: float = 0.096
    """The same while Haven speaks (see Endpointer.barge_in): the echo guard has
    already taken Haven's own voice out, and the person should not wait to be heard."""
    min_speech: float = 0.16
    """Total voiced time an utterance needs, or it is dropped as noise. A spoken
    "Stop." showed only 0.19 s voiced in a stream (0.4 dropped it); a murmured "mm"
    that gets through is dropped after transcription (Transcriber's filler filter)."""
    pre_roll: float = 0.3
    """Audio kept from before the start, so first syllables survive."""
    max_utterance: float = 30.0
    """A monologue is cut here, so no utterance grows without bound."""


@dataclass
class Chunk:
    """Finished audio inside an utterance, ready to transcribe early."""

    audio: np.ndarray
    start: int
    """First sample, on the input's clock."""
    end: int
    index: int
    """0 for the utterance's first chunk."""


@dataclass
class Utterance:
    """A whole utterance, closed by the silence hangover (or the length limit)."""

    audio: np.ndarray
    start: int
    end: int
    """Last voiced sample (the end of speech, not of the hangover)."""
    decided_at: int
    """The sample at which the end was declared."""
    chunks: list[Chunk] = field(default_factory=list)


@dataclass
class SpeechStarted:
    start: int


class Vad:
    """The Silero model, run window by window with its recurrent state kept."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        x = np.concatenate([self._context, window]).reshape(1, CONTEXT + WINDOW)
        p, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = window[-CONTEXT:]
        return float(np.asarray(p).reshape(-1)[0])


class Endpointer:
    """Turns a stream of frames into SpeechStarted, Chunk and Utterance events."""

    def __init__(self, settings: EndpointerSettings | None = None, vad: Vad | None = None, gate=None):
        self.s = settings or EndpointerSettings()
        self.vad = vad or Vad()
        # gate(window, first_sample) -> True when the window is not the person (echo).
        self.gate = gate
        self.barge_in = False  # set by the session while a reply plays
        self._pending = np.zeros(0, dtype=np.float32)
        self._clock = 0  # samples consumed into windows
        self._history: list[np.ndarray] = []  # recent windows, for pre-roll
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self._in_speech = False
        self._voiced_run = 0
        self._buffer: list[np.ndarray] = []
        self._start = 0
        self._last_voiced_end = 0
        self._silence = 0
        self._voiced_total = 0
        self._chunk_start = 0
        self._chunks: list[Chunk] = []
        self._chunk_closed = True

    @property
    def in_speech(self) -> bool:
        """Between a SpeechStarted and its Utterance (or its drop as noise)."""
        return self._in_speech

    @property
    def clock(self) -> int:
        """Samples consumed into VAD windows so far."""
        return self._clock

    @property
    def received(self) -> int:
        """Samples received so far (the next frame starts here)."""
        return self._clock + len(self._pending)

    def feed(self, frames: np.ndarray) -> list:
        """Consume frames; return the events they complete, in order."""
        events: list = []
        self._pending = np.concatenate([self._pending, np.asarray(frames, dtype=np.float32).reshape(-1)])
        n = len(self._pending) // WINDOW
        for i in range(n):
            events.extend(self._window(self._pending[i * WINDOW:(i + 1) * WINDOW]))
        self._pending = self._pending[n * WINDOW:]
        return events

    def flush(self) -> list:
        """End of input: close an utterance in progress as if the silence had come."""
        events: list = []
        if len(self._pending):
            events.extend(self.feed(np.zeros(WINDOW - len(self._pending), dtype=np.float32)))
        if self._in_speech:
            events.extend(self._close(self._clock))
        return events

    def _sec(self, seconds: float) -> int:
        return int(round(seconds * SAMPLE_RATE))

    def _window(self, window: np.ndarray) -> list:
        events: list = []
        start = self._clock
        self._clock += WINDOW
        voiced = self.vad(window) >= self.s.threshold
        if voiced and self.gate is not None and self.gate(window, start):
            voiced = False

        if not self._in_speech:
            self._history.append(window)
            max_hist = max(1, self._sec(self.s.pre_roll + self.s.min_start) // WINDOW + 1)
            del self._history[:-max_hist]
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            needed = self.s.barge_start if self.barge_in else self.s.min_start
            if self._voiced_run * WINDOW >= self._sec(needed):
                # Start: keep the voiced run plus the pre-roll before it.
                keep = min(len(self._history), self._voiced_run + self._sec(self.s.pre_roll) // WINDOW)
                self._buffer = self._history[-keep:]
                self._history = []
                self._in_speech = True
                self._start = self._clock - keep * WINDOW
                self._chunk_start = self._start
                self._chunk_closed = False
                self._voiced_total = self._voiced_run * WINDOW
                self._last_voiced_end = self._clock
                self._silence = 0
                events.append(SpeechStarted(self._start))
            return events

        self._buffer.append(window)
        if voiced:
            self._voiced_total += WINDOW
            self._last_voiced_end = self._clock
            self._silence = 0
            if self._chunk_closed:
                # Speech again after a chunk pause: the next chunk starts at the pause's middle.
                self._chunk_closed = False
        else:
            self._silence += WINDOW
            if not self._chunk_closed and self._silence >= self._sec(self.s.chunk_pause):
                events.append(self._close_chunk(start + WINDOW))
        if self._silence >= self._sec(self.s.pause):
            events.extend(self._close(self._clock))
        elif self._clock - self._start >= self._sec(self.s.max_utterance):
            events.extend(self._close(self._clock))
        return events

    def _audio(self, start: int, end: int) -> np.ndarray:
        audio = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.float32)
        return audio[start - self._start:end - self._start]

    def _close_chunk(self, end: int) -> Chunk:
        chunk = Chunk(self._audio(self._chunk_start, end), self._chunk_start, end, len(self._chunks))
        self._chunks.append(chunk)
        self._chunk_start = end
        self._chunk_closed = True
        return chunk

    def _close(self, decided_at: int) -> list:
        events: list = []
        end = min(self._last_voiced_end + self._sec(self.s.chunk_pause), decided_at)
        if not self._chunk_closed and self._chunk_start < end:
            events.append(self._close_chunk(end))
        speech = self._voiced_total / SAMPLE_RATE
        if speech >= self.s.min_speech:
            events.append(Utterance(self._audio(self._start, end), self._start, self._last_voiced_end,
                                    decided_at, list(self._chunks)))
        self._reset_utterance()
        self._history = []
        return events
