"""How close to its time each breathing cue starts, over a long live session.

    python benchmarks/breathing_timing.py                         # 5 minutes of box into a null sink
    python benchmarks/breathing_timing.py --sink card             # real SpeakerSink on a virtual sound card
    python benchmarks/breathing_timing.py --sink card --busy 2 --rate 45 --pattern sigh --minutes 5

The session is the real one: the real voice pre-renders the clips, then play_live
launches each clip on time.monotonic(). Two figures:

- launch lateness: when sink.play() was called, minus the cue's scheduled time (what
  the scheduler controls; printed for both sinks);
- with --sink card: the onset of each cue in a recording of the virtual speaker
  (PulseAudio's vspeaker.monitor, recorded by parecord), relative to the first cue's
  onset, minus the schedule relative to the first cue. That is what a listener hears,
  including the sink's 20 ms blocks and the sound server's buffering. The recording
  counts time in the virtual card's samples, and that clock runs 400-600 ppm fast
  against time.monotonic() in a busy VM (measured here as the recording grows), so
  the figure is printed both raw and converted to the monotonic clock. The tones
  are found by matched filtering, so a slow voice's pauses cannot be taken for a cue.

--rate sets the cue voice's words a minute (slow voices are cut to fit, not queued);
--busy N runs N busy-looping processes alongside, to see the schedule under load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def _busy() -> None:
    while True:
        pass


class _RecorderClock:
    """How fast the virtual card's clock runs against time.monotonic(), from the growth of the recording.

    A PulseAudio null sink is paced by timers; in a busy virtual machine it was measured
    running 400-600 ppm fast, which on a recording of 5 minutes looks like 120-180 ms of
    drift that no listener would hear. Polls the file size; only polls that see a fresh
    write count (the size is then current to within one poll).
    """

    def __init__(self, path: Path, poll_s: float = 0.005):
        import threading

        self.path, self.poll_s = path, poll_s
        self.points: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = -1
        while not self._stop.is_set():
            size = self.path.stat().st_size
            if size != last:
                if last >= 0:
                    self.points.append((time.monotonic(), size))
                last = size
            time.sleep(self.poll_s)

    def stop(self) -> float:
        import numpy as np

        self._stop.set()
        self._thread.join()
        t, n = np.array(self.points, dtype=np.float64).T
        return float(np.polyfit(t - t[0], n / 2, 1)[0])  # 16-bit mono: 2 bytes a sample


def _find_tone(audio, tone, guess_s: float, window_s: float) -> float:
    """Where (s) the tone starts, by normalised cross-correlation within guess ± window."""
    import numpy as np

    from assistant.audio import SAMPLE_RATE

    a = max(0, int((guess_s - window_s) * SAMPLE_RATE))
    seg = audio[a:int((guess_s + window_s) * SAMPLE_RATE) + len(tone)]
    if len(seg) < len(tone):
        return float("nan")
    corr = np.correlate(seg, tone, mode="valid")
    energy = np.sqrt(np.convolve(seg.astype(np.float64) ** 2, np.ones(len(tone)), mode="valid"))
    ncc = corr / (energy * np.linalg.norm(tone) + 1e-9)
    return (a + int(np.argmax(ncc))) / SAMPLE_RATE


def _stats(name: str, values_ms: list[float]) -> None:
    values_ms = [v for v in values_ms if v == v]  # drop tones that were not found (nan)
    if not values_ms:
        print(f"{name}: no values")
        return
    worst = max(values_ms, key=abs)
    print(f"{name}: n={len(values_ms)}  median {statistics.median(values_ms):+.2f} ms  "
          f"median |x| {statistics.median(abs(v) for v in values_ms):.2f} ms  worst {worst:+.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sink", choices=("null", "card"), default="null")
    ap.add_argument("--pattern", default="box")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--language", default="en")
    ap.add_argument("--rate", type=int, default=None, help="cue voice rate, words a minute")
    ap.add_argument("--busy", type=int, default=0, help="busy-looping processes alongside")
    ap.add_argument("--keep", metavar="WAV", help="with --sink card: keep the recording here")
    args = ap.parse_args()

    card = recorder = None
    folder = Path(tempfile.mkdtemp(prefix="haven-breathing-"))
    recording = Path(args.keep) if args.keep else folder / "speaker.wav"
    if args.sink == "card":
        from soundcard import SoundCard

        if not SoundCard.available():
            print("PulseAudio is missing: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
            return 2
        card = SoundCard(folder / "pulse").start()
        os.environ.update(card.env)  # before sounddevice is imported (PortAudio lists devices once)
        recorder = card.record_speaker(recording)
        while not recording.exists() or recording.stat().st_size < 44 + 3200:
            time.sleep(0.02)
        clock_probe = _RecorderClock(recording)

    from assistant.audio import SAMPLE_RATE
    from assistant.breathing import CUE_RATE, BreathingSession, NullSink, load_patterns
    from assistant.voice import Voice

    pattern = load_patterns().find(args.pattern)
    cycles = max(1, round(args.minutes * 60 / pattern.cycle_s))  # no max_cycles cap here: a benchmark asks
    voice = Voice(args.language)
    started = time.perf_counter()
    session = BreathingSession(pattern, voice, args.language, cycles=cycles, cue_rate=args.rate or CUE_RATE)
    render_ms = (time.perf_counter() - started) * 1000
    voice.close()
    steps = session.steps
    print(f"{pattern.name}, {cycles} cycles, {len(steps)} cues over {steps[-1].end_s - steps[0].at_s:.0f} s "
          f"(session {session.duration_s:.0f} s); clips rendered in {render_ms:.0f} ms; sink {args.sink}; "
          f"cue rate {args.rate or CUE_RATE} wpm; {args.busy} busy processes")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")

    busy = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.busy)]
    for b in busy:
        b.start()
    try:
        if args.sink == "null":
            sink = NullSink()
        else:
            from assistant.sink import SpeakerSink

            sink = SpeakerSink(None)
            time.sleep(1.0)  # as in `haven breathe`, the stream settles while the clips render
        result = session.play_live(sink, None)
        if args.sink == "card":
            sink.close()
    finally:
        for b in busy:
            b.terminate()
    _stats("launch lateness (sink.play vs schedule)", result.lateness_ms)

    if args.sink == "card":
        time.sleep(0.3)
        rate = clock_probe.stop()
        recorder.terminate()
        recorder.wait(5)
        card.stop()
        from assistant.breathing import load_tones
        from test_breathing import onsets, read_wav

        audio = read_wav(recording)
        tones = load_tones()
        # The intro's first sound anchors the recording; each cue's tone is then found by
        # matched filtering (its own waveform), in a window that follows any slip so far.
        # Energy onsets alone are fooled by a slow voice's pauses inside a cue.
        start = onsets(audio)[0]
        errors, slip = [], 0.0
        first = None
        for i, step in enumerate(steps):
            if first is None:
                guess, window = start + step.at_s, 0.8
            else:
                guess, window = first + step.at_s - steps[0].at_s + slip, 0.3
            at = _find_tone(audio, tones[step.phase], guess, window)
            if first is None:
                first = at
            error = at - (first + step.at_s - steps[0].at_s)
            slip = error
            errors.append(error * 1000)
        print(f"the virtual card's sample clock: {rate:.1f} samples per second of time.monotonic() "
              f"({(rate / SAMPLE_RATE - 1) * 1e6:+.0f} ppm)")
        _stats("heard tone vs schedule, relative to the first cue (recording's clock)", errors[1:])
        print("  over time (ms, every 8th cue): " + " ".join(f"{e:+.0f}" for e in errors[::8]))
        # The recording counts time in the card's samples; on real time a sample is
        # 1/rate seconds, not 1/16000. Heard on the monotonic clock:
        real = [e - (step.at_s - steps[0].at_s) * (rate / SAMPLE_RATE - 1) * 1000 for e, step in zip(errors, steps)]
        _stats("heard tone vs schedule, relative to the first cue (on time.monotonic)", real[1:])
        print("  over time (ms, every 8th cue): " + " ".join(f"{e:+.0f}" for e in real[::8]))
        over = sum(abs(e) > 50 for e in real)
        print(f"cues more than 50 ms off on time.monotonic: {over} of {len(real)}; recording: {recording}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
