"""Offering breathing to someone who sounds highly distressed: once, and never forced.

Distress here is what can be heard without guessing at meaning: shouting (the
utterance's loudness) or rushed speech (words a second). After a crisis the reply
itself offers to breathe together, so only reflections get the offer.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from assistant.settings import FRAME, SAMPLE_RATE

LOUD_DB = -9.0  # this loud (dBFS, loud frames) is shouting: speech sits near -25, espeak at -16
FAST_WPS = 5.0  # words a second: calm speech is about 2.5, espeak at 160 wpm about 4


def loudness_db(audio: np.ndarray) -> float:
    """How loud the speech itself is: the 90th percentile of 32 ms frame levels, so the
    pauses and silence around it do not dilute it."""
    n = len(audio) // FRAME * FRAME
    if n == 0:
        return -120.0
    levels = np.sqrt(np.mean(audio[:n].reshape(-1, FRAME) ** 2, axis=1))
    return float(20 * np.log10(max(float(np.percentile(levels, 90)), 1e-6)))


def sounds_distressed(audio: np.ndarray, speech_s: float, transcript: str) -> bool:
    """Shouted, or rushed (speech_s: from the start of speech to its end)."""
    words_per_s = len(transcript.split()) / max(speech_s, 0.5)
    return loudness_db(audio) >= LOUD_DB or words_per_s >= FAST_WPS


class BreathingOffer:
    """Adds the offer to a reply the first time someone sounds distressed, never again."""

    def __init__(self) -> None:
        self.offered = False

    def add(self, said: str, kind: str, distressed: Callable[[], bool], offer: Callable[[], str]) -> str:
        """`said`, with offer() after it when this is the moment (each is asked only if needed)."""
        if self.offered or kind != "reflection" or not said or not distressed():
            return said
        self.offered = True
        return f"{said} {offer()}"
