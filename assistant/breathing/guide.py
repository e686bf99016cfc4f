"""The one breathing scheduler: a session's clips on a sample clock.

Every breathing path plays through it: `haven breathe --output` (a silent clock run
as fast as possible, onto a WAV), `haven breathe` (a silent clock in real time, onto
the speakers) and breathing inside `haven listen` (the session's own clock, the
recording's or the microphone's). Each clip is handed to the sink LOOKAHEAD before
its sample, and the sink places it exactly there (TimelineSink on its timeline,
SpeakerSink on the device's clock), so a late tick never makes a late cue.

While it runs inside a listening session the person can steer it: stop ends it,
pause and resume hold and continue it, slower and faster stretch or shorten the
phases still to come (steer()).
"""

from __future__ import annotations

from dataclasses import replace

from assistant.breathing.plan import CLOSE_GAP_S, LEAD_S, Step
from assistant.events import Cue
from assistant.settings import SAMPLE_RATE

LOOKAHEAD = 0.1  # seconds: a clip is handed over this long before its time
SLOWER, FASTER = 1.25, 0.8  # phase lengths for "slower" / "faster"
MIN_PHASE_S = 1.0  # "faster" never makes a phase shorter than this


def _samples(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


class Guide:
    """A BreathingSession (see clips.py) scheduled on a sample clock from `start`."""

    def __init__(self, session, start: int):
        self.session = session
        self.language = session.language
        self.start = start
        # (sample, step); step None is the intro (at 0) or the close (after the steps).
        self._pending: list[tuple[int, Step | None]] = [
            (start + _samples(at_s), step) for at_s, _clip, step in session.clips()]
        self.paused_steps: list[Step] | None = None
        self.done = False
        self.last_end = start  # where the last clip handed over ends (its phase, or the close)

    @property
    def paused(self) -> bool:
        return self.paused_steps is not None

    def end_sample(self) -> int:
        """Where the session ends as planned now (its last phase, or its close)."""
        if not self._pending:
            return self.last_end
        at, step = self._pending[-1]
        return at + (len(self._clip(step, at)) if step is None else _samples(step.duration_s))

    def finished(self, clock: int) -> bool:
        """Nothing left to hand over, and the last of it has sounded by `clock`."""
        return self.done and clock >= self.last_end

    def _clip(self, step: Step | None, at: int):
        if step is not None:
            return self.session.cue_clip(step)
        return self.session.intro_clip if at == self.start and self.session.intro_clip is not None \
            else self.session.close_clip

    def due(self, clock: int) -> list[tuple[int, object, Step | None]]:
        """The clips whose time has come by `clock` (+ lookahead): (sample, samples or None, step)."""
        out = []
        horizon = clock + _samples(LOOKAHEAD)
        while self._pending and self._pending[0][0] <= horizon:
            at, step = self._pending.pop(0)
            clip = self._clip(step, at)
            out.append((at, clip, step))
            length = _samples(step.duration_s) if step is not None else (len(clip) if clip is not None else 0)
            self.last_end = max(self.last_end, at + length)
        if not self._pending and not self.paused:
            self.done = True
        return out

    def tick(self, clock: int, sink, emit, on_step=None) -> int:
        """Hand what is due to the sink and emit its cues; returns where the sound handed over ends."""
        sounding = 0
        for at, clip, step in self.due(clock):
            if clip is not None and sink is not None:
                sounding = max(sounding, sink.play(clip, at) + len(clip))
            if step is not None:
                if on_step is not None:
                    on_step(step)
                emit(Cue(phase=step.phase, at_s=round(at / SAMPLE_RATE, 3), duration_s=step.duration_s,
                         cycle=step.cycle))
        return sounding

    # -- steering (inside a listening session) -------------------------------------------

    def _steps_left(self) -> list[Step]:
        return [step for _at, step in self._pending if step is not None]

    def _reschedule(self, steps: list[Step], from_sample: int) -> None:
        t = from_sample + _samples(LEAD_S)
        pending: list[tuple[int, Step | None]] = []
        for step in steps:
            pending.append((t, step))
            t += _samples(step.duration_s)
        if self.session.close_clip is not None:
            pending.append((t + _samples(CLOSE_GAP_S), None))
        self._pending = pending
        self.done = not pending

    def stop(self) -> None:
        self._pending, self.paused_steps, self.done = [], None, True

    def pause(self) -> None:
        self.paused_steps, self._pending = self._steps_left(), []

    def resume(self, now: int) -> None:
        steps, self.paused_steps = self.paused_steps or [], None
        self._reschedule(steps, now)

    def scale(self, factor: float, now: int) -> None:
        """Slower (> 1) or faster (< 1) from the next phase on."""
        def scaled(steps):
            return [replace(s, duration_s=round(max(MIN_PHASE_S, s.duration_s * factor), 2)) for s in steps]

        if self.paused:
            self.paused_steps = scaled(self.paused_steps)
            return
        self._reschedule(scaled(self._steps_left()), now)

    def steer(self, command: str | None, reply: str, now: int) -> tuple[str, bool]:
        """A command said while breathing: (what Haven says, whether the sound stops now).

        stop ends the breathing with a check-in; pause holds it (and says the pause
        reply); resume, slower and faster change it quietly; anything else is heard,
        but not answered until the breathing ends.
        """
        if command == "stop":
            self.stop()
            return self.check_in(), True
        if command == "pause":
            self.pause()
            return reply, True
        if command == "resume" and self.paused:
            self.resume(now)
        elif command in ("slower", "faster"):
            self.scale(SLOWER if command == "slower" else FASTER, now)
        return "", False

    def check_in(self) -> str:
        return self.session.texts.check_in_line()


def play(guide: Guide, source, sink, emit, on_step=None) -> None:
    """A whole breathing session on its own (`haven breathe`): the source is a silent
    clock (paced for the speakers, or not for a WAV); returns when the last sound ends."""
    clock = 0
    for frames in source:
        guide.tick(clock, sink, emit, on_step)
        clock += len(frames)
        sink.advance(clock)
        if guide.finished(clock):
            return
