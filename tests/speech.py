"""Speech made with the espeak-ng command line: the bundled demo recordings and test input;
and the one word-error count that tests and benchmarks judge transcripts by.

Not Haven's own voice (that is pyttsx3, assistant.voice): this stands in for a person
talking, so the demo and the tests have real speech to listen to. Haven itself never
imports it (it lives with the tests; benchmarks and scripts put tests/ on sys.path).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from assistant.audio import from_pcm16, resample
from assistant.settings import SAMPLE_RATE

# espeak-ng voices that sound different from one another (and from Haven's gmw/en-us).
VOICES = {"en": ("en-us", "en-gb", "en-us+f3"), "nl": ("nl+m1", "nl", "nl+f2")}
# Whisper hears espeak's robotic Dutch far better when it is slow (measured: 130 wpm
# gave about half the word errors of 160).
SPEED = {"en": 160, "nl": 130}


def speak(text: str, voice: str = "en-us", speed: int | None = None) -> np.ndarray:
    """16 kHz float32 speech of the text."""
    speed = speed or SPEED["nl" if voice.startswith("nl") else "en"]
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: sudo apt-get install espeak-ng")
    data = subprocess.run([exe, "-v", voice, "-s", str(speed), "--stdout", text],
                          check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        # espeak writes its streaming WAV with a bogus length; read what is there.
        pcm = from_pcm16(data[44:])
    audio = resample(pcm, rate, SAMPLE_RATE)
    # espeak pads with silence; trim it so a span's ends are the speech's ends.
    loud = np.flatnonzero(np.abs(audio) > 1e-3)
    return audio[loud[0]:loud[-1] + 1] if len(loud) else audio


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)


def conversation(parts: list, gap: float = 2.5, lead: float = 0.5, tail: float = 2.0) -> tuple[np.ndarray, list]:
    """Utterances with pauses between them; returns the audio and each utterance's (start, end) in seconds.

    parts: texts, or (text, voice) pairs.
    """
    pieces, spans, t = [silence(lead)], [], lead
    for i, part in enumerate(parts):
        text, voice = (part, "en-us") if isinstance(part, str) else part
        speech = speak(text, voice)
        pieces.append(speech)
        spans.append((t, t + len(speech) / SAMPLE_RATE))
        t += len(speech) / SAMPLE_RATE
        if i < len(parts) - 1:
            pieces.append(silence(gap))
            t += gap
    pieces.append(silence(tail))
    return np.concatenate(pieces), spans


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words) after lowercasing and dropping punctuation (Levenshtein over
    words). conftest.wer uses this too."""
    from assistant.textnorm import basic_clean

    ref, hyp = basic_clean(reference).split(), basic_clean(hypothesis).split()
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)], len(ref)
