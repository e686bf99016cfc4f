"""Speech to text with faster-whisper, loaded once from a local folder; and how it is run.

Settings come from measurements on 2-core CPUs (ASR-NOTES): int8, beam 5 at
temperature 0 (greedy decoding loops on Dutch), no conditioning on earlier text,
and no_repeat_ngram_size=3 for Dutch. Whisper invents text on near-silence ("thanks
for watching"); segments the model itself thinks are not speech are dropped, and so
are the stock phrases it hallucinates.

How the transcriber is run is the one thing live and file mode do differently:
ThreadASR on a worker thread (the microphone keeps being heard), InlineASR at once,
with the measured time placed on the recording's clock as the thread would have run
it. Incremental does the bookkeeping of an utterance's parts for either.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

# HF_HUB_OFFLINE is set in assistant/__init__.py: with a folder that holds
# tokenizer.json nothing is fetched, and it makes any hub code path fail offline.

import numpy as np

from assistant.errors import HavenError, ModelError
from assistant.models import ResolvedModel
from assistant.readings import ASK_GAP, Reading, read_otherwise
from assistant.settings import SAMPLE_RATE
from assistant.textnorm import basic_clean


# Whisper's stock hallucinations on silence and noise (subtitle credits from its
# training data). An utterance that is only one of these is treated as no speech. The
# thanks must be the whole utterance: a person's "Thank you for listening. I don't want to
# live anymore." is speech, and was once dropped whole by a prefix match. The credits keep
# a prefix match, since a name follows them and nobody starts a sentence with them. "Bye" is
# not among the lone words: it is how a person may end the session (it was, without its
# full stop only, so "Bye." ended a session and "Bye!" went unheard).
_HALLUCINATIONS = re.compile(
    r"^(?:(?:thank you|thanks)(?: so much)?(?: for (?:watching|listening))?"
    r"(?: and (?:please |dont forget to )?subscribe)?\.? ?)+$|"
    r"^(please )?subscribe|^subtitles by|^ondertiteling|^ondertiteld door|"
    r"^bedankt voor het (kijken|luisteren)\.?$|^(you|oh|so|uh|um|mm+|hmm+|mhm|uh huh|ah|eh|ehm)$|^amara\.org",
)


def is_hallucination(text: str) -> bool:
    """Only one of whisper's stock phrases, nothing a person said around it."""
    return bool(_HALLUCINATIONS.match(re.sub(r"[^\w\s.]", "", text.lower()).strip()))


def _repair_hint(model: ResolvedModel) -> str:
    from assistant.models import cache_dir

    if model.path.is_relative_to(cache_dir()):  # a reinstall never touches the cache
        return f"delete the folder {model.path} and start Haven again (it is rebuilt from the installed packages)"
    return "reinstall it or pass another --model"


def is_garbage(text: str) -> bool:
    """Not words: no letter at all, or one character repeated ("))))))", what a damaged model
    says). Such a transcript is treated as not heard, never answered as speech."""
    chars = set(text.replace(" ", ""))
    return bool(text) and (not any(c.isalpha() for c in text) or (len(chars) == 1 and len(text) > 3))


# Whisper's beam search ends with five readings of the audio; the best is the transcript.
# The others within readings.ASK_GAP of it are kept for the safety check (readings.py).
HYPOTHESES = 5


@dataclass
class Transcript:
    text: str
    language: str
    seconds: float
    """Wall time the transcription took."""
    alternatives: tuple[Reading, ...] = ()
    """Other readings nearly as likely as `text` (readings.ASK_GAP), for the safety check only."""


class _KeepReadings:
    """Stands in for faster-whisper's ctranslate2 model so that beam search returns all its
    readings, not only the best (faster-whisper 1.x neither asks for nor returns them). It
    changes nothing else: faster-whisper still takes the first, best reading. Per thread,
    as one model serves two transcribing threads."""

    def __init__(self, model):
        self._model = model
        self._calls = threading.local()

    def __getattr__(self, name):
        return getattr(self._model, name)

    def start(self) -> None:
        self._calls.readings = []

    def readings(self) -> list[list[tuple[list[int], float]]]:
        """Per generate call since start(): each reading's tokens and score, best first."""
        return getattr(self._calls, "readings", [])

    def generate(self, *args, **kwargs):
        if kwargs.get("beam_size", 1) >= HYPOTHESES:
            kwargs["num_hypotheses"] = HYPOTHESES
        results = self._model.generate(*args, **kwargs)
        if hasattr(self._calls, "readings"):
            self._calls.readings.append([(list(ids), float(score)) for ids, score
                                         in zip(results[0].sequences_ids, results[0].scores)])
        return results


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
                             f"{_repair_hint(model)}") from None
        self.load_seconds = time.perf_counter() - started
        self.resolved = model
        self._readings = self.model.model = _KeepReadings(self.model.model)
        self._tokenizers: dict[str, object] = {}
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
        if language == "auto":
            language, _probability = self.detect_language(audio)
        self._readings.start()
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
        segments = list(segments)  # decoding happens here, one generate call per segment
        kept = []
        for seg in segments:
            # Whisper's own "this is not speech" signal, combined with low confidence.
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -0.8:
                kept.append(None)
                continue
            kept.append(seg.text.strip())
        text = " ".join(t for t in kept if t).strip()
        if is_garbage(text) or is_hallucination(text):
            return Transcript("", language, time.perf_counter() - started)
        return Transcript(text, language, time.perf_counter() - started,
                          self._alternatives(kept, self._readings.readings(), language))

    def _alternatives(self, kept: list[str | None], readings, language: str) -> tuple[Reading, ...]:
        """The whole transcript again with one segment read otherwise, for each reading of a
        kept segment within readings.ASK_GAP of that segment's best, with its gap; no repeats,
        and none that reads as the transcript itself."""
        if len(readings) != len(kept):
            return ()  # not one call per segment: nothing to pair up, so no guesses
        tokenizer = self._tokenizer(language)
        near_ties = [tuple(Reading(tokenizer.decode(ids).strip(), round(calls[0][1] - score, 4))
                           for ids, score in calls[1:] if score >= calls[0][1] - ASK_GAP)
                     if segment and calls else () for segment, calls in zip(kept, readings)]
        seen = {basic_clean(" ".join(t for t in kept if t))}
        out = []
        for whole in read_otherwise(kept, near_ties):
            if basic_clean(whole.text) not in seen and not is_garbage(whole.text):
                seen.add(basic_clean(whole.text))
                out.append(whole)
        return tuple(out)

    def _tokenizer(self, language: str):
        if language not in self._tokenizers:
            from faster_whisper.tokenizer import Tokenizer
            self._tokenizers[language] = Tokenizer(self.model.hf_tokenizer, self.multilingual,
                                                   task="transcribe", language=language)
        return self._tokenizers[language]


# ---------------------------------------------------------------------------
# Running it: the same session with either runner.


@dataclass
class Part:
    """A transcribed part of an utterance."""

    text: str
    ready_s: float
    """When its transcript is ready, on the session clock."""
    wall_s: float
    language: str
    alternatives: tuple[Reading, ...] = ()


def alternatives(parts: list[Part]) -> tuple[Reading, ...]:
    """The utterance as a whole, with one part read otherwise (Transcript.alternatives)."""
    return tuple(read_otherwise([p.text for p in parts], [p.alternatives for p in parts]))


class InlineASR:
    """File mode: transcribe at once, and place the measured time on the recording's clock
    as if a worker thread had started the job when the chunk closed (or when it was free)."""

    def __init__(self, transcriber):
        self.transcriber = transcriber
        self._free_s = 0.0

    def submit(self, audio: np.ndarray, language: str, now_s: float) -> Part:
        t = self.transcriber.transcribe(audio, language)
        start = max(now_s, self._free_s)
        self._free_s = start + t.seconds
        return Part(t.text, self._free_s, t.seconds, t.language, t.alternatives)

    def collect(self, handle: Part, decided_s: float) -> Part:
        return handle

    def drop(self, handle: Part, now_s: float) -> None:
        """A job no longer wanted: if the worker would not have started it yet, it never runs."""
        if handle.ready_s == self._free_s and handle.ready_s - handle.wall_s >= now_s:
            self._free_s -= handle.wall_s

    def close(self) -> None:
        pass


class ThreadASR:
    """Live: one worker thread transcribes chunks while the loop keeps listening."""

    def __init__(self, transcriber):
        from concurrent.futures import ThreadPoolExecutor

        self.transcriber = transcriber
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="haven-asr")

    def submit(self, audio: np.ndarray, language: str, now_s: float):
        return self._pool.submit(self.transcriber.transcribe, audio, language)

    def collect(self, handle, decided_s: float) -> Part:
        started = time.perf_counter()
        t = handle.result()
        return Part(t.text, decided_s + (time.perf_counter() - started), t.seconds, t.language, t.alternatives)

    def drop(self, handle, now_s: float) -> None:
        handle.cancel()  # only if it has not started; a running transcription cannot be stopped

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Incremental:
    """An utterance's transcription, started before its end-point.

    The endpointer closes a chunk at each short pause. Chunks gathered to at least
    `min_chunk` seconds go to the runner for good while the person keeps talking. A
    shorter run is sent too, as a guess that the person has finished, and dropped if
    they go on (its chunks then go out again with the next one). So at the end-point
    only the last chunks are left, already being transcribed since the first 300 ms
    of the silence. With incremental=False everything waits for the end-point.
    """

    def __init__(self, runner, language: str, min_chunk: float, incremental: bool = True):
        self.runner = runner
        self.language = language
        self.min_chunk = min_chunk
        self.incremental = incremental
        self.start()

    def start(self) -> None:
        """A new utterance."""
        self._parts: list = []  # runner handles, in order
        self._pending: list[np.ndarray] = []
        self._guess = None  # a job on exactly the pending chunks, in case the last of them ends it

    def chunk(self, audio: np.ndarray, now_s: float) -> None:
        if self._guess is not None:
            # Speech went on after the guess: its chunks go out again with this one.
            self.runner.drop(self._guess, now_s)
            self._guess = None
        self._pending.append(audio)
        if not self.incremental:
            return
        if sum(len(a) for a in self._pending) / SAMPLE_RATE >= self.min_chunk:
            self._send(now_s)
        else:
            # Too short to send for good, but this chunk may be the last: the end-point is
            # declared only after the rest of the pause, and a short last chunk would
            # otherwise wait for it and cost a whole transcription after it.
            self._guess = self.runner.submit(np.concatenate(self._pending), self.language, now_s)

    def _send(self, now_s: float) -> None:
        if not self._pending:
            return
        if self._guess is not None:  # the guess was on exactly these chunks
            job, self._guess = self._guess, None
        else:
            job = self.runner.submit(np.concatenate(self._pending), self.language, now_s)
        self._pending = []
        self._parts.append(job)

    def finish(self, decided_s: float) -> list[Part]:
        """The end-point: send what is left, and wait for every part."""
        self._send(decided_s)
        parts = [self.runner.collect(h, decided_s) for h in self._parts]
        self.start()
        return parts
