"""Hands-free breathing inside `listen`, on a recording's timeline: started and stopped by voice
(the real model and voice, in-process through pipeline.run; the Session's own states and
steering are tested with test doubles in test_session.py)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import SAMPLE_RATE
from conftest import listen_in_process
from speech import conversation


@pytest.fixture(scope="module")
def stopped(stages):
    audio, spans = conversation(
        ["Can you help me breathe?", "Stop.", "He never listens to me when I talk about my day."], gap=26.0, tail=12)
    evs, spoken = listen_in_process(stages, audio)
    return evs, spans, spoken


def test_breathing_starts_by_voice_and_stops_by_voice(stopped):
    evs, spans, _ = stopped
    replies = [e for e in evs if e["event"] == "reply"]
    assert [(r["kind"], r["command"] or r["theme"]) for r in replies] == [
        ("command", "breathe"), ("command", "stop"), ("reflection", "unseen")]
    cues = [e for e in evs if e["event"] == "cue"]
    assert cues and cues[0]["phase"] == "inhale"
    # The cues start after the breathe reply, and none comes after the spoken stop was decided.
    assert cues[0]["at_s"] >= replies[0]["reply_end_s"]
    stop_decided = replies[1]["end_s"] + 1.2
    assert all(c["at_s"] <= stop_decided for c in cues)
    assert len(cues) >= 4
    # "stop" during breathing ends the breathing, not Haven: a check-in, and Haven goes on.
    assert replies[1]["reply"] and "summary" not in [e["event"] for e in evs[: evs.index(replies[2])]]
    assert replies[2]["reply"] and replies[2]["mode"] == "normal"


def test_cues_sound_in_the_output_at_their_times(stopped):
    evs, _, spoken = stopped
    cues = [e for e in evs if e["event"] == "cue"]
    assert len(cues) >= 4, "no cues: nothing to check"
    for cue in cues:
        at = int(cue["at_s"] * SAMPLE_RATE)
        before = spoken[at - 1600: at - 160]  # the 90 ms to 10 ms before it: quiet
        onset = np.flatnonzero(np.abs(spoken[at - 160: at + 1600]) > 0.01)
        assert np.abs(before).max() < 0.01, cue
        assert len(onset) and (onset[0] - 160) / SAMPLE_RATE * 1000 < 50, cue


def test_breathing_runs_to_its_end_with_a_check_in(stages):
    audio, _ = conversation(["I'm panicking, please help me breathe."], tail=3)
    evs, _ = listen_in_process(stages, audio, speak=False)
    cues = [e for e in evs if e["event"] == "cue"]
    said = [e for e in evs if e["event"] == "said"]
    assert len(cues) == 16  # box: 4 phases, 4 cycles, though the recording ended long before
    assert said and said[0]["at_s"] >= cues[-1]["at_s"] + cues[-1]["duration_s"]
