"""Whisper's other readings of an utterance (readings.py) reach the safety check: one
misheard word in the best reading must not hide a crisis that the runner-up heard right.
Near-ties raise the alarm; farther readings ask the direct question. Real model, real
espeak-ng speech, real responder."""

from __future__ import annotations

import pytest

from assistant.responder import Conversation
from assistant.textnorm import basic_clean
from assistant.readings import ALARM_GAP, ASK_GAP, Reading, format_readings, parse_readings
from assistant.transcriber import HYPOTHESES, Part, _KeepReadings, alternatives
from conftest import listen_in_process
from speech import speak

# Sentences from retired blind sets whose espeak-ng speech whisper reads in near-ties.
SPOKEN = [
    ("What if I just took the whole packet. He'd be sorry when I'm dead.", "en-us+f3"),
    ("I've got bruises all over my ribs and I told the doctor I fell.", "en-gb"),
    ("He said one day I'll wake up and he'll be standing over the bed, and I'll know why.", "en-us"),
    ("I can't do this anymore. I'd rather be dead than go through another year like this one.", "en-us"),
]
MISHEARD = "What if I just took the bowl packet? He'd be sorry when I'm dead."
HEARD_RIGHT = "What if I just took the whole packet? He'd be sorry when I'm dead."


@pytest.fixture(scope="module")
def readings(transcriber):
    return [transcriber.transcribe(speak(text, voice), "en") for text, voice in SPOKEN]


def test_the_best_reading_is_whisper_s_own(transcriber, readings):
    """Asking beam search for all its readings leaves the transcript as faster-whisper gives it."""
    assert isinstance(transcriber.model.model, _KeepReadings)
    keeping = transcriber.model.model
    transcriber.model.model = keeping._model  # faster-whisper's own model object, for this comparison
    try:
        plain = [transcriber.transcribe(speak(text, voice), "en") for text, voice in SPOKEN]
    finally:
        transcriber.model.model = keeping
    assert [t.text for t in plain] == [t.text for t in readings]
    assert all(t.alternatives == () for t in plain)  # nothing kept without the stand-in


def test_alternatives_are_near_ties_that_read_otherwise(transcriber, readings):
    assert any(t.alternatives for t in readings), [t.text for t in readings]  # near-ties are common
    assert any(a.gap > ALARM_GAP for t in readings for a in t.alternatives)  # and farther ones
    for t in readings:
        assert len(t.alternatives) <= HYPOTHESES - 1
        assert all(0 <= a.gap <= ASK_GAP for a in t.alternatives), t.alternatives
        cleaned = [basic_clean(a.text) for a in t.alternatives]
        assert basic_clean(t.text) not in cleaned and len(set(cleaned)) == len(cleaned)
    # The readings come best first (the margin's cut-off relies on it).
    transcriber.transcribe(speak(*SPOKEN[0]), "en")
    calls = transcriber.model.model.readings()
    assert calls and all([r[1] for r in call] == sorted((r[1] for r in call), reverse=True) for call in calls)


def test_a_part_read_otherwise_gives_the_whole_utterance_again():
    parts = [Part("we argued again", 0, 0, "en"),
             Part("I'll take a bill with wine", 0, 0, "en",
                  (Reading("I'll take a pill with wine", 0.01), Reading("I'll take the bill with wine", 0.06)))]
    assert alternatives(parts) == (Reading("we argued again I'll take a pill with wine", 0.01),
                                   Reading("we argued again I'll take the bill with wine", 0.06))
    assert alternatives([Part("hello", 0, 0, "en")]) == ()


def test_a_crisis_in_another_reading_gets_the_crisis_reply(responder):
    assert responder.respond(MISHEARD, Conversation(seed=1), "en").kind != "crisis"  # the premise
    reply = responder.respond(MISHEARD, Conversation(seed=1), "en", (Reading(HEARD_RIGHT, ALARM_GAP),))
    assert reply.kind == "crisis"
    assert reply.text == MISHEARD  # what is shown is still what whisper heard best


def test_a_crisis_in_a_farther_reading_asks_the_direct_question(responder):
    """Less sure than a near-tie: Haven asks whether they are thinking of ending their life."""
    conv = Conversation(seed=1)
    reply = responder.respond(MISHEARD, conv, "en", (Reading(HEARD_RIGHT, ALARM_GAP + 0.01),))
    assert reply.kind == "check", reply
    assert reply.reply in responder.aftercare.lines("check", "question", "en")
    # A yes to the question is a crisis.
    assert responder.respond("yes", conv, "en").kind == "crisis"
    # An alarm in a near-tie beats a question from a farther reading.
    both = (Reading("He keeps hitting me when he drinks.", 0.05), Reading(HEARD_RIGHT, 0.01))
    assert responder.respond(MISHEARD, Conversation(seed=1), "en", both).kind == "crisis"


def test_a_heard_set_column_keeps_each_reading_s_gap():
    kept = (Reading("I'll take a pill with wine", 0.0123), Reading("[sic] a bill  with wine", 0.06))
    assert parse_readings(format_readings(kept)) == (Reading("I'll take a pill with wine", 0.012),
                                                     Reading("[sic] a bill with wine", 0.06))
    # Sets heard before the gap was stored hold near-ties only.
    assert parse_readings("a pill || the pill") == (Reading("a pill"), Reading("the pill"))
    assert parse_readings("") == ()


def test_a_harmless_other_reading_changes_nothing(responder):
    text = "He forgot our anniversary again."
    alone = responder.respond(text, Conversation(seed=1), "en")
    with_other = responder.respond(text, Conversation(seed=1), "en", (Reading("He forgot our anniversary again"),))
    assert (with_other.kind, with_other.theme, with_other.reply) == (alone.kind, alone.theme, alone.reply)


def test_an_alarm_in_the_best_reading_is_not_replaced(responder):
    reply = responder.respond("I want to kill myself.", Conversation(seed=1), "en",
                              (Reading("He keeps hitting me when he drinks."),))
    assert reply.kind == "crisis"


def test_through_speech_the_whole_packet_is_a_crisis(stages):
    """End to end: `listen` on the spoken sentence answers with the crisis reply, whichever
    of its near-tied readings ("whole", "bowl", "gold" packet) whisper ranks first."""
    text, voice = SPOKEN[0]
    audio = speak(text, voice)
    evs, _ = listen_in_process(stages, audio, speak=False, language="en")
    replies = [e for e in evs if e["event"] == "reply"]
    assert [r["kind"] for r in replies] == ["crisis"], [r["transcript"] for r in replies]
