"""The loop that wires the stages: source → endpointer → transcriber → responder → voice → sink.

Read `Session.feed` to see what happens to audio. The session runs on the clock of
its input: for a recording that is the recording's own sample clock, so a reply lands
in the output WAV where it would have started live, i.e. at the end-point decision
plus the measured processing time.

Transcription starts before the end-point: the endpointer closes a chunk at each short
pause, and a finished chunk (or run of chunks, at least `min_chunk` long) is
transcribed while the person keeps talking. A shorter run is transcribed too, as a
guess that the person has finished, and dropped if they go on. So when the end-point
is declared only the last chunks are left, already being transcribed since the first
300 ms of the silence, and their transcript is mostly ready by then. In file mode the
work runs as fast as it can, and its measured wall time is placed on the recording's
clock as if a worker thread had run it live.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.endpointer import Chunk, Endpointer, EndpointerSettings, SpeechStarted, Utterance
from assistant.events import Done, Event, Interrupted, ReplyEvent, Said, State, Summary
from assistant.responder import Conversation, Reply, Responder
from assistant.transcriber import Transcriber
from assistant.voice import Voice

FRAME = 1024  # 64 ms: what a microphone callback delivers at 16 kHz
SLOWER = 0.85  # each "slower" multiplies the speaking rate by this
SAFETY_RATE = 0.85  # crisis and safety replies are spoken more slowly
LOUD_DB = -9.0  # this loud (dBFS, loud frames) is shouting: speech sits near -25, espeak at -16
MAX_BREATHING_TAIL = 900.0  # seconds a breathing session may run past the end of a recording
SLOWER_BREATH, FASTER_BREATH = 1.25, 0.8  # phase lengths for "slower" / "faster" while breathing
FAST_WPS = 5.0  # words a second: calm speech is about 2.5, espeak at 160 wpm about 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SessionSettings:
    language: str = "en"
    pause: float = 1.2
    """Silence (seconds) that ends an utterance."""
    speak: bool = True
    """Render the replies with the voice (off: --no-speak)."""
    rate: int = 165
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


@dataclass
class _Part:
    text: str
    ready_s: float
    """When its transcript is ready, on the session clock."""
    wall_s: float
    language: str


@dataclass
class _Utt:
    """An utterance under way: parts sent to transcription, chunks waiting."""

    parts: list = field(default_factory=list)
    """Handles from the ASR runner, in order."""
    pending: list[Chunk] = field(default_factory=list)
    language: str | None = None
    guess: object | None = None
    """A job on exactly the pending chunks, in case the last of them ends the utterance."""


class InlineASR:
    """File mode: transcribe at once, and place the measured time on the recording's clock
    as if a worker thread had started the job when the chunk closed (or when it was free)."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self._free_s = 0.0

    def submit(self, audio: np.ndarray, language: str, now_s: float) -> _Part:
        t = self.transcriber.transcribe(audio, language)
        start = max(now_s, self._free_s)
        self._free_s = start + t.seconds
        return _Part(t.text, self._free_s, t.seconds, t.language)

    def collect(self, handle: _Part, decided_s: float) -> _Part:
        return handle

    def drop(self, handle: _Part, now_s: float) -> None:
        """A job no longer wanted: if the worker would not have started it yet, it never runs."""
        if handle.ready_s == self._free_s and handle.ready_s - handle.wall_s >= now_s:
            self._free_s -= handle.wall_s

    def close(self) -> None:
        pass


class ThreadASR:
    """Live: one worker thread transcribes chunks while the loop keeps listening."""

    def __init__(self, transcriber: Transcriber):
        from concurrent.futures import ThreadPoolExecutor

        self.transcriber = transcriber
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="haven-asr")

    def submit(self, audio: np.ndarray, language: str, now_s: float):
        return self._pool.submit(self.transcriber.transcribe, audio, language)

    def collect(self, handle, decided_s: float) -> _Part:
        started = time.perf_counter()
        t = handle.result()
        return _Part(t.text, decided_s + (time.perf_counter() - started), t.seconds, t.language)

    def drop(self, handle, now_s: float) -> None:
        handle.cancel()  # only if it has not started; a running transcription cannot be stopped

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _loudness_db(audio: np.ndarray) -> float:
    """How loud the speech itself is: the 90th percentile of 32 ms frame levels, so the
    pauses and silence around it do not dilute it."""
    n = len(audio) // 512 * 512
    if n == 0:
        return -120.0
    levels = np.sqrt(np.mean(audio[:n].reshape(-1, 512) ** 2, axis=1))
    return float(20 * np.log10(max(float(np.percentile(levels, 90)), 1e-6)))


class Session:
    def __init__(self, settings: SessionSettings, transcriber: Transcriber, responder: Responder,
                 voice: Voice | None, sink, emit: Callable[[Event], None], asr=None):
        self.s = settings
        self.asr = asr or InlineASR(transcriber)
        self.responder = responder
        self.voice = voice
        self.sink = sink
        self.emit = emit
        self.endpointer = Endpointer(EndpointerSettings(pause=settings.pause))
        self.conv = Conversation()
        self.rate = settings.rate
        self.paused = False
        self.stopped = False
        self.utterances = 0
        self.replies = 0
        self._utt = _Utt()
        self._last_reply: ReplyEvent | None = None
        self._reply_until = 0  # sample where the reply playing now ends
        self._summary_text = ""
        self.offered_breathing = False
        self.breathing = None  # a GuidedBreathing while "help me breathe" runs
        self._ending = False

    # -- the loop -------------------------------------------------------------------

    def feed(self, frames: np.ndarray) -> None:
        """Audio in; events out through emit. Stops doing anything once stopped."""
        if self.stopped:
            return
        if self.sink is not None:
            self.endpointer.barge_in = self.breathing is None and self.sink.playing(self.endpointer.clock)
        if self.breathing is not None:
            self._tick_breathing()
        for event in self.endpointer.feed(frames):
            self._dispatch(event)
            if self.stopped:
                return

    def finish(self) -> None:
        """End of input: close what is open. A breathing session runs to its end, as it
        would live if the person stayed quiet."""
        if not self.stopped:
            for event in self.endpointer.flush():
                self._dispatch(event)
        quiet = np.zeros(FRAME, dtype=np.float32)
        for _ in range(int(MAX_BREATHING_TAIL * SAMPLE_RATE / FRAME)):
            if self.breathing is None or self.stopped:
                break
            self.feed(quiet)

    def _dispatch(self, event) -> None:
        if isinstance(event, SpeechStarted):
            self._on_speech(event)
        elif isinstance(event, Chunk):
            self._on_chunk(event)
        elif isinstance(event, Utterance):
            self._on_utterance(event)

    @property
    def now_s(self) -> float:
        return self.endpointer.clock / SAMPLE_RATE

    # -- stages ---------------------------------------------------------------------

    def _on_speech(self, event: SpeechStarted) -> None:
        self._utt = _Utt()
        at = self.endpointer.clock
        if self.sink is not None and self.breathing is None and self.sink.playing(at):
            # Barge-in: the person talks over the reply, so the reply stops.
            self.sink.cut(at)
            self._reply_until = min(self._reply_until, at)  # the next reply need not wait for it
            self.emit(Interrupted(at_s=round(at / SAMPLE_RATE, 3)))
        self.emit(State(state="hearing", at_s=round(event.start / SAMPLE_RATE, 3)))

    def _on_chunk(self, chunk: Chunk) -> None:
        utt = self._utt
        if utt.guess is not None:
            # Speech went on after the guess: its chunks go out again with this one.
            self.asr.drop(utt.guess, self.now_s)
            utt.guess = None
        utt.pending.append(chunk)
        if not self.s.incremental:
            return
        gathered = sum(len(c.audio) for c in utt.pending) / SAMPLE_RATE
        if gathered >= self.s.min_chunk:
            self._transcribe_pending()
        else:
            # Too short to send for good, but this chunk may be the last: the end-point is
            # declared only after the rest of the pause, and a short last chunk would
            # otherwise wait for it and cost a whole transcription after it.
            utt.guess = self.asr.submit(np.concatenate([c.audio for c in utt.pending]), self.s.language, self.now_s)

    def _transcribe_pending(self) -> None:
        utt = self._utt
        if not utt.pending:
            return
        if utt.guess is not None:  # the guess was on exactly these chunks
            job, utt.guess = utt.guess, None
        else:
            job = self.asr.submit(np.concatenate([c.audio for c in utt.pending]), self.s.language, self.now_s)
        utt.pending = []
        utt.parts.append(job)

    def _on_utterance(self, utt_event: Utterance) -> None:
        self.emit(State(state="thinking", at_s=round(utt_event.decided_at / SAMPLE_RATE, 3)))
        self._transcribe_pending()
        utt = self._utt
        self._utt = _Utt()
        decided_s = utt_event.decided_at / SAMPLE_RATE
        parts = [self.asr.collect(h, decided_s) for h in utt.parts]
        transcript = " ".join(p.text for p in parts if p.text).strip()
        if not transcript:
            return  # noise, a breath, or whisper heard nothing: no reply at all
        self.utterances += 1
        ready_s = max([decided_s] + [p.ready_s for p in parts])
        # With --language auto, the language whisper found in the longest part.
        language = max(parts, key=lambda p: len(p.text)).language if self.s.language == "auto" else self.s.language

        started = time.perf_counter()
        reply = self.responder.respond(transcript, self.conv, language)
        respond_s = time.perf_counter() - started
        said = self._carry_out(reply)
        said = self._offer_breathing(said, reply, utt_event, transcript)

        at, end, first_s, voice_s = self._speak(said, reply, ready_s + respond_s)
        reply_at_s = ready_s + respond_s + first_s
        event = ReplyEvent(
            start_s=round(utt_event.start / SAMPLE_RATE, 3),
            end_s=round(utt_event.end / SAMPLE_RATE, 3),
            transcript=transcript,
            **{k: v for k, v in reply.fields().items() if k != "reply"},
            reply=said,
            timings_ms={
                "endpoint_to_transcript": round((ready_s - decided_s) * 1000, 1),
                "transcribe": round(sum(p.wall_s for p in parts) * 1000, 1),
                "respond": round(respond_s * 1000, 2),
                "voice_first_audio": round(first_s * 1000, 1),
                "voice": round(voice_s * 1000, 1),
                "total": round((reply_at_s - decided_s) * 1000, 1),
            },
        )
        if at is not None and self.sink is not None:
            event.reply_start_s = round(at / SAMPLE_RATE, 3)
            event.reply_end_s = round(end / SAMPLE_RATE, 3)
        if said:
            self.replies += 1
        elif self.breathing is not None:
            event.mode = "breathing"
        elif self.paused:
            event.mode = "paused"
        self.emit(event)
        if event.reply_start_s is not None:
            self.emit(State(state="speaking", at_s=event.reply_start_s))
        elif self.paused:
            self.emit(State(state="paused", at_s=round(decided_s, 3)))
        if reply.command == "breathe" and said and self.breathing is None:
            start = end if end is not None else decided_s * SAMPLE_RATE
            self._start_breathing(reply.language, int(start + 0.5 * SAMPLE_RATE))
        if reply.command == "stop" and self._ending:
            self._end(self._summary_text)

    def _end(self, summary: str) -> None:
        self.stopped = True
        self.emit(Summary(text=summary, themes=[t for t, _ in self.conv.themes.most_common()],
                          utterances=self.utterances))

    def end_by_interrupt(self) -> None:
        """Ctrl-C or SIGTERM: end as cleanly as "stop", without speaking."""
        if not self.stopped:
            language = self.s.language if self.s.language != "auto" else None
            self._end(self.responder.summary(self.conv, language))

    def _offer_breathing(self, said: str, reply: Reply, utt: Utterance, transcript: str) -> str:
        """Offer breathing once, to someone who sounds highly distressed; never force it.

        Distress here is what can be heard without guessing at meaning: shouting (the
        utterance's loudness) or rushed speech (words a second).
        After a crisis the reply itself offers to breathe together.
        """
        if self.offered_breathing or reply.kind != "reflection" or not said:
            return said
        loudness_db = _loudness_db(utt.audio)
        words_per_s = len(transcript.split()) / max((utt.end - utt.start) / SAMPLE_RATE, 0.5)
        if loudness_db < LOUD_DB and words_per_s < FAST_WPS:
            return said
        self.offered_breathing = True
        pack = self.responder.pack(reply.language)
        return f"{said} {self.conv.pick(f'{reply.language}:breathing_offer', pack.lines('breathing_offer'))}"

    def _carry_out(self, reply: Reply) -> str:
        """Commands change the session; returns what Haven says."""
        said = reply.reply
        self._ending = False
        if reply.kind in ("crisis", "unsafe"):
            self._stop_breathing()
            return said  # safety is answered even while paused or breathing
        if self.breathing is not None:
            return self._steer_breathing(reply)
        if self.paused:
            if reply.command == "resume":
                self.paused = False
                return said
            if reply.command != "stop":
                return ""  # paused: stay quiet
        if reply.command == "pause":
            self.paused = True
        elif reply.command == "slower":
            self.rate = max(90, int(self.rate * SLOWER))
        elif reply.command == "faster":
            self.rate = min(230, int(round(self.rate / SLOWER)))
        elif reply.command == "stop":
            self._ending = True
            self._summary_text = self.responder.summary(self.conv, reply.language)
            said = f"{said} {self._summary_text}".strip()
        return said

    # -- guided breathing ("help me breathe") --------------------------------------

    def _start_breathing(self, language: str, start: int) -> None:
        from assistant.guided_breathing import GuidedBreathing

        self.breathing = GuidedBreathing(self.voice, language, start)
        self.emit(State(state="breathing", at_s=round(start / SAMPLE_RATE, 3)))

    def _tick_breathing(self) -> None:
        """Hand the cues whose time has come to the sink; close with a check-in."""
        b = self.breathing
        clock = self.endpointer.clock
        for at, clip, cue in b.due(clock):
            if clip is not None and self.sink is not None:
                self._reply_until = max(self._reply_until, self.sink.play(clip, at) or at + len(clip))
            if cue is not None:
                self.emit(cue)
        if b.done and clock >= max(self._reply_until, b.last_end):
            self.breathing = None
            self._say(b.check_in(), b.language)
            self.emit(State(state="listening", at_s=round(clock / SAMPLE_RATE, 3)))

    def _stop_breathing(self) -> None:
        if self.breathing is not None:
            self.breathing.stop()
            self.breathing = None
            if self.sink is not None:
                self.sink.cut(self.endpointer.clock)

    def _steer_breathing(self, reply: Reply) -> str:
        """While breathing: stop, pause, resume, slower and faster steer it; the rest waits."""
        b, now, cmd = self.breathing, self.endpointer.clock, reply.command
        if cmd == "stop":
            check_in = b.check_in()
            self._stop_breathing()
            return check_in
        if cmd == "pause":
            b.pause()
            if self.sink is not None:
                self.sink.cut(now)
            return reply.reply
        if cmd == "resume" and b.paused:
            b.resume(now)
            return ""
        if cmd in ("slower", "faster"):
            b.scale(SLOWER_BREATH if cmd == "slower" else FASTER_BREATH, now)
            return ""
        return ""  # talking during breathing is heard, but not answered until it ends

    def _say(self, text: str, language: str) -> None:
        """Haven speaks on its own (not in answer to an utterance), at the clock."""
        at = max(self.endpointer.clock, self._reply_until)
        event = Said(text=text, at_s=round(at / SAMPLE_RATE, 3))
        if self.voice is not None and self.sink is not None:
            samples = self.voice.render(text, language, self.rate)
            self._reply_until = self.sink.play(samples, at) or at + len(samples)
        self.emit(event)

    def _speak(self, said: str, reply: Reply, ready_s: float) -> tuple[int | None, int | None, float, float]:
        """Render the reply sentence by sentence and hand each to the sink as it is ready.

        The first sentence goes out as soon as it is rendered (live, it plays while
        the rest render); the rest follow back to back. Returns where the reply starts
        and ends (samples), the time to the first sentence, and the total render time.
        """
        if not said or self.voice is None:
            return None, None, 0.0, 0.0
        rate = int(self.rate * SAFETY_RATE) if reply.kind in ("crisis", "unsafe") else self.rate
        started = time.perf_counter()
        at = end = None
        first_s = 0.0
        for sentence in (s for s in _SENTENCE.split(said) if s.strip()):
            clip = self.voice.render(sentence, reply.language, rate)
            if at is None:
                first_s = time.perf_counter() - started
                at = end = max(int(round((ready_s + first_s) * SAMPLE_RATE)), self._reply_until)
            if self.sink is not None:
                self.sink.play(clip, end)
            end += len(clip)
        self._reply_until = end
        return at, end, first_s, time.perf_counter() - started

    def done(self, output: str | None = None) -> None:
        self.emit(Done(utterances=self.utterances, replies=self.replies, output=output))
