"""The Session's behaviour, driven in-process with test doubles (tests/fakes.py): no audio,
no Whisper, no espeak. Frames in, events out, as --json would print them."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import FakeEndpointer, FakeTranscriber, Say, run_test, states

VENT = "he never listens to me when i talk about my day"


def replies(events):
    return [e for e in events if e["event"] == "reply"]


def test_one_utterance_goes_through_every_state_in_order():
    evs = run_test([Say(VENT, 1.0, 4.0)], 20)
    assert states(evs) == ["listening", "hearing", "thinking", "speaking", "listening", "ending"]
    [reply] = replies(evs)
    assert reply["theme"] == "unseen" and reply["reply"]
    at = {e["state"]: e["at_s"] for e in evs if e["event"] == "state"}
    assert at["hearing"] == 1.0 and at["thinking"] == pytest.approx(4.0 + 1.2, abs=0.04)
    # Speaking starts where the reply starts on the timeline, and ends after it.
    assert at["speaking"] == pytest.approx(reply["reply_start_s"], abs=0.04)
    listening_again = [e for e in evs if e["event"] == "state" and e["state"] == "listening"][1]
    assert listening_again["at_s"] == pytest.approx(reply["reply_end_s"], abs=0.04)
    assert evs[-2]["event"] == "summary" and evs[-2]["reason"] == "input" and evs[-1]["event"] == "done"


def test_without_a_voice_haven_goes_back_to_listening_at_once():
    evs = run_test([Say(VENT, 1.0, 4.0)], 10, speak=False)
    assert states(evs) == ["listening", "hearing", "thinking", "listening", "ending"]
    assert replies(evs)[0]["reply_start_s"] is None


def test_speech_over_a_reply_cuts_it_and_is_heard():
    evs = run_test([Say(VENT, 1.0, 4.0), Say("i feel so alone even when he is next to me", 5.6, 8.0)], 20)
    first, second = replies(evs)
    cut = next(e for e in evs if e["event"] == "interrupted")
    assert first["reply_start_s"] < cut["at_s"] < first["reply_end_s"]
    assert states(evs)[:6] == ["listening", "hearing", "thinking", "speaking", "hearing", "thinking"]
    assert second["reply_start_s"] >= second["end_s"] + 1.2


def test_speech_while_haven_is_still_thinking_is_heard():
    """On a loaded machine the reply is placed late (after the measured thinking time): the
    person may speak again before it starts. That cuts the reply on its way (it crashed with
    'no transition from thinking to hearing')."""
    evs = run_test([Say(VENT, 1.0, 4.0), Say("i feel so alone even when he is next to me", 6.0, 9.0)], 25,
                   transcribe_s=3.0)
    assert states(evs)[:5] == ["listening", "hearing", "thinking", "hearing", "thinking"]
    first, second = replies(evs)
    assert first["reply_start_s"] > 6.0  # it was still on its way when the person spoke
    assert next(e for e in evs if e["event"] == "interrupted")["at_s"] == pytest.approx(6.0, abs=0.04)
    assert second["transcript"].startswith("i feel so alone")


def test_paused_means_paused_until_resumed():
    evs = run_test([Say("wait a moment", 1.0, 2.0), Say(VENT, 9.0, 11.0), Say("go on", 15.0, 15.6),
                    Say(VENT, 20.0, 23.0)], 40)
    pause, quiet, resume, again = replies(evs)
    assert pause["command"] == "pause" and pause["reply"]
    assert quiet["reply"] == "" and quiet["mode"] == "paused"
    assert resume["command"] == "resume" and again["reply"]
    s = states(evs)
    # After the pause is said: paused; hearing the next words does not end it.
    i = s.index("paused")
    assert s[i - 1] == "speaking" and s[i + 1: i + 4] == ["hearing", "thinking", "paused"]


def test_breathing_is_breathing_between_its_cues_and_stops_by_voice():
    evs = run_test([Say("help me breathe", 1.0, 2.0), Say("that's enough for today", 24.0, 25.5),
                    Say(VENT, 34.0, 37.0)], 55)
    breathe, stop, vent = replies(evs)
    assert breathe["command"] == "breathe" and stop["command"] == "stop" and vent["theme"] == "unseen"
    cues = [e for e in evs if e["event"] == "cue"]
    assert len(cues) >= 3 and cues[0]["at_s"] >= breathe["reply_end_s"]
    s = states(evs)
    first_cue = evs.index(cues[0])
    later = [e["state"] for e in evs[first_cue:evs.index(stop)] if e["event"] == "state"]
    assert "listening" not in later, later  # not "listening" after each cue
    assert "breathing" in s
    # "stop" during breathing ends the breathing (a check-in), not the session.
    assert stop["reply"] and not any(e["event"] == "summary" and e["reason"] == "stop" for e in evs)
    assert all(c["at_s"] <= stop["end_s"] + 1.3 for c in cues)


def test_breathing_runs_to_its_end_and_checks_in():
    evs = run_test([Say("help me breathe", 1.0, 2.0)], 10, speak=False)
    cues = [e for e in evs if e["event"] == "cue"]
    said = [e for e in evs if e["event"] == "said"]
    assert len(cues) == 16  # box: 4 phases, 4 cycles, though the input ended long before
    assert said and said[0]["at_s"] >= cues[-1]["at_s"] + cues[-1]["duration_s"]


def test_stop_says_goodbye_and_ends_through_the_one_end():
    evs = run_test([Say(VENT, 1.0, 4.0), Say("that's enough for today", 10.0, 11.5), Say(VENT, 20.0, 23.0)], 30)
    assert len(replies(evs)) == 2  # nothing after stop is heard
    summary = next(e for e in evs if e["event"] == "summary")
    assert summary["reason"] == "stop" and summary["themes"] == ["unseen"]
    assert summary["text"] in replies(evs)[1]["reply"]  # the closing words are said
    assert states(evs)[-1] == "ending" and evs[-1]["event"] == "done"


@pytest.mark.parametrize("reason", ["interrupt"])
def test_an_interrupt_ends_through_the_same_place(reason):
    evs = run_test([Say(VENT, 1.0, 4.0)], 30, interrupt_at=10.0)
    summary = [e for e in evs if e["event"] == "summary"]
    assert len(summary) == 1 and summary[0]["reason"] == reason and summary[0]["themes"] == ["unseen"]


def test_a_crisis_is_answered_even_while_paused():
    evs = run_test([Say("wait a moment", 1.0, 2.0), Say("i don't want to live anymore", 6.0, 8.0)], 20)
    crisis = replies(evs)[1]
    assert crisis["kind"] == "crisis" and crisis["reply"]


def test_faster_and_slower_stay_in_range():
    from assistant.session import Session, SessionSettings
    from assistant.settings import RATE_RANGE

    for rate, command, direction in ((300, "faster", 0), (80, "slower", 0), (165, "faster", 1), (165, "slower", -1)):
        session = Session(SessionSettings(rate=rate), None, None, None, lambda e: None, None,
                          endpointer=FakeEndpointer([]))
        from assistant.responder import Reply

        session._carry_out(Reply("x", "en", "command", None, command, "ok", 100.0))
        assert RATE_RANGE[0] <= session.rate <= RATE_RANGE[1]
        assert (session.rate > rate) - (session.rate < rate) == direction, (rate, command, session.rate)


# -- the units beside the state machine ------------------------------------------------------


class ScriptedRunner:
    """An ASR runner that transcribes by the chunks' lengths, and notes what it was asked."""

    def __init__(self):
        self.submitted, self.dropped = [], []

    def submit(self, audio, language, now_s):
        self.submitted.append(len(audio))
        return len(audio)

    def collect(self, handle, decided_s):
        from assistant.transcriber import Part

        return Part(f"{handle}", decided_s, 0.0, "en")

    def drop(self, handle, now_s):
        self.dropped.append(handle)


def test_incremental_guesses_then_drops_when_speech_goes_on():
    from assistant.transcriber import Incremental

    runner = ScriptedRunner()
    inc = Incremental(runner, "en", min_chunk=8.0)
    second = np.zeros(16000, np.float32)
    inc.chunk(second, 1.0)  # short: a guess that it is the last
    inc.chunk(second, 2.0)  # it was not: dropped, both chunks sent again as one guess
    parts = inc.finish(3.0)
    assert runner.submitted == [16000, 32000] and runner.dropped == [16000]
    assert [p.text for p in parts] == ["32000"]  # the last guess is the transcript, not sent twice


def test_incremental_sends_long_runs_for_good():
    from assistant.transcriber import Incremental

    runner = ScriptedRunner()
    inc = Incremental(runner, "en", min_chunk=2.0)
    inc.chunk(np.zeros(40000, np.float32), 3.0)  # 2.5 s: sent for good
    inc.chunk(np.zeros(8000, np.float32), 4.0)  # a guess on the rest
    assert [p.text for p in inc.finish(5.0)] == ["40000", "8000"] and runner.dropped == []


def test_one_pass_waits_for_the_end_point():
    from assistant.transcriber import Incremental

    runner = ScriptedRunner()
    inc = Incremental(runner, "en", min_chunk=8.0, incremental=False)
    inc.chunk(np.zeros(16000, np.float32), 1.0)
    inc.chunk(np.zeros(16000, np.float32), 2.0)
    assert runner.submitted == []
    assert [p.text for p in inc.finish(3.0)] == ["32000"]


def test_breathing_is_offered_once_to_shouting_or_rushing():
    from assistant.distress import BreathingOffer, loudness_db, sounds_distressed

    loud = np.full(16000, 0.9, np.float32)
    calm = np.full(16000, 0.02, np.float32)
    assert loudness_db(loud) > -9 > loudness_db(calm)
    assert sounds_distressed(loud, 3.0, "he forgot again")
    assert sounds_distressed(calm, 1.0, "one two three four five six")  # six words a second
    assert not sounds_distressed(calm, 3.0, "he forgot my birthday again")
    offer = BreathingOffer()
    asked = []
    assert offer.add("I hear you.", "fallback", lambda: True, lambda: "x") == "I hear you."  # not a reflection
    assert offer.add("I hear you.", "reflection", lambda: True, lambda: asked.append(1) or "Breathe?") \
        == "I hear you. Breathe?"
    assert offer.add("Again.", "reflection", lambda: True, lambda: "Breathe?") == "Again."  # only once
    assert asked == [1]


def test_breathing_guide_pauses_resumes_and_stretches_without_audio():
    from assistant.breathing import BreathingSession, Guide

    guide = Guide(BreathingSession("box", None, "en", cycles=2, intro=False, close=True), 0)
    first = guide.due(0)
    assert [s.phase for _at, _clip, s in first] == [] and not guide.done
    guide.due(16000)  # the first inhale (at 0.5 s)
    said, cut = guide.steer("pause", "I'll wait.", 20000)
    assert guide.paused and said == "I'll wait." and cut
    assert guide.due(10 ** 9) == []  # nothing while paused
    guide.steer("slower", "", 30000)  # stretches the paused phases
    guide.steer("resume", "", 40000)
    steps = [s for _at, _clip, s in guide.due(10 ** 9)]
    assert steps and all(s.duration_s == 5.0 for s in steps)  # box phases 4 s × 1.25
    assert guide.done


def test_endpointer_and_stages_are_not_needed_to_build_a_session():
    """Session takes its stages as objects: the fakes are enough."""
    from fakes import FakeVoice
    from assistant.session import Session, SessionSettings
    from assistant.transcriber import InlineASR

    script = [Say(VENT, 0.5, 1.0)]
    s = Session(SessionSettings(), None, FakeVoice(), None, lambda e: None, InlineASR(FakeTranscriber(script)),
                endpointer=FakeEndpointer(script))
    assert s.state == "listening"
