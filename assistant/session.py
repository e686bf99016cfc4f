"""The conversation: an explicit state machine over the stages, on the input's clock.

    listening ──speech──▶ hearing ──end-point──▶ thinking ──reply sounds──▶ speaking ──▶ listening
                             │                       └── nothing to say ──────────────▶ (at rest)
                             └── only noise ─────────────────────────────────────────▶ (at rest)
    at rest is listening, or breathing while a breathing session runs, or paused
    while paused; speech during a reply (speaking) is a barge-in: the reply stops.
    Every way a session ends ("stop", Ctrl-C, SIGTERM, the end of a recording) goes
    through end(reason): ending, the closing words, done.

The session runs on the clock of its input (the source's sample count): for a
recording that is the recording's own clock, so a reply lands in the output WAV
where it would have started live, at the end-point decision plus the measured
processing time (see transcriber.InlineASR). The other jobs live in their own
units: transcriber.Incremental (an utterance's parts), distress.BreathingOffer,
breathing.Guide (the cues, and steering them), the sink (placing the sound).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from assistant.breathing import BreathingSession, Guide
from assistant.distress import BreathingOffer, sounds_distressed
from assistant.endpointer import Chunk, Endpointer, EndpointerSettings, SpeechStarted, Utterance
from assistant.events import Done, Event, Interrupted, ReplyEvent, Said, State, Summary
from assistant.responder import Conversation, Reply
from assistant.settings import FRAME, PAUSE_S, RATE, RATE_RANGE, SAMPLE_RATE
from assistant.transcriber import Incremental, alternatives

LISTENING, HEARING, THINKING, SPEAKING = "listening", "hearing", "thinking", "speaking"
BREATHING, PAUSED, ENDING = "breathing", "paused", "ending"
# Every transition the session makes; _go refuses any other, so the labels stay truthful.
TRANSITIONS = {
    LISTENING: {HEARING, SPEAKING, BREATHING, PAUSED, ENDING},
    HEARING: {THINKING, LISTENING, BREATHING, PAUSED, ENDING},
    # The person may speak again before the reply starts (it is placed after the measured
    # thinking time): that is a barge-in on the reply on its way, as live.
    THINKING: {SPEAKING, HEARING, LISTENING, BREATHING, PAUSED, ENDING},
    SPEAKING: {HEARING, LISTENING, BREATHING, PAUSED, ENDING},
    BREATHING: {HEARING, SPEAKING, LISTENING, PAUSED, ENDING},
    PAUSED: {HEARING, SPEAKING, LISTENING, ENDING},
    ENDING: set(),
}

SLOWER = 0.85  # each "slower" multiplies the speaking rate by this
SAFETY_RATE = 0.85  # crisis and safety replies are spoken more slowly
SAFETY_KINDS = ("crisis", "unsafe", "check")  # answered even while paused or breathing, and slowly
MAX_BREATHING_TAIL = 900.0  # seconds a breathing session may run past the end of a recording
BREATHING_GAP_S = 0.5  # from the end of "let's breathe together" to the first breath
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_REPLY_FIELDS = set(ReplyEvent.__dataclass_fields__)  # what --json reports of a Reply in listen


@dataclass(frozen=True)
class SessionSettings:
    language: str = "en"
    pause: float = PAUSE_S
    """Silence (seconds) that ends an utterance."""
    speak: bool = True
    """Render the replies with the voice (off: --no-speak)."""
    rate: int = RATE
    incremental: bool = True
    """Transcribe finished chunks while the person is still talking."""
    min_chunk: float = 8.0
    """Chunks are transcribed early once this many seconds have gathered. Fewer seconds
    gathered are transcribed too, as a guess that they were the last: kept if the
    end-point follows, dropped (and later sent with the next chunk) if speech goes on.
    So an utterance shorter than this is transcribed whole, as in one pass, and each
    cut costs accuracy: whisper hears the words before a cut worse without what follows.
    Measured (benchmarks/latency.py, 36 clips a language): English WER 8.1 % with 4 s
    against 6.3 % in one pass, 7.6 % with 8 s (the same as one pass up to 8 s, the
    loss left in 12 s utterances); a whole 6-8 s utterance is still transcribed within
    the pause (end-point to transcript median 90 ms for 6 s, 0 for 12 s)."""


class Session:
    """Audio frames in (feed), events out (emit). responder: a Responder; voice: a Voice
    or None (--no-speak); sink: where the voice goes (sink.py); asr: the runner."""

    def __init__(self, settings: SessionSettings, responder, voice, sink, emit: Callable[[Event], None],
                 asr, gate=None, endpointer: Endpointer | None = None):
        self.s = settings
        self.responder = responder
        self.voice = voice if settings.speak else None
        self.sink = sink
        self.emit = emit
        self.endpointer = endpointer or Endpointer(EndpointerSettings(pause=settings.pause), gate=gate)
        self.asr = asr
        self.parts = Incremental(asr, settings.language, settings.min_chunk, settings.incremental)
        self.conv = Conversation()
        self.offer = BreathingOffer()
        self.guide: Guide | None = None  # while "help me breathe" runs
        self.rate = settings.rate
        self.state = LISTENING
        self.paused = False
        self.stopped = False
        self.utterances = 0
        self.replies = 0
        self._sound_until = 0  # where the sound handed to the sink ends (the next reply waits for it)
        self._speech_until = 0  # where Haven's own speech ends (breathing cues are not speaking)
        self._closing = ""  # the closing words, once "stop" was said

    @property
    def clock(self) -> int:
        return self.endpointer.clock

    @property
    def now_s(self) -> float:
        return self.clock / SAMPLE_RATE

    # -- the state machine --------------------------------------------------------------

    def _go(self, state: str, at: int | None = None) -> None:
        if state == self.state:
            return
        if state not in TRANSITIONS[self.state]:
            raise AssertionError(f"no transition from {self.state} to {state}")
        self.state = state
        self.emit(State(state=state, at_s=round((self.clock if at is None else at) / SAMPLE_RATE, 3)))

    def _at_rest(self) -> str:
        return BREATHING if self.guide is not None else PAUSED if self.paused else LISTENING

    def _settle(self) -> None:
        """Between utterances the state follows the sound: speaking while the voice sounds."""
        if self.state in (HEARING, ENDING):
            if self.state == HEARING and not self.endpointer.in_speech:
                self._go(self._at_rest())  # it was only noise
            return
        clock = self.clock
        if clock < self._speech_until and self.sink is not None and self.sink.playing(clock):
            self._go(SPEAKING)
        elif self.state != THINKING or clock >= self._speech_until:  # else: the reply is on its way
            self._go(self._at_rest())

    # -- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        self.emit(State(state=LISTENING, at_s=0.0))

    def feed(self, frames: np.ndarray) -> None:
        """Audio in; events out through emit. Does nothing once stopped."""
        if self.stopped:
            return
        if self.sink is not None:
            self.endpointer.barge_in = self.guide is None and self.sink.pending(self.clock)
        if self.guide is not None:
            self._tick_breathing()
        for event in self.endpointer.feed(frames):
            if isinstance(event, SpeechStarted):
                self._on_speech(event)
            elif isinstance(event, Chunk):
                self.parts.chunk(event.audio, self.now_s)
            elif isinstance(event, Utterance):
                self._on_utterance(event)
            if self.stopped:
                return
        self._settle()

    def finish(self) -> None:
        """The end of the input: close what is open. A breathing session runs to its end, as
        it would live if the person stayed quiet; then the session ends."""
        if self.stopped:
            return
        for event in self.endpointer.flush():
            if isinstance(event, Chunk):
                self.parts.chunk(event.audio, self.now_s)
            elif isinstance(event, Utterance):
                self._on_utterance(event)
        quiet = np.zeros(FRAME, dtype=np.float32)
        for _ in range(int(MAX_BREATHING_TAIL * SAMPLE_RATE / FRAME)):
            if self.guide is None or self.stopped:
                break
            self.feed(quiet)
        self.end("input")

    def end(self, reason: str) -> None:
        """The one way a session ends: "stop" (said), "interrupt" (Ctrl-C), "terminate"
        (SIGTERM) or "input" (the recording ended). The closing words come from the
        responder here, once, and go out as the Summary."""
        if self.stopped:
            return
        self._go(ENDING)
        language = self._language(None)
        closing = self._closing or self.closing_words(language)
        if reason == "input" and not self._closing and self.conv.keep_numbers:
            # The recording ended after a safety reply: the goodbye with the numbers is said
            # too (after Ctrl-C or SIGTERM the sound is already gone; the screen keeps them).
            self._say(closing, language)
        self.stopped = True
        self.emit(Summary(text=closing, reason=reason,
                          themes=[t for t, _ in self.conv.themes.most_common()], utterances=self.utterances,
                          helplines=self.responder.numbers_kept(self.conv, language)))

    def closing_words(self, language: str | None) -> str:
        """What Haven says last: the summary of what came up (and, after a safety reply, the numbers)."""
        return self.responder.summary(self.conv, self._language(language))

    def _language(self, language: str | None) -> str:
        """The language to close in: the setting, or with auto the language last answered in."""
        if language is not None:
            return language
        if self.s.language != "auto":
            return self.s.language
        return self.conv.last_reply.language if self.conv.last_reply is not None else "en"

    def done(self, output: str | None = None) -> None:
        self.emit(Done(utterances=self.utterances, replies=self.replies, output=output))

    # -- what happens to speech ---------------------------------------------------------

    def _on_speech(self, event: SpeechStarted) -> None:
        self.parts.start()
        at = self.clock
        if self.sink is not None and self.guide is None and self.sink.pending(at):
            # Barge-in: the person talks over the reply, so the reply stops.
            self.sink.cut(at)
            self._sound_until = min(self._sound_until, at)  # the next reply need not wait for it
            self._speech_until = min(self._speech_until, at)
            self.emit(Interrupted(at_s=round(at / SAMPLE_RATE, 3)))
        self._go(HEARING, event.start)

    def _on_utterance(self, utt: Utterance) -> None:
        self._go(THINKING, utt.decided_at)
        decided_s = utt.decided_at / SAMPLE_RATE
        parts = self.parts.finish(decided_s)
        transcript = " ".join(p.text for p in parts if p.text).strip()
        if not transcript:
            return  # noise, a breath, or whisper heard nothing: no reply at all
        self.utterances += 1
        ready_s = max([decided_s] + [p.ready_s for p in parts])
        # With --language auto, the language whisper found in the longest part.
        language = max(parts, key=lambda p: len(p.text)).language if self.s.language == "auto" else self.s.language

        started = time.perf_counter()
        reply = self.responder.respond(transcript, self.conv, language, alternatives(parts))
        respond_s = time.perf_counter() - started
        said = self._carry_out(reply)
        said = self.offer.add(
            said, reply.kind,
            lambda: sounds_distressed(utt.audio, (utt.end - utt.start) / SAMPLE_RATE, transcript),
            lambda: self.conv.pick(f"{reply.language}:breathing_offer",
                                   self.responder.pack(reply.language).lines("breathing_offer")))

        at, end, first_s, voice_s = self._speak(said, reply, ready_s + respond_s)
        event = ReplyEvent(
            start_s=round(utt.start / SAMPLE_RATE, 3), end_s=round(utt.end / SAMPLE_RATE, 3),
            transcript=transcript, **{k: v for k, v in reply.fields().items() if k in _REPLY_FIELDS},
            timings_ms={
                "endpoint_to_transcript": round((ready_s - decided_s) * 1000, 1),
                "transcribe": round(sum(p.wall_s for p in parts) * 1000, 1),
                "respond": round(respond_s * 1000, 2),
                "voice_first_audio": round(first_s * 1000, 1),
                "voice": round(voice_s * 1000, 1),
                "total": round((ready_s + respond_s + first_s - decided_s) * 1000, 1),
            },
        )
        event.reply = said
        if at is not None:
            event.reply_start_s, event.reply_end_s = round(at / SAMPLE_RATE, 3), round(end / SAMPLE_RATE, 3)
        if said:
            self.replies += 1
        elif self.guide is not None:
            event.mode = "breathing"
        elif self.paused:
            event.mode = "paused"
        self.emit(event)
        if reply.command == "breathe" and said and self.guide is None:
            start = end if end is not None else utt.decided_at
            self._start_breathing(reply.language, int(start + BREATHING_GAP_S * SAMPLE_RATE))
        if self._closing:
            self.end("stop")

    def _carry_out(self, reply: Reply) -> str:
        """Commands change the session; returns what Haven says."""
        said = reply.reply
        if reply.kind in SAFETY_KINDS:
            self._stop_breathing()
            return said  # safety is answered even while paused or breathing
        if self.guide is not None:
            said, cut = self.guide.steer(reply.command, said, self.clock)
            if reply.command == "stop":
                self._stop_breathing()
            elif cut and self.sink is not None:
                self.sink.cut(self.clock)
            return said
        if self.paused:
            if reply.command == "resume":
                self.paused = False
                return said
            if reply.command != "stop":
                return ""  # paused: stay quiet
        low, high = RATE_RANGE
        if reply.command == "pause":
            self.paused = True
        elif reply.command == "slower":
            self.rate = max(min(low, self.rate), int(self.rate * SLOWER))
        elif reply.command == "faster":
            self.rate = min(max(high, self.rate), int(round(self.rate / SLOWER)))
        elif reply.command == "stop":
            self._closing = self.closing_words(reply.language)
            said = f"{said} {self._closing}".strip()
        return said

    # -- guided breathing ("help me breathe") -------------------------------------------

    def _start_breathing(self, language: str, start: int) -> None:
        session = BreathingSession(None, self.voice, language, intro=False, close=True)
        self.guide = Guide(session, start)

    def _tick_breathing(self) -> None:
        """Hand the cues whose time has come to the sink; close with a check-in."""
        guide = self.guide
        self._sound_until = max(self._sound_until, guide.tick(self.clock, self.sink, self.emit))
        if guide.finished(self.clock) and self.clock >= self._sound_until:
            self.guide = None
            self._say(guide.check_in(), guide.language)

    def _stop_breathing(self) -> None:
        if self.guide is not None:
            self.guide.stop()
            self.guide = None
            if self.sink is not None:
                self.sink.cut(self.clock)

    # -- the voice ----------------------------------------------------------------------

    def _say(self, text: str, language: str) -> None:
        """Haven speaks on its own (not in answer to an utterance), at the clock."""
        at = max(self.clock, self._sound_until)
        if self.voice is not None and self.sink is not None:
            samples = self.voice.render(self.responder.voiced(text, language), language, self.rate)
            at = self.sink.play(samples, at)
            self._sound_until = self._speech_until = at + len(samples)
        self.emit(Said(text=text, at_s=round(at / SAMPLE_RATE, 3)))

    def _speak(self, said: str, reply: Reply, ready_s: float) -> tuple[int | None, int | None, float, float]:
        """Render the reply sentence by sentence and hand each to the sink as it is ready.

        The first sentence goes out as soon as it is rendered (live, it plays while
        the rest render); the rest follow back to back. Returns where the reply starts
        and ends (samples), the time to the first sentence, and the total render time.
        """
        if not said or self.voice is None:
            return None, None, 0.0, 0.0
        rate = int(self.rate * SAFETY_RATE) if reply.kind in SAFETY_KINDS else self.rate
        started = time.perf_counter()
        at = end = None
        first_s = 0.0
        for sentence in (s for s in _SENTENCE.split(said) if s.strip()):
            clip = self.voice.render(self.responder.voiced(sentence, reply.language), reply.language, rate)
            if at is None:
                first_s = time.perf_counter() - started
                end = max(int(round((ready_s + first_s) * SAMPLE_RATE)), self._sound_until)
            start = self.sink.play(clip, end) if self.sink is not None else end
            at = start if at is None else at
            end = start + len(clip)
        self._sound_until = self._speech_until = end
        return at, end, first_s, time.perf_counter() - started
