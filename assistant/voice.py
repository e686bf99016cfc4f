"""Text to speech: pyttsx3 (espeak-ng) renders replies to samples in a worker process.

pyttsx3 is used only to render: save_to_file into an in-memory buffer, one utterance
per runAndWait(). We play the samples ourselves, so playback can stop at once. The
engine lives in its own process because espeak can be initialised only once per
process and pyttsx3's loop is known to hang; a render that takes too long kills the
worker and starts a fresh one instead of hanging Haven.
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import threading
import wave

import numpy as np

from assistant.audio import SAMPLE_RATE, resample
from assistant.errors import VoiceError

# espeak-ng voice ids per language; en-us because the crisis line given is the US one.
VOICES = {"en": "gmw/en-us", "nl": "gmw/nl"}
NATURAL = "natural"  # voice_en = "natural": Piper's joe voice (natural_voice.py), an optional extra
DEFAULT_RATE = 165  # words a minute: calmer than espeak's 175
RENDER_TIMEOUT = 15.0


class _Worker:
    """One voice_worker process, for one espeak voice."""

    def __init__(self, voice: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.voice_worker", voice],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": _package_parent()},
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exchange(self, text: str, rate: int) -> tuple[str, bytes, str]:
        """(status, wav bytes, detail), or a timeout/crash status."""
        proc = self.proc
        try:
            proc.stdin.write(json.dumps({"text": text, "rate": rate}).encode() + b"\n")
            proc.stdin.flush()
            header = _read_line(proc.stdout, RENDER_TIMEOUT)
            if header is None:
                return "timeout", b"", f"no answer in {RENDER_TIMEOUT:.0f} s"
            answer = json.loads(header)
            data = _read_exact(proc.stdout, answer["bytes"], RENDER_TIMEOUT)
            if data is None:
                return "timeout", b"", "the answer stopped half way"
            return answer["status"], data, answer["detail"]
        except (OSError, ValueError, KeyError) as e:
            return "crashed", b"", str(e) or type(e).__name__

    def kill(self) -> None:
        self.proc.kill()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(1)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


class Voice:
    """Renders text to 16 kHz float32 samples, in a language and at a speaking rate.

    Keeps a worker process per voice in use (see voice_worker for why).
    """

    def __init__(self, language: str, rate: int | None = None, voices: dict[str, str] | None = None):
        if language not in VOICES:
            raise VoiceError(f"no voice for language '{language}'; use en or nl")
        self.language = language
        self.rate = rate or DEFAULT_RATE
        self.voices = {**VOICES, **(voices or {})}
        self._chosen = set(voices or {})  # languages whose voice came from config.toml
        self._natural = None  # natural_voice.NaturalVoice, loaded on first use
        self._lock = threading.Lock()
        self._workers: dict[str, _Worker] = {}
        self.restarts = 0

    def _voice_id(self, language: str) -> str:
        voice = self.voices.get(language)
        if voice is None:
            raise VoiceError(f"no voice for language '{language}'; use en or nl")
        return voice

    def start(self, language: str | None = None) -> None:
        """Start a worker (or load the natural voice) now, so the first render does not wait."""
        language = language or self.language
        with self._lock:
            voice = self._voice_id(language)
            if voice == NATURAL:
                self._natural_voice(language)
            else:
                self._worker(voice)

    def _natural_voice(self, language: str):
        if language != "en":
            raise VoiceError(f"there is no natural voice for '{language}' yet; "
                             f"set voice_{language} to an espeak-ng voice (espeak-ng --voices={language})")
        if self._natural is None:
            from assistant.natural_voice import NaturalVoice

            self._natural = NaturalVoice()
        return self._natural

    def _worker(self, voice: str) -> _Worker:
        worker = self._workers.get(voice)
        if worker is None or not worker.alive():
            worker = self._workers[voice] = _Worker(voice)
        return worker

    def close(self) -> None:
        with self._lock:
            for worker in self._workers.values():
                worker.close()
            self._workers.clear()

    def render(self, text: str, language: str | None = None, rate: int | None = None) -> np.ndarray:
        """The samples of the spoken text; raises VoiceError if the voice is missing."""
        language = language or self.language
        voice = self._voice_id(language)
        rate = int(rate or self.rate)
        with self._lock:
            if voice == NATURAL:
                return self._natural_voice(language).render(text, rate)
            for _attempt in range(2):
                worker = self._worker(voice)
                status, data, detail = worker.exchange(text, rate)
                if status == "ok":
                    return _wav_bytes_to_samples(data)
                if status == "novoice":
                    raise VoiceError(f"espeak-ng has no voice '{voice}' for language '{language}' (got {detail}); "
                                     + self._novoice_fix(language))
                # A hang or a crash: start a fresh worker and try once more.
                self.restarts += 1
                worker.kill()
                self._workers.pop(voice, None)
            raise VoiceError(f"the speech engine failed twice ({status}: {detail}); check espeak-ng with: espeak-ng hello")


    def _novoice_fix(self, language: str) -> str:
        """A voice named in config.toml is fixed there; Haven's own default is missing only
        when espeak-ng's voice data is."""
        if language in self._chosen:
            from assistant.settings import config_path

            return (f"fix voice_{language} in {config_path()} (or delete that line); "
                    f"the voices there are: espeak-ng --voices={language}")
        return "install it with: sudo apt-get install espeak-ng"


def _package_parent() -> str:
    parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    existing = os.environ.get("PYTHONPATH")
    return parent + (os.pathsep + existing if existing else "")


def _wait_readable(stream, timeout: float) -> bool:
    return bool(select.select([stream], [], [], timeout)[0])


def _read_line(stream, timeout: float) -> bytes | None:
    line = b""
    while not line.endswith(b"\n"):
        if not _wait_readable(stream, timeout):
            return None
        byte = os.read(stream.fileno(), 1)
        if not byte:
            raise OSError("the voice worker exited")
        line += byte
    return line


def _read_exact(stream, n: int, timeout: float) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        if not _wait_readable(stream, timeout):
            return None
        chunk = os.read(stream.fileno(), min(1 << 16, n - got))
        if not chunk:
            raise OSError("the voice worker exited")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _wav_bytes_to_samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return resample(pcm, rate, SAMPLE_RATE)
