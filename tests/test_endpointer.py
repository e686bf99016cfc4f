"""The endpointer on real speech (espeak-ng) and real noise, driven without a sound card."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import SAMPLE_RATE
from assistant.endpointer import Chunk, Endpointer, EndpointerSettings, SpeechStarted, Utterance
from speech import conversation, silence, speak


def run(audio: np.ndarray, settings: EndpointerSettings | None = None, frame: int = 1024) -> list:
    ep = Endpointer(settings)
    out = []
    for i in range(0, len(audio), frame):
        out.extend(ep.feed(audio[i:i + frame]))
    return out + ep.flush()


@pytest.fixture(scope="module")
def two():
    return conversation(["I keep trying to reach him.", "He never answers when I call."], gap=2.5)


def test_pause_separates_utterances(two):
    audio, spans = two
    utts = [e for e in run(audio) if isinstance(e, Utterance)]
    assert len(utts) == 2
    for u, (start, end) in zip(utts, spans):
        assert abs(u.start / SAMPLE_RATE - start) < 0.4
        assert abs(u.end / SAMPLE_RATE - end) < 0.3
        # Declared after the hangover, not before.
        assert (u.decided_at - u.end) / SAMPLE_RATE >= 1.2 - 0.05


def test_pre_roll_keeps_the_first_syllable(two):
    audio, spans = two
    u = next(e for e in run(audio) if isinstance(e, Utterance))
    assert u.start / SAMPLE_RATE <= spans[0][0]  # audio from before the first voiced window


def test_longer_pause_setting_joins_them(two):
    audio, _ = two
    utts = [e for e in run(audio, EndpointerSettings(pause=3.0)) if isinstance(e, Utterance)]
    assert len(utts) == 1


def test_chunks_close_at_short_pauses_and_cover_the_utterance():
    audio, _ = conversation(["He forgot my birthday.", "Again."], gap=0.6)
    evs = run(audio)
    utts = [e for e in evs if isinstance(e, Utterance)]
    assert len(utts) == 1
    chunks = utts[0].chunks
    assert len(chunks) == 2
    assert chunks[0].end <= chunks[1].start + 1  # back to back, no gap, no overlap
    # Each chunk was announced before the utterance ended.
    first_chunk = next(i for i, e in enumerate(evs) if isinstance(e, Chunk))
    assert first_chunk < evs.index(utts[0])


def test_noise_and_clicks_start_nothing():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 10 ** (-35 / 20), 5 * SAMPLE_RATE).astype(np.float32)
    click = np.zeros(SAMPLE_RATE, np.float32)
    click[8000:8080] = 0.8
    evs = run(np.concatenate([noise, click, silence(2)]))
    assert [e for e in evs if isinstance(e, Utterance)] == []


def test_end_is_found_in_background_noise(two):
    audio, spans = two
    rng = np.random.default_rng(2)
    noisy = audio + rng.normal(0, 10 ** (-35 / 20), len(audio)).astype(np.float32)
    utts = [e for e in run(noisy) if isinstance(e, Utterance)]
    assert len(utts) == 2


def test_monologue_is_cut_at_the_limit():
    speech = speak("I have been talking about this for a very long time and I cannot stop now.")
    audio = np.concatenate([speech] * 4)
    utts = [e for e in run(audio, EndpointerSettings(max_utterance=5.0)) if isinstance(e, Utterance)]
    assert len(utts) >= 2
    assert all(len(u.audio) <= 5.0 * SAMPLE_RATE + 1024 for u in utts)


def test_frame_size_does_not_change_the_result(two):
    audio, _ = two
    a = [(e.start, e.end) for e in run(audio, frame=480) if isinstance(e, Utterance)]
    b = [(e.start, e.end) for e in run(audio, frame=4096) if isinstance(e, Utterance)]
    assert a == b and len(a) == 2


def test_speech_started_comes_first(two):
    audio, _ = two
    evs = run(audio)
    assert isinstance(evs[0], SpeechStarted)
