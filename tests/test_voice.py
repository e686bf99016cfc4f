"""Haven's voice: pyttsx3 with espeak-ng, rendered in a worker process."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import SAMPLE_RATE
from assistant.errors import VoiceError
from assistant.voice import Voice
from conftest import wer


def test_renders_english_that_whisper_understands(voice, transcriber):
    text = "It sounds like you felt invisible at dinner tonight."
    samples = voice.render(text)
    assert samples.dtype == np.float32 and 1.5 < len(samples) / SAMPLE_RATE < 6
    assert wer(text, transcriber.transcribe(samples, "en").text) < 0.25


def test_renders_dutch_with_the_dutch_voice(voice):
    en = voice.render("Het klinkt alsof je je alleen voelt.", "en")
    nl = voice.render("Het klinkt alsof je je alleen voelt.", "nl")
    assert len(nl) > SAMPLE_RATE
    # A different voice really spoke: the two renderings differ.
    n = min(len(en), len(nl))
    assert not np.allclose(en[:n], nl[:n], atol=1e-3)


def test_slower_rate_is_longer(voice):
    text = "Take your time. I am here."
    normal = voice.render(text, rate=165)
    slow = voice.render(text, rate=120)
    assert len(slow) > 1.2 * len(normal)
    # And the slow rate does not stick to the next render at the normal rate.
    assert abs(len(voice.render(text, rate=165)) - len(normal)) < 0.05 * len(normal)


def test_unknown_language_is_a_clear_error(voice):
    with pytest.raises(VoiceError, match="no voice for language 'fr'"):
        voice.render("Bonjour", "fr")


def test_a_killed_worker_is_replaced():
    v = Voice("en")
    try:
        v.render("One.")
        for worker in v._workers.values():  # as if the engine had crashed
            worker.proc.kill()
            worker.proc.wait()
        assert len(v.render("Two.")) > 0
    finally:
        v.close()


def test_many_renders_in_one_session_do_not_hang():
    """pyttsx3's loop is known to hang on repeated runAndWait(); 60 renders, alternating."""
    v = Voice("en")
    try:
        lengths = [len(v.render(f"Reply number {i}.", "nl" if i % 3 == 0 else "en")) for i in range(60)]
        assert all(n > SAMPLE_RATE // 4 for n in lengths)
        assert v.restarts == 0
    finally:
        v.close()
