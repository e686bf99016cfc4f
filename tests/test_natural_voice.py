"""The natural English voice (natural_voice.py): real espeak-ng phonemes, the real joe
model in onnxruntime, and whisper listening to what it says, beside espeak-ng's voice."""

from __future__ import annotations

import pytest

from assistant import natural_voice
from assistant.errors import VoiceError
from assistant.voice import Voice
from conftest import listen_in_process, wer

pytestmark = pytest.mark.skipif(not natural_voice.available(),
                                reason='needs the natural extra: pip install -e ".[natural]" (make test installs it)')

REPLIES = [
    "I wonder if it feels like being invisible to them, and that really hurts.",
    "Take your time. What else is there?",
    "It sounds like you keep knocking and nobody opens the door.",
    "Let's take a breath together: in, slowly, and out, even more slowly.",
]


def test_phonemes_are_espeaks_ipa_with_the_punctuation():
    phonemize = natural_voice.Phonemizer()
    said = phonemize("I hear you. Take your time, please?")
    assert "hˈɪɹ" in said and said.rstrip().endswith("?") and "." in said and "," in said


def test_dutch_has_no_natural_voice_and_says_so():
    voice = Voice("nl", voices={"nl": "natural"})
    with pytest.raises(VoiceError, match="no natural voice for 'nl'"):
        voice.render("Hallo.")


def test_the_natural_voice_is_understood_as_well_as_espeak(transcriber):
    natural, espeak = Voice("en", voices={"en": "natural"}), Voice("en")
    try:
        rates = {}
        for name, voice in (("natural", natural), ("espeak-ng", espeak)):
            heard = [transcriber.transcribe(voice.render(text), "en").text for text in REPLIES]
            rates[name] = wer(" ".join(REPLIES), " ".join(heard))
        slow = natural.render(REPLIES[1], rate=90)
        fast = natural.render(REPLIES[1], rate=220)
    finally:
        natural.close()
        espeak.close()
    print(f"\nword error rate through whisper: natural {rates['natural']:.1%}, espeak-ng {rates['espeak-ng']:.1%}")
    assert rates["natural"] < 0.2, rates
    # "slower" and "faster" reach it (length_scale 2.4 times as long; the model's own
    # duration noise and the pauses keep the ratio of the audio below that).
    assert len(slow) > 1.5 * len(fast), (len(slow), len(fast))


def test_a_session_speaks_with_it(stages, tmp_path):
    """The whole loop over a recording with voice_en = natural: the reply is in the output."""
    import dataclasses

    from speech import conversation

    audio, _ = conversation(["He forgot my birthday again and didn't even say sorry."], lead=0.3, tail=2.0)
    voice = Voice("en", voices={"en": "natural"})
    try:
        evs, out = listen_in_process(dataclasses.replace(stages, voice=voice), audio)
    finally:
        voice.close()
    [reply] = [e for e in evs if e["event"] == "reply"]
    start = int(reply["reply_start_s"] * 16000)
    assert reply["reply"] and abs(out[start:start + 8000]).max() > 0.05
