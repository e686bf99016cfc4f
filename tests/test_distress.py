"""Breathing is offered once to someone who sounds highly distressed, and never forced."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio import write_wav
from assistant.speech_samples import silence, speak
from conftest import events, run_haven

TEXT = "He forgot my birthday again and he did not even say sorry to me."


def recording(tmp_path, loud: bool = False, fast: bool = False, times: int = 1):
    speech = speak(TEXT, speed=300 if fast else 160)
    if loud:
        speech = np.clip(speech * (0.95 / np.abs(speech).max()) * 1.0, -1, 1)
        speech = np.clip(speech * 3.0, -0.99, 0.99)  # shouted: clipped, near full scale
    parts = [silence(0.5)]
    for _ in range(times):
        parts += [speech, silence(9.0)]
    path = tmp_path / "say.wav"
    write_wav(path, np.concatenate(parts))
    return path


def offers(path) -> list[bool]:
    result = run_haven("listen", "--input", str(path), "--json", "--no-speak")
    assert result.returncode == 0, result.stderr
    return ["breathe" in e["reply"].lower() for e in events(result.stdout) if e["event"] == "reply"]


def test_calm_speech_gets_no_offer(tmp_path):
    assert offers(recording(tmp_path)) == [False]


@pytest.mark.parametrize("loud,fast", [(True, False), (False, True)])
def test_shouting_or_rushing_gets_one_offer(tmp_path, loud, fast):
    got = offers(recording(tmp_path, loud=loud, fast=fast, times=2))
    assert got == [True, False]  # once, not again
