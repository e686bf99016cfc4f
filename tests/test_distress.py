"""Breathing is offered once to someone who sounds highly distressed, and never forced:
real espeak speech through the real pipeline, in-process (the rule itself is unit-tested
in test_session.py)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.distress import LOUD_DB, loudness_db
from conftest import listen_in_process
from speech import silence, speak

TEXT = "He forgot my birthday again and he did not even say sorry to me."


def recording(loud: bool = False, fast: bool = False, times: int = 1) -> np.ndarray:
    speech = speak(TEXT, speed=300 if fast else 160)
    if loud:
        speech = np.clip(speech * (0.95 / np.abs(speech).max()) * 1.0, -1, 1)
        speech = np.clip(speech * 3.0, -0.99, 0.99)  # shouted: clipped, near full scale
    parts = [silence(0.5)]
    for _ in range(times):
        parts += [speech, silence(9.0)]
    return np.concatenate(parts)


def offers(stages, audio) -> list[bool]:
    evs, _ = listen_in_process(stages, audio, speak=False)
    return ["breathe" in e["reply"].lower() for e in evs if e["event"] == "reply"]


def test_espeak_at_its_normal_level_is_not_shouting():
    shouted = recording(loud=True)[: len(silence(0.5)) + len(speak(TEXT))]  # the utterance alone
    assert loudness_db(speak(TEXT)) < LOUD_DB < loudness_db(shouted)


def test_calm_speech_gets_no_offer(stages):
    assert offers(stages, recording()) == [False]


@pytest.mark.parametrize("loud,fast", [(True, False), (False, True)])
def test_shouting_or_rushing_gets_one_offer(stages, loud, fast):
    assert offers(stages, recording(loud=loud, fast=fast, times=2)) == [True, False]  # once, not again
