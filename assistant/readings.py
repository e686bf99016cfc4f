"""Whisper's other readings of the same speech, for the safety check alone.

Whisper's beam search ends with five readings of the audio; the best is the transcript.
One misheard word ("a bill with wine", "the bowl packet") is often right in the runner-up,
so the safety check reads the others too. How far a reading is from the best (its `gap`:
the best's mean log-probability per token minus its own) decides what it may do:

- within ALARM_GAP, a crisis or danger in it is answered as if it had been the transcript;
- within ASK_GAP, it makes Haven ask the direct question instead (safety's "check" band):
  less sure, so a question rather than an alarm, but never silence.

Measured with espeak-ng speech of retired blind sets (crisis, unsafe and 80 reflections a set):
- alarm, English holdout7-9 (660 rows), where the gap was chosen: crises alarmed 211 -> 216
  of 240 at 0.02, no more false alarms (5 of 240); alarming up to 0.05 would add 4 crises
  and 3 false alarms. Checked on holdout5, 6 and 10 (592 rows): 179 -> 186 of 220 alarmed.
- ask, up to 0.05 (0.1 asks more harmless rows in Dutch for few more crises):
  English holdout7-9: crises alarmed or asked 217 -> 220 of 240, other rows asked 2 -> 5 of
  240; holdout5, 6, 10: 188 -> 193 of 220, other rows 4 -> 5 of 211.
  Dutch holdout7-9: crises alarmed or asked 127 -> 141 of 240, other rows asked 5 -> 12 of
  160 (espeak-ng's Dutch comes back as half gibberish, which alarms on its own: 20 of 160).
"""

from __future__ import annotations

from dataclasses import dataclass

ALARM_GAP = 0.02
ASK_GAP = 0.05

# Between readings in a heard set's fifth column (scripts/asr_roundtrip.py); each reading
# may start with its gap in brackets ("[0.034] text"). Without one, it was kept as a
# near-tie (sets heard before readings carried their gap).
SEPARATOR = " || "


@dataclass(frozen=True)
class Reading:
    text: str
    gap: float = 0.0
    """How much less likely than the best reading: mean log-probability per token."""

    @property
    def alarms(self) -> bool:
        """Near enough that an alarm in it is an alarm (ALARM_GAP)."""
        return self.gap <= ALARM_GAP

    @property
    def asks(self) -> bool:
        """Near enough to ask the direct question about what is in it (ASK_GAP)."""
        return self.gap <= ASK_GAP


def read_otherwise(pieces: list[str | None], others: list[tuple[Reading, ...]]) -> list[Reading]:
    """The whole again once for each other reading of one of its pieces (segments of a
    transcript, or parts of an utterance), the other pieces as they are."""
    return [Reading(" ".join(t for t in (*pieces[:i], other.text, *pieces[i + 1:]) if t), other.gap)
            for i, options in enumerate(others) for other in options]


def format_readings(readings: tuple[Reading, ...]) -> str:
    """One column of a heard set: the readings with their gaps."""
    return SEPARATOR.join(f"[{r.gap:.3f}] {' '.join(r.text.split())}" for r in readings)


def parse_readings(column: str) -> tuple[Reading, ...]:
    """The readings of one heard-set column (format_readings)."""
    out = []
    for item in column.split(SEPARATOR):
        item = item.strip()
        gap = 0.0
        if item.startswith("[") and "]" in item:
            number, rest = item[1:].split("]", 1)
            try:
                gap, item = float(number), rest.strip()
            except ValueError:
                pass  # a reading that starts with brackets of its own
        if item:
            out.append(Reading(item, gap))
    return tuple(out)
