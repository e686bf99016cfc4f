"""Soak: a long session through the real command line, watching memory and the voice.

    python benchmarks/soak.py            # 300 utterances
    python benchmarks/soak.py --utterances 30

Builds one long recording of N spoken utterances (espeak-ng, several voices, 2 s
pauses), runs `haven listen --input REC --output OUT --json` on it, and samples the
process's resident memory (/proc/PID/status) each time a reply event arrives.
Prints: utterances spoken and answered, voice hangs (a reply with text but no audio),
RSS at the 20th and last reply and the growth between, and the run time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/speech.py

import numpy as np  # noqa: E402

from assistant.audio import write_wav  # noqa: E402
from speech import silence, speak  # noqa: E402

LINES = [
    "He was on his phone all through dinner again.",
    "I don't think I matter to her at all.",
    "When I try to talk about us he just walks out of the room.",
    "She promised she would come to the hospital and she never showed up.",
    "I keep yelling at him just to get some kind of reaction.",
    "I go completely numb and quiet when she starts criticising me.",
    "It's the same fight again and again, every single week.",
    "Nothing I do is ever good enough for him.",
    "I feel so alone, even when we're lying in the same bed.",
    "It's like my father all over again, he never listened either.",
    "I just keep busy so I don't have to feel anything.",
    "Why can't I just ask him for a hug?",
    "I'm so scared she's going to leave me.",
    "We will never fix this, I'm tired of trying.",
    "What's the weather like tomorrow?",
    "Can you say that again?",
    "He forgot my birthday and didn't even say sorry.",
    "She looked away when I was talking, and it hit me so hard.",
    "It's all his fault, he has to admit he was wrong.",
    "I hint and hint but I never actually ask for what I need.",
]
VOICES = ("en-us", "en-gb", "en-us+f3")


def build(n: int, path: Path) -> float:
    clips = {}
    pieces = [silence(0.5)]
    for i in range(n):
        key = (i % len(LINES), VOICES[(i // len(LINES)) % len(VOICES)])
        if key not in clips:
            clips[key] = speak(LINES[key[0]], key[1])
        pieces += [clips[key], silence(2.0)]
    audio = np.concatenate(pieces)
    write_wav(path, audio)
    return len(audio) / 16000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak(n: int, folder: Path) -> dict:
    rec, out = folder / "soak.wav", folder / "soak-out.wav"
    seconds = build(n, rec)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "listen", "--input", str(rec), "--output", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    replies, rss, silent = [], [], 0
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "reply":
            replies.append(event)
            rss.append(rss_mb(proc.pid))
            if event["reply"] and event["reply_start_s"] is None:
                silent += 1
    proc.wait()
    return {
        "utterances": n, "audio_s": seconds, "replies": len(replies), "exit": proc.returncode,
        "stderr": proc.stderr.read().strip()[-500:], "voice_missing": silent,
        "rss_20": rss[19] if len(rss) >= 20 else float("nan"), "rss_last": rss[-1] if rss else float("nan"),
        "run_s": time.monotonic() - started,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = soak(args.utterances, Path(tmp))
    print(f"utterances spoken   {r['utterances']} ({r['audio_s'] / 60:.1f} min of audio)")
    print(f"replies             {r['replies']}  (exit {r['exit']})")
    print(f"voice missing       {r['voice_missing']}")
    print(f"RSS at reply 20     {r['rss_20']:.0f} MB")
    print(f"RSS at last reply   {r['rss_last']:.0f} MB  (growth {r['rss_last'] - r['rss_20']:+.1f} MB)")
    print(f"run time            {r['run_s']:.0f} s ({r['audio_s'] / r['run_s']:.1f}x real time)")
    if r["stderr"]:
        print("stderr:", r["stderr"])


if __name__ == "__main__":
    main()
