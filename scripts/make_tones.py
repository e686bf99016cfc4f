"""Generate the soft tones that mark each phase change in guided breathing.

    python scripts/make_tones.py

Writes audio/tones/inhale.wav, hold.wav and exhale.wav: 0.25 s of a quiet sine with a
faint octave above it, a smooth 12 ms attack (soft, but a clear onset that tests can
find) and a raised-cosine decay, 16 kHz mono 16-bit (8 KB each). Rising pitch for the
breath in, middle for a hold, lower for the breath out. assistant.breathing loads them
from there; run this again only to change how they sound.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.audio import SAMPLE_RATE, write_wav  # noqa: E402

FOLDER = ROOT / "audio" / "tones"
TONES = {"inhale": 660.0, "hold": 550.0, "exhale": 440.0}  # Hz
SECONDS = 0.25
ATTACK = 0.012
PEAK = 0.22  # quiet: well under the voice


def tone(freq: float) -> np.ndarray:
    n = int(SECONDS * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    wave = np.sin(2 * np.pi * freq * t) + 0.15 * np.sin(2 * np.pi * 2 * freq * t)
    env = np.ones(n)
    a = int(ATTACK * SAMPLE_RATE)
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)  # raised-cosine attack
    d = n - a
    env[a:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(d) / d)  # raised-cosine decay to zero
    env[a:] *= np.exp(-3.0 * np.arange(d) / d)  # bell-like fall
    out = wave * env
    return (PEAK * out / np.max(np.abs(out))).astype(np.float32)


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, freq in TONES.items():
        path = FOLDER / f"{name}.wav"
        write_wav(path, tone(freq))
        print(f"{path.relative_to(ROOT)}: {freq:.0f} Hz, {SECONDS:.2f} s")


if __name__ == "__main__":
    main()
