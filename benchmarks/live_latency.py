"""Black-box latency on a virtual sound card: from the end of the person's speech to the first
sound of Haven's reply, as a listener in the room would time it.

    python benchmarks/live_latency.py                       # 12 English utterances, pause 1.2 s
    python benchmarks/live_latency.py --language nl --utterances 12
    python benchmarks/live_latency.py --pause 0.8 --keep /tmp/live   # keep the recording and speech files

Needs PulseAudio (Debian: pulseaudio pulseaudio-utils libasound2-plugins) and espeak-ng.

How: PulseAudio runs as an ordinary process (tests/soundcard.py) with two null sinks,
`vspeaker` (the speakers) and `vmic_in` (whose monitor is the microphone), and a combined
sink `user_out` that plays into both. `haven listen --json` runs unchanged as a
subprocess with the card's environment: it hears vmic_in.monitor and plays to vspeaker.
Each utterance (espeak-ng venting speech of about 3, 6 and 12 seconds) is played into
`user_out`, so the person's speech reaches Haven's microphone *and* lands on the
speaker recording; Haven's voice goes only to the speakers, never into the microphone.
One recording of vspeaker.monitor thus holds the person and Haven on one timeline.
Where each utterance sits in the recording is found by cross-correlating the recording
with the speech file; its end is that position plus the speech's known length. The
reply's onset is the first sound after it. The next utterance is played only after the
reply event has arrived and the reply has had time to finish.

The figure includes the configured pause (the silence Haven waits for before deciding
that the person has finished, 1.2 s by default) and PulseAudio's buffering (measured
16-34 ms); the budget is pause + 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for p in (ROOT, ROOT / "tests", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import numpy as np  # noqa: E402

from assistant.audio import SAMPLE_RATE, read_recording, write_wav  # noqa: E402
from speech import VOICES, silence, speak  # noqa: E402
from latency import GAPS, TEXTS, cpu_name  # noqa: E402

LEAD, TAIL = 0.15, 0.15  # silence around the speech inside each played file
ONSET_LEVEL = 0.01  # |sample| above this after the speech is Haven talking (the card is digitally silent)


def utterances(language: str, count: int) -> list[tuple[str, np.ndarray, str]]:
    """(text, speech, voice) in the order 3, 6, 12 s, 3, 6, 12 s, ... with varied voices."""
    texts = TEXTS[language]
    buckets = sorted(texts)
    out = []
    for n in range(count):
        bucket = buckets[n % len(buckets)]
        i = (n // len(buckets)) % len(texts[bucket])
        voice = VOICES[language][n % len(VOICES[language])]
        sentences = texts[bucket][i]
        pieces = []
        for k, sentence in enumerate(sentences):
            if k:
                pieces.append(silence(GAPS[(i + k) % len(GAPS)]))
            pieces.append(speak(sentence, voice))
        out.append((" ".join(sentences), np.concatenate(pieces), voice))
    return out


class Haven:
    """`python -m assistant listen --json` on the card; its events arrive on a queue."""

    def __init__(self, env: dict, args: list[str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "listen", "--json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip().startswith("{"):
                self.events.put(json.loads(line))

    def wait_for(self, name: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                e = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise SystemExit(f"haven exited with {self.proc.returncode}: {''.join(self.stderr)[-2000:]}")
                continue
            if e.get("event") == name:
                return e
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _smooth(x: np.ndarray, k: int = 8) -> np.ndarray:
    """A gentle low-pass (about 2 kHz): the sound server's resamplers shift the signal by a
    fraction of a sample, which decorrelates the highest frequencies."""
    return np.convolve(x, np.ones(k, np.float32) / k, mode="same").astype(np.float32)


def locate(recording: np.ndarray, template: np.ndarray, after: int = 0, before: int | None = None) -> tuple[int, float]:
    """Where the template starts in recording[after:before] (FFT cross-correlation of low-passed
    signals) and how well it matches there (normalised correlation, 0-1)."""
    recording, template = _smooth(recording[:before]), _smooth(template)
    x = recording[after:]
    if len(x) < len(template):
        return -1, 0.0
    n = 1 << int(np.ceil(np.log2(len(x) + len(template))))
    corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(template, n)), n)[: len(x) - len(template) + 1]
    k = int(np.argmax(corr))
    seg = x[k:k + len(template)]
    score = float(np.dot(seg, template) / (np.linalg.norm(seg) * np.linalg.norm(template) + 1e-12))
    return after + k, score


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=12, help="how many (at least 10 for the issue's figure)")
    parser.add_argument("--language", choices=("en", "nl"), default="en")
    parser.add_argument("--pause", type=float, default=1.2, help="Haven's --pause (the figure includes it)")
    parser.add_argument("--model", default=None, help="Haven's --model (default: the default model)")
    parser.add_argument("--keep", help="keep the recording and the played files in this folder")
    args = parser.parse_args(argv)

    from soundcard import SoundCard

    if not SoundCard.available():
        print("needs PulseAudio: sudo apt-get install pulseaudio pulseaudio-utils libasound2-plugins", file=sys.stderr)
        return 2
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="haven-live-latency-"))
    folder.mkdir(parents=True, exist_ok=True)

    print(f"Haven live latency on a virtual sound card, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    items = utterances(args.language, args.utterances)
    files = []
    for n, (text, speech, voice) in enumerate(items):
        path = folder / f"said_{n:02d}.wav"
        write_wav(path, np.concatenate([silence(LEAD), speech, silence(TAIL)]))
        files.append(path)

    # The card comes up before anything could import sounddevice (PortAudio lists devices once).
    card = SoundCard(folder / "pulse").start()
    haven = rec = None
    rows = []
    try:
        extra = ["--language", args.language, "--pause", str(args.pause)] + (["--model", args.model] if args.model else [])
        started = time.perf_counter()
        haven = Haven(card.env, extra)
        listening = haven.wait_for("listening", timeout=120)
        if listening is None:
            raise SystemExit("haven never said it was listening")
        print(f"haven listen: listening {time.perf_counter() - started:.2f} s after start "
              f"(its own start-up {listening.get('startup_ms')} ms), model {listening.get('model')}, "
              f"language {args.language}, pause {args.pause} s")
        recording = folder / "speaker.wav"
        rec = card.record_speaker(recording, "vspeaker.monitor")
        time.sleep(0.6)  # the recorder's first data before anything plays
        events = []
        for n, path in enumerate(files):
            card.play_into_mic(path, device="user_out").wait()
            reply = haven.wait_for("reply", timeout=60)
            events.append(reply)
            if reply is None:
                print(f"  utterance {n + 1}: no reply within 60 s")
                time.sleep(2)
                continue
            length = (reply["reply_end_s"] - reply["reply_start_s"]) if reply.get("reply_end_s") else 3.0
            time.sleep(length + 1.0)  # let the reply finish before the person speaks again
        time.sleep(0.5)
        rec.send_signal(signal.SIGINT)
        rec.wait(10)
        rec = None
        haven.stop()

        audio = read_recording(recording)
        after = 0
        print(f"\n{'#':>2} {'speech':>6} {'voice':9s} {'match':>5} {'speech ends':>11} {'reply starts':>12} "
              f"{'latency':>8} {'− pause':>8}   {'haven: endpoint→audio':>21} {'reply−end':>9}  transcript")
        for n, ((text, speech, voice), path, reply) in enumerate(zip(items, files, events)):
            # Coarse: the whole played file, anywhere after the previous utterance. Fine: its
            # last second of speech, near there (the sound server may stretch the start a little).
            lead = int(LEAD * SAMPLE_RATE)
            template = np.concatenate([silence(LEAD), speech, silence(TAIL)])
            pos, _ = locate(audio, template, after)
            tail = np.concatenate([speech[-SAMPLE_RATE:], silence(TAIL)])
            near = pos + lead + len(speech) - SAMPLE_RATE
            fine, score = locate(audio, tail, max(0, near - SAMPLE_RATE // 2), near + SAMPLE_RATE // 2 + len(tail))
            if pos < 0 or fine < 0 or score < 0.6:
                print(f"{n + 1:2d} could not find the utterance's end in the recording (match {score:.2f})")
                continue
            end = fine + SAMPLE_RATE
            search = end + int(min(0.3, args.pause) * SAMPLE_RATE)
            loud = np.flatnonzero(np.abs(audio[search:]) > ONSET_LEVEL)
            after = end
            if not len(loud) or reply is None:
                print(f"{n + 1:2d} no reply heard")
                continue
            onset = search + int(loud[0])
            latency_ms = (onset - end) / SAMPLE_RATE * 1000
            inner = reply["timings_ms"].get("total")
            own = (reply["reply_start_s"] - reply["end_s"]) * 1000 if reply.get("reply_start_s") else float("nan")
            rows.append((latency_ms, inner, own))
            print(f"{n + 1:2d} {len(speech) / SAMPLE_RATE:5.1f}s {voice:9s} {score:5.2f} {end / SAMPLE_RATE:10.2f}s "
                  f"{onset / SAMPLE_RATE:11.2f}s {latency_ms:6.0f}ms {latency_ms - args.pause * 1000:6.0f}ms   "
                  f"{inner:19.0f}ms {own:7.0f}ms  {reply['transcript'][:60]}")
    finally:
        if rec is not None:
            rec.send_signal(signal.SIGINT)
            rec.wait(10)
        if haven is not None:
            haven.stop()
        card.stop()

    if not rows:
        print("no measurements")
        return 1
    lat = [r[0] for r in rows]
    pause_ms = args.pause * 1000
    budget = pause_ms + 250
    print(f"\nEnd of speech → first sound of the reply, over {len(lat)} utterances "
          f"(includes the {args.pause:g} s pause and PulseAudio's buffering):")
    print(f"  median {statistics.median(lat):.0f} ms, worst {max(lat):.0f} ms, best {min(lat):.0f} ms")
    print(f"  beyond the pause: median {statistics.median(lat) - pause_ms:.0f} ms, worst {max(lat) - pause_ms:.0f} ms")
    print(f"  budget pause + 250 ms = {budget:.0f} ms: median {'within' if statistics.median(lat) <= budget else 'OVER'}, "
          f"worst {'within' if max(lat) <= budget else 'OVER'}")
    inner = [r[1] for r in rows if r[1] is not None]
    if inner:
        print(f"  Haven's own figure, end-point decision → first audio (timings_ms.total): "
              f"median {statistics.median(inner):.0f} ms, worst {max(inner):.0f} ms")
    print(f"Load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("Command: python benchmarks/live_latency.py " + " ".join(sys.argv[1:]))
    if args.keep:
        print(f"Recording and played files kept in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
