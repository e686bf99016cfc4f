"""Test doubles for driving a Session without audio, Whisper or espeak (the way Pipecat's
run_test drives one processor): frames in, events out.

FakeEndpointer plays a script of utterances on the sample clock; FakeTranscriber reads
back what the script said; FakeVoice "speaks" silence as long as the text. The
responder is the real one (pure text), and the sink the real TimelineSink.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from assistant.endpointer import Chunk, SpeechStarted, Utterance
from assistant.settings import FRAME, SAMPLE_RATE
from assistant.transcriber import Transcript

PAUSE_S = 1.2


@dataclass
class Say:
    """The person says `text` from `start` to `end` seconds."""

    text: str
    start: float
    end: float


def _s(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


class FakeEndpointer:
    """Emits SpeechStarted, one Chunk and the Utterance of each Say at its time (the end-point
    after the pause). The utterance's audio is a constant: the index of its text + 1."""

    def __init__(self, script: list[Say], pause: float = PAUSE_S):
        self.script = script
        self.pause = pause
        self.clock = 0
        self.barge_in = False
        self.in_speech = False

    @property
    def received(self) -> int:
        return self.clock

    def feed(self, frames) -> list:
        before, self.clock = self.clock, self.clock + len(frames)
        events = []
        for i, say in enumerate(self.script):
            if before <= _s(say.start) < self.clock:
                self.in_speech = True
                events.append(SpeechStarted(_s(say.start)))
            decided = _s(say.end + self.pause)
            if before <= decided < self.clock:
                audio = np.full(_s(say.end - say.start), float(i + 1), dtype=np.float32)
                chunk = Chunk(audio, _s(say.start), _s(say.end), 0)
                self.in_speech = False
                events += [chunk, Utterance(audio, _s(say.start), _s(say.end), decided, [chunk])]
        return events

    def flush(self) -> list:
        return []


class FakeTranscriber:
    """Whisper's stand-in: the script's text for the audio FakeEndpointer made."""

    def __init__(self, script: list[Say], seconds: float = 0.05):
        self.script = script
        self.seconds = seconds  # the wall time each call reports (a loaded machine: seconds)
        self.calls = 0

    def transcribe(self, audio, language=None) -> Transcript:
        self.calls += 1
        return Transcript(self.script[int(audio[0]) - 1].text, language or "en", self.seconds)


class FakeVoice:
    """Speaks silence, as long as the words would take (about 3 words a second)."""

    def __init__(self):
        self.said: list[str] = []

    def render(self, text: str, language: str | None = None, rate: int | None = None) -> np.ndarray:
        self.said.append(text)
        return np.full(max(1, len(text.split())) * SAMPLE_RATE // 3, 0.1, dtype=np.float32)


def run_test(script: list[Say], seconds: float, speak: bool = True, interrupt_at: float | None = None,
             transcribe_s: float = 0.05, **settings) -> list[dict]:
    """The Session over `seconds` of (silent) input with the scripted speech; the events
    it emits, as the JSON that --json would print."""
    from assistant.responder import Responder
    from assistant.session import Session, SessionSettings
    from assistant.sink import TimelineSink
    from assistant.transcriber import InlineASR

    events: list[dict] = []
    sink = TimelineSink(_s(seconds))
    session = Session(SessionSettings(speak=speak, **settings), _responder(), FakeVoice() if speak else None,
                      sink, lambda e: events.append(json.loads(e.to_json())), InlineASR(FakeTranscriber(script, transcribe_s)),
                      endpointer=FakeEndpointer(script))
    session.start()
    quiet = np.zeros(FRAME, dtype=np.float32)
    for i in range(0, _s(seconds), FRAME):
        if interrupt_at is not None and i >= _s(interrupt_at):
            session.end("interrupt")
            break
        session.feed(quiet)
        sink.advance(session.clock)
        if session.stopped:
            break
    session.finish()
    session.done()
    return events


_shared = {}


def _responder():
    from assistant.responder import Responder

    if "en" not in _shared:
        _shared["en"] = Responder("en")
    return _shared["en"]


def states(events: list[dict]) -> list[str]:
    """The state labels in order, without repeats."""
    return [e["state"] for e in events if e["event"] == "state"]
