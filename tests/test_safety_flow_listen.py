"""The safety flow heard through real speech (issue #13): espeak-ng speaks a crisis sentence
and an answer, the real whisper model hears them, `listen --input` answers, in English and
Dutch. A yes to breathing starts the cues; a goodbye after a crisis says the number, and the
number is the last thing on screen."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.audio import write_wav
from assistant.settings import SAMPLE_RATE
from conftest import haven_here, listen_in_process
from speech import conversation

# Sentences whisper hears from espeak's Dutch (it hears "niet meer leven" as "niet meer even":
# words alone miss that; the semantic layer is for it).
CRISIS = {"en": ("I don't want to live anymore.", "en-us"), "nl": ("Ik wil een einde aan mijn leven maken.", "nl+m1")}
YES = {"en": ("Yes please.", "en-us"), "nl": ("Ja, graag.", "nl")}
GOODBYE = {"en": ("Okay, that's enough for today, goodbye.", "en-us"), "nl": ("Oké, we stoppen ermee. Dag.", "nl")}
NUMBER = {"en": "988", "nl": "0800-0113"}  # the language's home region (tests run without a country in LANG)
SPOKEN = {"en": "9 8 8", "nl": "0 8 0 0, 0 1 1 3"}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_yes_after_a_crisis_starts_breathing(stages, lang):
    audio, _ = conversation([CRISIS[lang], YES[lang]], gap=24.0, tail=2)
    evs, _ = listen_in_process(stages, audio, speak=True, language=lang)
    replies = [e for e in evs if e["event"] == "reply"]
    assert [r["kind"] for r in replies] == ["crisis", "command"], [r["transcript"] for r in replies]
    assert replies[1]["command"] == "breathe" and replies[1]["answer"] == "yes" and replies[1]["mode"] == "safety"
    cues = [e for e in evs if e["event"] == "cue"]
    assert cues and cues[0]["phase"] == "inhale" and cues[0]["at_s"] >= replies[1]["reply_end_s"]
    summary = next(e for e in evs if e["event"] == "summary")
    assert NUMBER[lang] in [n["number"] for n in summary["helplines"]]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_goodbye_after_a_crisis_says_the_number(stages, transcriber, lang):
    audio, _ = conversation([CRISIS[lang], GOODBYE[lang]], gap=24.0, tail=2)
    evs, spoken = listen_in_process(stages, audio, speak=True, language=lang)
    replies = [e for e in evs if e["event"] == "reply"]
    assert [(r["kind"], r["command"]) for r in replies] == [("crisis", None), ("command", "stop")], \
        [r["transcript"] for r in replies]
    goodbye = replies[1]
    assert NUMBER[lang] in goodbye["reply"]
    # Said, not only written: the goodbye sounds at its place, and the voice got the number
    # in its spoken form.
    a, b = int(goodbye["reply_start_s"] * SAMPLE_RATE), int(goodbye["reply_end_s"] * SAMPLE_RATE)
    assert np.abs(spoken[a:a + 1600]).max() > 0.05
    assert SPOKEN[lang] in stages.responder.voiced(goodbye["reply"], lang)
    if lang == "en":
        # Whisper hears the helpline sentence back. Not the digits themselves: how whisper
        # writes espeak's "nine eight eight" changes with the CPU it runs on ("988", "9-8-8",
        # "I-88" here; "night ate" on the CI machine), so they are checked above, in the text
        # the voice was given. (Haven's Dutch voice it hears too poorly for this: measured, a
        # spoken "0 8 0 0, 0 1 1 3" came back as "115,047,008,...".)
        heard = transcriber.transcribe(spoken[a:b], lang).text.lower()
        assert re.search(r"\bli(?:fe|ve) ?line\b", heard) and "emergency" in heard, heard
    summary = next(e for e in evs if e["event"] == "summary")
    assert summary["reason"] == "stop" and NUMBER[lang] in summary["text"]


def test_the_numbers_are_printed_last(tmp_path):
    # The command itself, as a person runs it: the last lines on screen are the numbers.
    audio, _ = conversation([CRISIS["en"], GOODBYE["en"]], gap=24.0, tail=2)
    path = tmp_path / "crisis-goodbye.wav"
    write_wav(path, audio)
    result = haven_here("listen", "--input", path, "--no-speak", "--region", "GB")
    assert result.returncode == 0, result.stderr
    assert "116 123" in result.stdout  # in the goodbye on screen
    last = result.stderr.strip().splitlines()[-3:]
    assert last[0].startswith("If you need someone")
    assert last[1:] == ["  Samaritans: 116 123", "  Emergency: 999"], result.stderr


def test_a_yes_to_the_question_about_safety_through_speech_gives_the_abuse_line(stages):
    """The meaning layer's unsure band for danger from someone, heard through speech: Haven asks
    plainly, the spoken yes is heard, and the unsafe reply follows with the domestic-violence line."""
    audio, _ = conversation([("I told my sister I walked into a door again.", "en-us"), ("Yes.", "en-us")],
                            gap=24.0, tail=2)
    evs, _ = listen_in_process(stages, audio, speak=True, language="en")
    replies = [e for e in evs if e["event"] == "reply"]
    assert [r["kind"] for r in replies] == ["check", "unsafe"], [r["transcript"] for r in replies]
    assert replies[0]["reply"].endswith("?")
    summary = next(e for e in evs if e["event"] == "summary")
    assert "1-800-799-7233" in [n["number"] for n in summary["helplines"]]
