"""Breathing inside a listening session: "help me breathe" starts it, the voice steers it.

The cues of a BreathingSession are put on the session's own clock (the recording's,
or the microphone's) and handed to the sink as the clock reaches them, so the same
code serves a recording (cues land in the --output WAV where they would have been
heard) and the live loop (cues play as the time comes, within one 32 ms block).
While it runs the loop keeps listening: stop ends it, pause and resume hold and
continue it, slower and faster stretch or shorten the phases still to come.
"""

from __future__ import annotations

from dataclasses import replace

from assistant.audio import SAMPLE_RATE
from assistant.breathing import BreathingSession, Step, load_patterns, load_texts, plan
from assistant.events import Cue

LOOKAHEAD = 0.1  # seconds: a cue is handed over this long before its time (file mode places it exactly)


class GuidedBreathing:
    """A breathing session scheduled on the session clock, starting at `start` (samples)."""

    def __init__(self, voice, language: str, start: int, pattern: str | None = None):
        patterns = load_patterns()
        name = pattern or patterns.default
        self.language = language
        self.start = start
        if voice is not None:
            # The session's own reply ("Let's breathe together ...") is the intro.
            self.session = BreathingSession(name, voice, language, intro=False, close=True)
            timed = [(at_s, step) for at_s, _clip, step in self.session.clips()]
        else:  # --no-speak: the cues are still kept, and reported, on time
            self.session = None
            timed = [(step.at_s, step) for step in plan(patterns.find(name), offset_s=0.0)]
        self._texts = load_texts(language, patterns=patterns)
        self._pending: list[tuple[int, Step | None]] = [
            (start + int(round(at_s * SAMPLE_RATE)), step) for at_s, step in timed
        ]
        self.paused_remaining: list[Step] | None = None
        self.done = False
        self.last_end = start  # where the last clip handed over ends (its phase, or the close)

    @property
    def paused(self) -> bool:
        return self.paused_remaining is not None

    def due(self, clock: int) -> list[tuple[int, object, Cue | None]]:
        """The clips whose time has come by `clock` (+ lookahead): (at, samples, cue event)."""
        out = []
        horizon = clock + int(LOOKAHEAD * SAMPLE_RATE)
        while self._pending and self._pending[0][0] <= horizon:
            at, step = self._pending.pop(0)
            if step is None:  # the close
                out.append((at, self.session.close_clip, None))
                self.last_end = at + len(self.session.close_clip)
            else:
                self.last_end = at + int(round(step.duration_s * SAMPLE_RATE))
                cue = Cue(phase=step.phase, at_s=round(at / SAMPLE_RATE, 3), duration_s=step.duration_s,
                          cycle=step.cycle)
                out.append((at, self.session.cue_clip(step) if self.session else None, cue))
        if not self._pending and not self.paused:
            self.done = True
        return out

    def _steps_left(self) -> list[Step]:
        return [step for _at, step in self._pending if step is not None]

    def _reschedule(self, steps: list[Step], from_sample: int) -> None:
        t = from_sample + int(0.5 * SAMPLE_RATE)
        pending: list[tuple[int, Step | None]] = []
        for step in steps:
            pending.append((t, step))
            t += int(round(step.duration_s * SAMPLE_RATE))
        if self.session is not None and self.session.close_clip is not None:
            pending.append((t + int(0.8 * SAMPLE_RATE), None))
        self._pending = pending
        self.done = not pending

    def stop(self) -> None:
        self._pending, self.paused_remaining, self.done = [], None, True

    def pause(self) -> None:
        self.paused_remaining, self._pending = self._steps_left(), []

    def resume(self, now: int) -> None:
        steps, self.paused_remaining = self.paused_remaining or [], None
        self._reschedule(steps, now)

    def scale(self, factor: float, now: int) -> None:
        """Slower (> 1) or faster (< 1) from the next phase on."""
        steps = [replace(s, duration_s=round(max(1.0, s.duration_s * factor), 2)) for s in self._steps_left()]
        if self.paused:
            self.paused_remaining = [replace(s, duration_s=round(max(1.0, s.duration_s * factor), 2))
                                     for s in self.paused_remaining]
            return
        self._reschedule(steps, now)

    def check_in(self) -> str:
        return self._texts.check_in_line()
