"""The spelling of what was heard, as numbers: hashed character n-grams.

The sentence encoder (assistant.encoder) knows meaning but can be thrown by one odd
word; the spelling of the words carries what it smooths over ("pills" inside
"sleeping bills", "leven" inside "meer even" is gone, but "slaap", "pil", "brug"
remain). Each word, padded with spaces, is cut into its 2- to 5-letter pieces (as
scikit-learn's char_wb analyser does); each piece is hashed (crc32, stable across
runs and machines) into one of BUCKETS columns; counts are damped (1 + log) and the
row scaled to length 1. A head reads these beside the encoder's vector.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

BUCKETS = 1 << 17
SIZES = (2, 3, 4, 5)


def pieces(text: str) -> list[str]:
    out: list[str] = []
    for word in text.split():
        out.extend(_word_pieces(word))
    return out


def _word_pieces(word: str) -> list[str]:
    w = f" {word} "
    return [w[i:i + n] for n in SIZES if n <= len(w) for i in range(len(w) - n + 1)]


@lru_cache(maxsize=1 << 15)
def _word_columns(word: str) -> tuple[int, ...]:
    """One word's hashed pieces (a word's pieces do not depend on its neighbours, and
    whisper's readings of an utterance share most of their words)."""
    return tuple(zlib.crc32(p.encode("utf-8")) % BUCKETS for p in _word_pieces(word))


def hashed(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of one text's sparse row, columns sorted, values of length 1."""
    counts: dict[int, int] = {}
    for word in text.split():
        for col in _word_columns(word):
            counts[col] = counts.get(col, 0) + 1
    if not counts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    cols = np.fromiter(sorted(counts), np.int64, len(counts))
    vals = 1.0 + np.log(np.array([counts[c] for c in cols], np.float32))
    return cols, (vals / np.linalg.norm(vals)).astype(np.float32)
