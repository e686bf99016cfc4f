"""Input memory: peak resident memory of `haven listen --input` on a long recording.

    python benchmarks/input_memory.py                 # a 2-hour recording
    python benchmarks/input_memory.py --minutes 30

Writes a recording of the given length (16 kHz mono WAV, written in pieces so this
script holds little of it): one spoken utterance every five minutes, silence between.
Runs `haven listen --input REC --no-speak --json` on it and prints the decoded length,
the utterances answered, the peak RSS of the haven process (getrusage of the child),
and the run time. Budget (DESIGN.md, issue #14): under 600 MB peak for 2 hours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/speech.py

import numpy as np  # noqa: E402

from assistant.audio import to_pcm16  # noqa: E402
from assistant.settings import SAMPLE_RATE  # noqa: E402
from speech import speak  # noqa: E402

LINE = "He was on his phone all through dinner again."
EVERY_S = 300


def write_long(path: Path, minutes: float) -> int:
    """The recording, a minute at a time; returns the utterances in it."""
    said = speak(LINE)
    total = int(minutes * 60 * SAMPLE_RATE)
    utterances = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        for start in range(0, total, 60 * SAMPLE_RATE):
            minute = np.zeros(min(60 * SAMPLE_RATE, total - start), np.float32)
            if start % (EVERY_S * SAMPLE_RATE) == 0 and len(minute) > len(said) + SAMPLE_RATE:
                minute[SAMPLE_RATE:SAMPLE_RATE + len(said)] = said
                utterances += 1
            w.writeframes(to_pcm16(minute))
    return utterances


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "long.wav"
        spoken = write_long(rec, args.minutes)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "assistant", "listen", "--input", str(rec), "--no-speak",
                                 "--json"], capture_output=True, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = rec.stat().st_size / 1e6
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    answered = sum(e["event"] == "reply" for e in events)
    print(f"machine      {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"recording    {args.minutes:g} min, {size_mb:.0f} MB WAV, {spoken} utterances")
    print(f"exit code    {result.returncode}{'  ' + result.stderr.strip() if result.returncode else ''}")
    print(f"answered     {answered} of {spoken}")
    print(f"peak RSS     {peak_mb:.0f} MB (budget 600 MB)")
    print(f"run time     {seconds:.0f} s")
    return 0 if result.returncode == 0 and peak_mb < 600 else 1


if __name__ == "__main__":
    sys.exit(main())
