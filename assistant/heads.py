"""Small trained classifiers ("heads") over sentence vectors: fit once, predict fast.

A head is multinomial logistic regression, softmax(x @ W + b), on a feature vector:
the encoder's 512 numbers for the safety and meaning heads, and a few dozen stacked
numbers (the word matcher's scores beside a meaning head's probabilities) for the
decision that combines the two. Plain numpy on both sides: predicting is one small
matrix product (microseconds), and fitting is deterministic full-batch gradient
descent from zero weights, so the same training data gives the same weights
(scripts/build_heads.py builds them; tests check that a rebuild decides alike).

Weights are saved as .npz files inside the package (assistant/weights/), with the
class names and the decision thresholds beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import ModelError


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Head:
    """softmax(x @ W + b) over named classes, with its decision thresholds."""

    classes: list[str]
    W: np.ndarray
    b: np.ndarray
    mean: np.ndarray
    """Subtracted from the features before W (standardising the stacked features)."""
    scale: np.ndarray
    meta: dict = field(default_factory=dict)
    """Thresholds and provenance (training data hash, sizes), from the build script."""

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for one feature vector (k,) or a batch (n, k)."""
        x = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        return softmax(x @ self.W + self.b)

    def index(self, name: str) -> int:
        return self.classes.index(name)

    # -- files ----------------------------------------------------------------

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, W=self.W.astype(np.float32), b=self.b.astype(np.float32),
            mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
            classes=np.array(self.classes), meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path) -> "Head":
        try:
            with np.load(path, allow_pickle=False) as z:
                head = cls(
                    classes=[str(c) for c in z["classes"]], W=z["W"], b=z["b"], mean=z["mean"],
                    scale=z["scale"], meta=json.loads(str(z["meta"])),
                )
        except FileNotFoundError:
            raise ModelError(f"{path}: a trained head is missing; reinstall Haven "
                             "(or rebuild it: python scripts/build_heads.py)") from None
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
            raise ModelError(f"{path}: a trained head is damaged ({type(e).__name__}); reinstall Haven "
                             "(or rebuild it: python scripts/build_heads.py)") from None
        k = len(head.classes)
        if head.W.ndim != 2 or head.W.shape[1] != k or head.b.shape != (k,) or \
                head.mean.shape != (head.W.shape[0],) or not np.all(np.isfinite(head.W)):
            raise ModelError(f"{path}: a trained head has malformed weights; reinstall Haven "
                             "(or rebuild it: python scripts/build_heads.py)")
        return head


def fit(x: np.ndarray, y: np.ndarray, classes: list[str], *, l2: float = 1e-3,
        weights: np.ndarray | None = None, steps: int = 600, standardise: bool = False,
        meta: dict | None = None) -> Head:
    """Multinomial logistic regression by full-batch gradient descent with momentum.

    x: (n, d) features; y: (n,) class indices; weights: per-row weights (class
    balance). Deterministic: zero initial weights, no sampling.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    k = len(classes)
    mean = x.mean(axis=0) if standardise else np.zeros(d)
    scale = x.std(axis=0) + 1e-6 if standardise else np.ones(d)
    xs = (x - mean) / scale
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    W = np.zeros((d, k))
    b = np.zeros(k)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    # The loss is smooth with curvature at most about max|x|^2 / 2: a safe step.
    lr = 1.0 / (0.5 * float(np.max(np.sum(xs * xs, axis=1))) + l2)
    momentum = 0.9
    for _ in range(steps):
        # Nesterov: the gradient at the look-ahead point.
        Wl, bl = W + momentum * vW, b + momentum * vb
        p = softmax(xs @ Wl + bl)
        g = (p - onehot) * w[:, None]
        gW = xs.T @ g + l2 * Wl
        gb = g.sum(axis=0)
        vW = momentum * vW - lr * gW
        vb = momentum * vb - lr * gb
        W, b = W + vW, b + vb
    return Head(list(classes), W.astype(np.float32), b.astype(np.float32),
                mean.astype(np.float32), scale.astype(np.float32), dict(meta or {}))


def balanced_weights(y: np.ndarray, k: int, power: float = 1.0) -> np.ndarray:
    """Row weights that make each class count alike (power 1) or partly so (0 < power < 1)."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    per_class = (counts.sum() / np.maximum(counts, 1)) ** power
    return per_class[y]
