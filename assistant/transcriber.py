"""Speech to text with faster-whisper, loaded once from a local folder.

Settings come from measurements on 2-core CPUs (ASR-NOTES): int8, beam 5 at
temperature 0 (greedy decoding loops on Dutch), no conditioning on earlier text,
and no_repeat_ngram_size=3 for Dutch. Whisper invents text on near-silence ("thanks
for watching"); segments the model itself thinks are not speech are dropped, and so
are the stock phrases it hallucinates.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

# HF_HUB_OFFLINE is set in assistant/__init__.py: with a folder that holds
# tokenizer.json nothing is fetched, and it makes any hub code path fail offline.

import numpy as np

from assistant.errors import HavenError, ModelError
from assistant.models import ResolvedModel

SAMPLE_RATE = 16_000

# Whisper's stock hallucinations on silence and noise (subtitle credits from its
# training data). An utterance that is only one of these is treated as no speech.
_HALLUCINATIONS = re.compile(
    r"^(thank you|thanks)( so much)?( for watching| for listening)?|"
    r"^(please )?subscribe|^subtitles by|^ondertiteling|^ondertiteld door|"
    r"^bedankt voor het (kijken|luisteren)|^(you|bye|oh|so|uh|um|mm+|hmm+|mhm|uh huh|ah|eh|ehm)$|^amara\.org",
)


@dataclass
class Transcript:
    text: str
    language: str
    language_probability: float
    seconds: float


class Transcriber:
    """One WhisperModel, warmed once, shared by every utterance."""

    def __init__(self, model: ResolvedModel, language: str = "en", threads: int = 2):
        if language not in ("en", "nl", "auto"):
            raise HavenError(f"unknown language '{language}'; use en, nl or auto")
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:  # pragma: no cover - broken install
            raise ModelError(f"faster-whisper is not installed ({e}); run: pip install faster-whisper") from None
        started = time.perf_counter()
        try:
            self.model = WhisperModel(
                str(model.path), device="cpu", compute_type="int8", cpu_threads=threads,
                num_workers=2, local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(f"could not load the speech model from {model.path}: {str(e).splitlines()[0]}; "
                             "reinstall it or pass another --model") from None
        self.load_seconds = time.perf_counter() - started
        self.resolved = model
        self.multilingual = bool(self.model.model.is_multilingual)
        if not self.multilingual and language != "en":
            raise ModelError(f"the model '{model.name}' understands English only; use --model base for '{language}'")
        self.language = language

    def warm_up(self) -> None:
        """One call on a second of quiet noise, so the first real utterance is not slow."""
        noise = np.random.default_rng(0).normal(0, 0.001, SAMPLE_RATE).astype(np.float32)
        self.transcribe(noise)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """English or Dutch, whichever whisper finds more likely (other languages ignored)."""
        if not self.multilingual:
            return "en", 1.0
        _, _, probs = self.model.detect_language(audio)
        table = dict(probs)
        en, nl = table.get("en", 0.0), table.get("nl", 0.0)
        total = (en + nl) or 1.0
        return ("nl", nl / total) if nl > en else ("en", en / total)

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        started = time.perf_counter()
        language = language or self.language
        probability = 1.0
        if language == "auto":
            language, probability = self.detect_language(audio)
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=5,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            no_repeat_ngram_size=3 if language == "nl" else 0,
            vad_filter=False,  # the endpointer already cut the speech out
        )
        kept = []
        for seg in segments:
            # Whisper's own "this is not speech" signal, combined with low confidence.
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -0.8:
                continue
            kept.append(seg.text.strip())
        text = " ".join(t for t in kept if t).strip()
        if _HALLUCINATIONS.match(re.sub(r"[^\w\s.]", "", text.lower()).strip()):
            text = ""
        return Transcript(text, language, probability, time.perf_counter() - started)
