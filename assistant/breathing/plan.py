"""A breathing session's plan: every phase in order, on the session's own timeline."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.breathing.patterns import MAX_CYCLES, MAX_MINUTES, Pattern
from assistant.errors import HavenError
from assistant.events import Cue

LEAD_S = 0.5  # the first breath when nothing is said before it
CLOSE_GAP_S = 0.8  # after the last phase, before the close

@dataclass(frozen=True)
class Step:
    """One phase on the session's timeline."""

    phase: str
    at_s: float
    duration_s: float
    cycle: int
    cue: str = ""
    """The key of its words in [cues]."""

    @property
    def end_s(self) -> float:
        return round(self.at_s + self.duration_s, 3)

    def event(self, offset_s: float = 0.0) -> Cue:
        return Cue(phase=self.phase, at_s=round(self.at_s + offset_s, 3), duration_s=self.duration_s, cycle=self.cycle)


def cycles_for(pattern: Pattern, cycles: int | None = None, minutes: float | None = None) -> tuple[int, bool]:
    """How many cycles, and whether --minutes was held back by the pattern's max_cycles."""
    if cycles is not None and minutes is not None:
        raise HavenError("give --cycles or --minutes, not both")
    if cycles is not None:
        if isinstance(cycles, bool) or int(cycles) != cycles or not 1 <= cycles <= MAX_CYCLES:
            raise HavenError(f"--cycles {cycles} is out of range; use 1 to {MAX_CYCLES}")
        return int(cycles), False
    if minutes is not None:
        if not (minutes > 0 and minutes <= MAX_MINUTES):  # also catches nan
            raise HavenError(f"--minutes {minutes:g} is out of range; use more than 0 and at most {MAX_MINUTES:g}")
        n = max(1, round(minutes * 60 / pattern.cycle_s))
        if pattern.max_cycles is not None and n > pattern.max_cycles:
            return pattern.max_cycles, True
        return min(n, MAX_CYCLES), False
    return pattern.cycles, False


def plan(pattern: Pattern, cycles: int | None = None, minutes: float | None = None,
         offset_s: float = 0.0) -> list[Step]:
    """Every phase of the session in order, starting at offset_s (the end of the intro)."""
    n, _capped = cycles_for(pattern, cycles, minutes)
    steps = []
    t = float(offset_s)
    for cycle in range(1, n + 1):
        for phase in pattern.phases:
            steps.append(Step(phase.id, round(t, 3), phase.seconds, cycle, phase.cue))
            t += phase.seconds
    return steps
