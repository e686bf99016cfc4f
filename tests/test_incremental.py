"""Incremental transcription on the real model: work starts before the end-point, and
what the person said comes out as whole as in one pass."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.events import ReplyEvent
from assistant.pipeline import run as run_pipeline
from assistant.session import SessionSettings
from assistant.settings import SAMPLE_RATE
from assistant.source import ArraySource
from assistant.transcriber import InlineASR
from conftest import wer
from speech import silence, speak

LONG = ["I tried to tell him how lonely I have been.", "He just turned on the television and ignored me.",
        "Later he said I was being dramatic.", "I don't know how to reach him anymore."]
SHORT = ["He came home late again without calling.", "I waited up for hours and he didn't care."]


def utterance(sentences: list[str]) -> np.ndarray:
    pieces = [silence(0.5)]
    for k, sentence in enumerate(sentences):
        if k:
            pieces.append(silence(0.5))  # a short pause inside the utterance: a chunk closes
        pieces.append(speak(sentence, "en-us"))
    return np.concatenate(pieces + [silence(2.5)])


class RecordingASR(InlineASR):
    """The real InlineASR, noting when each job was submitted (session clock, seconds)."""

    def __init__(self, transcriber):
        super().__init__(transcriber)
        self.submitted: list[float] = []

    def submit(self, audio, language, now_s):
        self.submitted.append(now_s)
        return super().submit(audio, language, now_s)


def run(stages, audio: np.ndarray, incremental: bool):
    replies: list[ReplyEvent] = []
    asr = RecordingASR(stages.transcriber)
    run_pipeline(ArraySource(audio), stages, None, lambda e: replies.append(e) if isinstance(e, ReplyEvent) else None,
                 SessionSettings(incremental=incremental, speak=False), asr)
    assert len(replies) == 1, [r.transcript for r in replies]
    return replies[0], asr.submitted


@pytest.fixture(scope="module")
def long_audio():
    return utterance(LONG)


def test_long_utterance_is_transcribed_while_the_person_speaks(stages, long_audio):
    reply, submitted = run(stages, long_audio, incremental=True)
    # A part went to the model before the person stopped speaking...
    assert min(submitted) < reply.end_s, (submitted, reply.end_s)
    # ...and the transcript is still the whole utterance.
    assert wer(" ".join(LONG), reply.transcript) <= 0.15, reply.transcript
    assert reply.kind == "reflection"


def test_one_pass_does_all_the_work_after_the_end_point(stages, long_audio):
    reply, submitted = run(stages, long_audio, incremental=False)
    assert submitted and min(submitted) > reply.end_s
    assert wer(" ".join(LONG), reply.transcript) <= 0.15, reply.transcript


def test_utterance_shorter_than_min_chunk_is_heard_as_in_one_pass(stages):
    """Below min_chunk the last guess covers the whole utterance, so nothing is cut and
    the transcript is word for word the one-pass transcript (decoding is deterministic)."""
    audio = utterance(SHORT)
    assert len(audio) / SAMPLE_RATE - 3.0 < SessionSettings().min_chunk
    early, submitted = run(stages, audio, incremental=True)
    late, _ = run(stages, audio, incremental=False)
    assert len(submitted) >= 2  # a guess after the first sentence, dropped when speech went on
    assert early.transcript == late.transcript
