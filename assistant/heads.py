"""Small trained classifiers ("heads"): a linear layer and a softmax, predicted in numpy.

A head reads a dense feature vector (the encoder's 512 numbers, or for the stacked
decision a few dozen numbers from the word matcher and a meaning head) and, for the
meaning heads, the hashed spelling pieces of assistant.ngrams beside it:

    softmax(((x - mean) / scale) @ W + sum of the rows of H for the text's pieces + b)

or, for a head with a hidden layer (the safety head's second opinion), softmax(relu(x @ W1
+ b1) @ W + b) on the dense vector alone.

Predicting is one small matrix product and a few hundred row lookups (well under a
millisecond). Fitting happens once, offline, in scripts/build_heads.py (scikit-learn's
logistic regression); the weights are .npz files inside the package (assistant/weights/)
with the class names, the decision thresholds and the training data's digest beside them.
Only the rows of H that training ever touched are stored.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import ModelError

REBUILD = "reinstall Haven (or rebuild the heads: python scripts/build_heads.py)"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def agree(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Two heads' probabilities combined: their normalised geometric mean (a class needs
    both to find it likely; on validation data it beat either head and their average)."""
    g = np.sqrt(np.clip(p, 1e-9, 1.0) * np.clip(q, 1e-9, 1.0))
    return g / g.sum(axis=-1, keepdims=True)


@contextlib.contextmanager
def weights_file(path: Path):
    """An .npz of trained weights, open; a missing or damaged file is a ModelError that says
    what to do (Haven does not run with half its safety net)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            yield z
    except FileNotFoundError:
        raise ModelError(f"{path}: a trained head is missing; {REBUILD}") from None
    except Exception as e:  # zip, npy, json: any damage reads as one of many errors
        raise ModelError(f"{path}: a trained head is damaged ({type(e).__name__}); {REBUILD}") from None


@dataclass
class Head:
    classes: list[str]
    W: np.ndarray
    """(d, k) weights of the dense features."""
    b: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    hash_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Sorted bucket numbers (assistant.ngrams) that have weights, and their (m, k) weights."""
    hash_W: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    W1: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    """(d, h) weights of a hidden layer (relu), or empty; with it, W is (h, k)."""
    b1: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    meta: dict = field(default_factory=dict)
    """Thresholds and provenance (training data digest, row counts), from the build script."""

    def proba(self, x: np.ndarray, hashed: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Class probabilities for one dense vector (d,), with the text's hashed pieces
        (columns, values) when this head reads spelling."""
        return self.proba_many(np.asarray(x)[None], None if hashed is None else [hashed])[0]

    def proba_many(self, x: np.ndarray, hashed: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """Class probabilities for several dense vectors (m, d) at once (whisper's readings of
        one utterance: one matrix product instead of m), with each text's hashed pieces."""
        x = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        if self.W1.size:
            x = np.maximum(x @ self.W1 + self.b1, 0.0)
        z = x @ self.W + self.b
        if hashed is not None and len(self.hash_rows):
            for row, (cols, vals) in zip(z, hashed):
                at = np.searchsorted(self.hash_rows, cols)
                at = np.minimum(at, len(self.hash_rows) - 1)
                known = self.hash_rows[at] == cols
                row += vals[known] @ self.hash_W[at[known]]
        return softmax(z)

    def index(self, name: str) -> int:
        return self.classes.index(name)

    # -- files ----------------------------------------------------------------

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, W=self.W.astype(np.float32), b=self.b.astype(np.float32),
            mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
            hash_rows=self.hash_rows.astype(np.int64), hash_W=self.hash_W.astype(np.float32),
            W1=self.W1.astype(np.float32), b1=self.b1.astype(np.float32), classes=np.array(self.classes), meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path) -> "Head":
        with weights_file(path) as z:
            head = cls(
                classes=[str(c) for c in z["classes"]], W=z["W"], b=z["b"], mean=z["mean"],
                scale=z["scale"], hash_rows=z["hash_rows"], hash_W=z["hash_W"],
                W1=z["W1"] if "W1" in z.files else np.zeros((0, 0), np.float32),  # linear heads need none
                b1=z["b1"] if "b1" in z.files else np.zeros(0, np.float32),
                meta=json.loads(str(z["meta"])),
            )
        k = len(head.classes)
        d = head.W1.shape[0] if head.W1.size else head.W.shape[0]
        good = (head.W.ndim == 2 and head.W.shape[1] == k and head.b.shape == (k,)
                and head.mean.shape == (d,) and head.scale.shape == (d,)
                and (not head.W1.size or (head.W1.shape[1] == head.W.shape[0] and head.b1.shape == (head.W.shape[0],)))
                and (len(head.hash_rows) == 0 or head.hash_W.shape == (len(head.hash_rows), k))
                and all(np.all(np.isfinite(a)) for a in (head.W, head.b, head.hash_W, head.W1, head.b1)))
        if not good:
            raise ModelError(f"{path}: a trained head has malformed weights; {REBUILD}")
        return head
