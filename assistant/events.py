"""The events a session emits: one dataclass each, one serialisation path.

The terminal view and --json print the same events; --json writes each as one JSON
object a line (to_json). Field names here are the public contract of --json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Event:
    def to_dict(self) -> dict:
        return {"event": self.event, **{k: v for k, v in asdict(self).items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class Listening(Event):
    """Ready to hear: model loaded and warmed, streams open."""

    event = "listening"
    language: str = "en"
    """The setting: en, nl or auto."""
    model: str = ""
    input: str = ""
    """The recording, or the microphone's name."""
    startup_ms: float = 0.0


@dataclass
class State(Event):
    """The session's state changed: listening, hearing, thinking, speaking, breathing, paused,
    ending (session.TRANSITIONS lists the changes)."""

    event = "state"
    state: str = "listening"
    at_s: float = 0.0


@dataclass
class ReplyEvent(Event):
    """One utterance and Haven's answer."""

    event = "reply"
    start_s: float = 0.0
    """Where the utterance starts in the input timeline."""
    end_s: float = 0.0
    """Where the speech ends."""
    transcript: str = ""
    text: str = ""
    language: str = "en"
    kind: str = "fallback"
    theme: str | None = None
    command: str | None = None
    reply: str = ""
    score: float = 0.0
    mode: str = "normal"
    answer: str | None = None
    """After a safety reply, what the answer was heard as (responder.Reply.answer); else null."""
    reply_start_s: float | None = None
    """Where the spoken reply starts on the timeline (None with --no-speak)."""
    reply_end_s: float | None = None
    """Where it ends as planned (a barge-in that cuts it is its own event, interrupted)."""
    interrupted: bool = False
    """Always false: kept for the --json contract (see the interrupted event)."""
    timings_ms: dict = field(default_factory=dict)
    """Time spent per stage: endpoint_to_transcript, transcribe, respond, voice, total."""


@dataclass
class Said(Event):
    """Haven spoke on its own, not in answer to an utterance (the check-in after breathing)."""

    event = "said"
    text: str = ""
    at_s: float = 0.0


@dataclass
class Interrupted(Event):
    """The person started speaking during a reply, and the reply stopped (barge-in)."""

    event = "interrupted"
    at_s: float = 0.0


@dataclass
class Cue(Event):
    """One phase of guided breathing."""

    event = "cue"
    phase: str = "inhale"
    at_s: float = 0.0
    duration_s: float = 0.0
    cycle: int = 1


@dataclass
class Summary(Event):
    """Said when the session ends, however it ends."""

    event = "summary"
    text: str = ""
    """The closing words (Session.end asks the responder for them)."""
    themes: list = field(default_factory=list)
    utterances: int = 0
    reason: str = "stop"
    """How the session ended: stop (said), interrupt (Ctrl-C), terminate (SIGTERM), input (the recording ended)."""
    helplines: list = field(default_factory=list)
    """After a crisis, unsafe or check reply: [{"name", "number"}] for the person's region, the
    numbers as the services write them (the closing words say them too)."""


@dataclass
class Done(Event):
    event = "done"
    utterances: int = 0
    replies: int = 0
    output: str | None = None
