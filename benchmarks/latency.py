"""Latency of the real pipeline: from the end-point decision to the first sample of the reply.

    python benchmarks/latency.py                      # English and Dutch, 4 runs (about 9 minutes)
    python benchmarks/latency.py --quick              # 1 run, 2 texts per length (about 2 minutes)
    python benchmarks/latency.py --runs 10 --languages en
    python benchmarks/latency.py --save results.json  # also every measurement, for later comparison
    python benchmarks/latency.py --languages en --texts 8 --padding-check   # the WER noise floor too

Speech is made with espeak-ng (assistant.speech_samples): venting texts of about 3, 6
and 12 seconds, several per length, in three different voices per language, Dutch at
130 words a minute, with short natural pauses (0.35-0.7 s) between sentences. Each
utterance goes through the real Session (Silero end-pointer, faster-whisper with the
default model, the responder, the pyttsx3 voice) in file mode, where InlineASR places
each transcription's measured wall time on the recording's clock as the worker thread
would have run it live. Two ways on the same clips, interleaved so that the machine's
noise hits both alike:

- before (one pass): incremental=False, the whole utterance transcribed once after the
  end-point decision;
- after (incremental): finished chunks transcribed while the person is still talking,
  and the last one during the end-point's silence hangover.

Printed per language and length, median and 95th percentile over all runs and texts:
end-point to transcript, responder, voice to first audio, and total (end-point decision
to the first sample of the spoken reply: the budget is a median of 150 ms in English and
250 ms in Dutch); the ratios before/after; the word error rate against the script's
text both ways on the same audio, with a 95 % interval for the difference (each run
speaks the texts in other voices, so three runs hear every text in every voice), and
how often the responder made the same of both transcripts. Plus model load, start-up until listening (in this process and as a user
sees it, `haven listen` in a fresh process), peak and current resident memory, the model
and the CPU.

Machines are shared and noisy: read medians and ratios, not single numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "tests"):  # tests/speech.py: espeak speech and the word-error count
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import numpy as np  # noqa: E402

from assistant.audio import SAMPLE_RATE, write_wav  # noqa: E402
from speech import VOICES, silence, speak, word_errors  # noqa: E402

# Venting texts, one list of sentences per utterance. About 3, 6 and 12 seconds each
# (the actual lengths are printed). No command words on their own, no crisis words.
TEXTS = {
    "en": {
        3: [
            ["He forgot my birthday again and never said sorry."],
            ["She was on her phone all through dinner tonight."],
            ["I feel so alone, even when he is at home."],
            ["Nobody in this family ever asks how I am doing."],
        ],
        6: [
            ["He came home late again without calling.", "I waited up for hours and he didn't care."],
            ["My sister cancelled our plans at the last minute.", "It always happens when I need her."],
            ["We had the same argument about money again.", "I am so tired of fighting with him."],
            ["He never listens when I talk about my day.", "It feels like I am invisible to him.", "It hurts."],
        ],
        12: [
            ["I tried to tell him how lonely I have been.", "He just turned on the television and ignored me.",
             "Later he said I was being dramatic.", "I don't know how to reach him anymore."],
            ["My mother keeps criticising the way I raise my kids.", "Nothing I do is ever good enough for her.",
             "I called her to share some good news.", "She only talked about my brother."],
            ["Every weekend he goes out with his friends.", "I stay home with the children and the dishes.",
             "When I ask for help he says I am nagging.", "I feel like a servant in my own house."],
            ["We used to talk for hours about everything.", "Now we barely say good morning to each other.",
             "He sleeps on the couch most nights.", "I am afraid that he is going to leave me."],
            ["My son only calls me when he needs money.", "I drove three hours to see him last month.",
             "He was on his phone the whole time.", "I wonder if he even likes me."],
            ["We were supposed to go away for our anniversary.", "She cancelled the trip because of her work.",
             "I unpacked the suitcase on my own.", "It feels like I always come second."],
            ["When I was sick last winter he went skiing with his brother.", "I had to ask my neighbour for soup.",
             "He said I was making a big deal of it.", "I still think about it."],
            ["Every time we argue I end up saying sorry.", "Even when he was the one who shouted.",
             "I just want the fighting to stop.", "I am so tired of being the one who gives in."],
        ],
    },
    "nl": {
        3: [
            ["Hij is mijn verjaardag weer vergeten."],
            ["Ze zat de hele avond op haar telefoon."],
            ["Ik voel me zo alleen in dit huis."],
            ["Niemand vraagt ooit hoe het met mij gaat."],
        ],
        6: [
            ["Hij kwam weer laat thuis zonder te bellen.", "Ik heb uren op hem gewacht."],
            ["Mijn zus heeft onze afspraak weer afgezegd.", "Dat gebeurt altijd als ik haar nodig heb."],
            ["We hadden weer dezelfde ruzie over geld.", "Ik ben het vechten zo moe."],
            ["Hij luistert nooit als ik over mijn dag vertel.", "Ik voel me onzichtbaar."],
        ],
        12: [
            ["Ik probeerde hem te vertellen hoe eenzaam ik me voel.", "Hij zette gewoon de televisie aan.",
             "Later zei hij dat ik overdreef.", "Ik weet niet meer hoe ik hem kan bereiken."],
            ["Mijn moeder heeft altijd kritiek op mijn opvoeding.", "Niets wat ik doe is goed genoeg.",
             "Ik belde haar met goed nieuws.", "Ze praatte alleen over mijn broer.", "Het doet pijn."],
            ["Elk weekend gaat hij uit met zijn vrienden.", "Ik blijf thuis met de kinderen.",
             "Als ik om hulp vraag zegt hij dat ik zeur.", "Ik voel me een dienstmeid in mijn eigen huis."],
            ["Vroeger praatten we urenlang over alles.", "Nu zeggen we elkaar nauwelijks goedemorgen.",
             "Hij slaapt bijna elke nacht op de bank.", "Ik ben bang dat hij me gaat verlaten."],
            ["Mijn zoon belt alleen als hij geld nodig heeft.", "Vorige maand reed ik drie uur naar hem toe.",
             "Hij zat de hele tijd op zijn telefoon.", "Ik vraag me af of hij me wel aardig vindt."],
            ["We zouden weggaan voor onze trouwdag.", "Ze heeft de reis afgezegd vanwege haar werk.",
             "Ik heb de koffer alleen uitgepakt.", "Ik kom altijd op de tweede plaats."],
            ["Toen ik ziek was ging hij skiën met zijn broer.", "Ik moest de buurvrouw om soep vragen.",
             "Hij zei dat ik me aanstelde.", "Ik denk er nog steeds aan."],
            ["Na elke ruzie ben ik degene die sorry zegt.", "Ook als hij degene was die schreeuwde.",
             "Ik wil gewoon dat het ophoudt.", "Ik ben het zo moe om altijd toe te geven."],
        ],
    },
}
GAPS = (0.45, 0.6, 0.35, 0.7, 0.5)  # seconds between sentences: short, like someone talking
LEAD, TAIL = 0.5, 2.5  # silence before and after each utterance (the tail covers the 1.2 s pause)
BUDGET_MS = {"en": 150, "nl": 250}
# The machine's speed at the time: one call on this 3.1 s clip took 0.76 s (base, beam 5)
# on a quiet 2-core machine (ASR-NOTES.md). Shared machines are often slower.
REFERENCE = "I feel like nobody in this house ever listens to me."
QUIET_REFERENCE_MS = 760
STAGES = ("endpoint_to_transcript", "respond", "voice_first_audio", "total")
LABELS = {"endpoint_to_transcript": "end-point→transcript", "respond": "responder",
          "voice_first_audio": "voice→first audio", "total": "TOTAL end-point→audio",
          "voice": "(voice, all sentences)", "transcribe": "(ASR time, kept parts)"}


@dataclass
class Clip:
    language: str
    bucket: int
    index: int
    text: str
    voice: str
    audio: np.ndarray
    speech_s: float


@dataclass
class Result:
    clip: Clip
    incremental: bool
    run: int
    timings: list = field(default_factory=list)  # one dict per reply event
    transcript: str = ""
    asr_calls: int = 0
    chunk_s: list = field(default_factory=list)
    dropped: int = 0
    heard: tuple = ()  # (kind, theme or command) of each reply: what the responder made of it


# -- measurements ---------------------------------------------------------------------


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident memory in MB from /proc, or nan."""
    cur = peak = float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def reset_peak_rss() -> bool:
    """Start this process's peak RSS (VmHWM) afresh, so each language's pipeline is measured
    alone (Linux 4.0+: writing 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child_rss() -> list[tuple[str, float, float]]:
    """(command, current MB, peak MB) of this process's children (the voice workers)."""
    out = []
    me = os.getpid()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        cur, peak = rss_mb(d.name)
        out.append((" ".join(cmd.split()[-3:]), cur, peak))
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_clips(languages, per_bucket: int, shift: int = 0) -> list[Clip]:
    """The clips of one run; `shift` rotates the voices, so that over three runs every text
    is heard in every voice (more distinct audio for the word error rate)."""
    clips = []
    for language in languages:
        voices = VOICES[language]
        for bucket, texts in TEXTS[language].items():
            for i, sentences in enumerate(texts[:per_bucket]):
                voice = voices[(i + bucket + shift) % len(voices)]
                pieces = [silence(LEAD)]
                for k, sentence in enumerate(sentences):
                    if k:
                        pieces.append(silence(GAPS[(i + k) % len(GAPS)]))
                    pieces.append(speak(sentence, voice))
                speech = np.concatenate(pieces[1:])
                audio = np.concatenate(pieces + [silence(TAIL)])
                clips.append(Clip(language, bucket, i, " ".join(sentences), voice, audio,
                                  len(speech) / SAMPLE_RATE))
    return clips


def run_clip(stages, clip: Clip, incremental: bool, run: int, min_chunk: float | None = None) -> Result:
    from assistant.events import ReplyEvent
    from assistant.pipeline import run as run_pipeline
    from assistant.session import SessionSettings
    from assistant.sink import TimelineSink
    from assistant.source import ArraySource
    from assistant.transcriber import InlineASR

    class CountingASR(InlineASR):
        def __init__(self, transcriber):
            super().__init__(transcriber)
            self.chunks: list[float] = []  # seconds of audio per transcription, guesses included
            self.dropped = 0

        def submit(self, audio, language, now_s):
            self.chunks.append(len(audio) / SAMPLE_RATE)
            return super().submit(audio, language, now_s)

        def drop(self, handle, now_s):  # a guess on a chunk that turned out not to be the last
            self.dropped += 1
            super().drop(handle, now_s)

    replies: list = []
    asr = CountingASR(stages.transcriber)
    settings = SessionSettings(language=clip.language, incremental=incremental,
                               **({"min_chunk": min_chunk} if min_chunk else {}))
    run_pipeline(ArraySource(clip.audio), stages, TimelineSink(len(clip.audio)),
                 lambda e: replies.append(e) if isinstance(e, ReplyEvent) else None, settings, asr)
    return Result(clip, incremental, run, [r.timings_ms for r in replies],
                  " ".join(r.transcript for r in replies), len(asr.chunks), asr.chunks, asr.dropped,
                  tuple((r.kind, r.theme or r.command) for r in replies))


PADDINGS = ((0.1, 0.3), (0.2, 0.3), (0.3, 0.3), (0.4, 0.3), (0.3, 0.1), (0.3, 0.5))  # (before, after) s


def padding_spread(transcriber, clips: list[Clip]) -> None:
    """One pass over each clip's speech with a little more or less silence around it. The
    words are the same; whatever the word error rate does is whisper's own chaos, the
    yardstick for a difference between one pass and incremental (measured: English 12 s,
    24 clips, 4.1-4.8 %)."""
    for bucket in sorted({c.bucket for c in clips}):
        cell = {(c.index, c.voice): c for c in clips if c.bucket == bucket}.values()
        rates = []
        for before, after in PADDINGS:
            errs = words = 0
            for c in cell:
                start = int(LEAD * SAMPLE_RATE)
                speech = c.audio[start:start + int(c.speech_s * SAMPLE_RATE)]
                audio = np.concatenate([silence(before), speech, silence(after)])
                e, w = word_errors(c.text, transcriber.transcribe(audio, c.language).text)
                errs, words = errs + e, words + w
            rates.append(100 * errs / max(1, words))
        print(f"[{clips[0].language}] about {bucket} s, one pass with {len(PADDINGS)} paddings "
              f"(0.1-0.5 s of silence) over {len(cell)} clips: WER {min(rates):.1f}-{max(rates):.1f} %", flush=True)


def startup_outside(language: str, runs: int, audio: np.ndarray) -> tuple[list[float], list[float]]:
    """Fresh `python -m assistant listen --input` processes over one utterance: seconds from
    the start to the `listening` event, and each process's peak RSS in MB (its VmHWM when it
    says it is done; wait4's ru_maxrss would count this big process's size at the fork)."""
    times, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "utterance.wav"
        write_wav(path, audio)
        for _ in range(runs):
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "assistant", "listen", "--input", str(path), "--json", "--language", language],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
            took = None
            for line in proc.stdout:
                if '"listening"' in line:
                    took = time.perf_counter() - started
                    break
            peak = float("nan")
            for line in proc.stdout:
                if '"done"' in line:
                    peak = rss_mb(proc.pid)[1]
            proc.communicate(timeout=120)
            if took is not None and proc.returncode == 0:
                times.append(took)
                peaks.append(peak)
    return times, peaks


# -- report ---------------------------------------------------------------------------


def fmt(v: float) -> str:
    return f"{v:7.0f}" if v >= 10 else f"{v:7.1f}"


def report(results: list[Result], languages, runs: int) -> dict:
    summary = {}
    for language in languages:
        print(f"\n=== {language.upper()}  (budget: median end-point→first audio ≤ {BUDGET_MS[language]} ms) ===")
        mine = [r for r in results if r.clip.language == language]
        for bucket in sorted({r.clip.bucket for r in mine}):
            cell = [r for r in mine if r.clip.bucket == bucket]
            lengths = sorted({round(r.clip.speech_s, 1) for r in cell})
            n_texts = len({r.clip.index for r in cell})
            print(f"\n-- about {bucket} s (speech {lengths[0]:.1f}-{lengths[-1]:.1f} s; {n_texts} texts × {runs} runs)")
            print(f"{'ms':24s} {'one pass (before)':>24s}   {'incremental (after)':>24s}   {'ratio':>6s}")
            print(f"{'':24s} {'median':>11s} {'p95':>11s}   {'median':>11s} {'p95':>11s}   {'bef/aft':>6s}")
            row = {}
            for stage in STAGES + ("voice", "transcribe"):
                b = [t[stage] for r in cell if not r.incremental for t in r.timings]
                a = [t[stage] for r in cell if r.incremental for t in r.timings]
                mb, ma = pct(b, 50), pct(a, 50)
                ratio = f"{mb / ma:6.1f}" if ma > 0.5 else "   -  "
                label = LABELS.get(stage, stage)
                print(f"{label:24s} {fmt(mb):>11s} {fmt(pct(b, 95)):>11s}   {fmt(ma):>11s} {fmt(pct(a, 95)):>11s}   {ratio}")
                row[stage] = {"before": {"median": mb, "p95": pct(b, 95)}, "after": {"median": ma, "p95": pct(a, 95)}}
            # Paired: the same clip in the same run, both ways.
            pairs = {}
            for r in cell:
                for t in r.timings[-1:]:
                    pairs.setdefault((r.run, r.clip.index), {})[r.incremental] = t["total"]
            paired = [p[False] / p[True] for p in pairs.values() if len(p) == 2 and p[True] > 0.5]
            if paired:
                print(f"{'paired total ratio':24s} median {statistics.median(paired):.1f}× faster (same clip, same run)")
            for inc, name in ((False, "one pass"), (True, "incremental")):
                calls = [r.asr_calls for r in cell if r.incremental == inc]
                dropped = [r.dropped for r in cell if r.incremental == inc]
                splits = sum(1 for r in cell if r.incremental == inc and len(r.timings) != 1)
                print(f"ASR calls per utterance, {name:12s} {statistics.mean(calls):.1f}"
                      + (f" ({statistics.mean(dropped):.1f} dropped guesses)" if any(dropped) else "")
                      + (f"   ({splits} runs with ≠1 reply!)" if splits else ""))
            row["accuracy"] = print_accuracy(cell, "")
            summary[(language, bucket)] = row
        both = {inc: [t["total"] for r in mine if r.incremental == inc for t in r.timings] for inc in (False, True)}
        med_b, med_a = pct(both[False], 50), pct(both[True], 50)
        verdict = "within" if med_a <= BUDGET_MS[language] else "OVER"
        print(f"\n{language.upper()} 3-12 s, all lengths: total median {med_b:.0f} ms before → {med_a:.0f} ms after "
              f"(p95 {pct(both[False], 95):.0f} → {pct(both[True], 95):.0f}); "
              f"{verdict} the {BUDGET_MS[language]} ms budget")
        summary[(language, "all")] = {"accuracy": print_accuracy(mine, f"{language.upper()} ")}
    return summary


def print_accuracy(results: list[Result], label: str) -> dict:
    """Word error rate both ways on the same audio, over every run (each run hears the texts
    in other voices), a 95 % interval for the difference (paired bootstrap over the clips),
    and how often the responder made the same of both transcripts."""
    by_clip: dict = {}
    for r in results:
        # Keyed by the audio: a run that repeats a voice repeats the same clip (decoding is deterministic).
        by_clip.setdefault((r.clip.language, r.clip.bucket, r.clip.index, r.clip.voice), {})[r.incremental] = r
    pairs = [p for p in by_clip.values() if len(p) == 2]
    if not pairs:
        return {}
    counts = np.array([[*word_errors(p[False].clip.text, p[False].transcript),
                        word_errors(p[True].clip.text, p[True].transcript)[0]] for p in pairs])
    before, words, after = counts.sum(axis=0)
    picks = np.random.default_rng(0).integers(0, len(pairs), (4000, len(pairs)))
    diffs = 100 * (counts[picks, 2].sum(1) - counts[picks, 0].sum(1)) / counts[picks, 1].sum(1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    same = sum(p[False].heard == p[True].heard for p in pairs)
    print(f"{label}WER one pass {100 * before / words:.1f} % ({before}/{words}), incremental "
          f"{100 * after / words:.1f} % ({after}/{words}): difference {100 * (after - before) / words:+.1f} points, "
          f"95 % interval [{low:+.1f}, {high:+.1f}] (paired bootstrap over {len(pairs)} clips); "
          f"same reply kind and theme both ways in {same}/{len(pairs)}")
    return {"wer_before": before / words, "wer_after": after / words, "difference_interval": [low, high],
            "same_reply": same, "clips": len(pairs)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="passes over all clips (default 4; 1 with --quick)")
    parser.add_argument("--languages", default="en,nl", help="comma-separated: en,nl")
    parser.add_argument("--texts", type=int, default=None, help="texts per length (default 4; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="1 run, 2 texts per length, 1 fresh start-up")
    parser.add_argument("--startup-runs", type=int, default=None, help="fresh `haven listen` start-ups (default 3)")
    parser.add_argument("--save", help="write every measurement to this JSON file")
    parser.add_argument("--padding-check", action="store_true",
                        help="also: how much one pass alone moves with 0.1-0.2 s more or less silence around "
                             "the same speech (whisper's noise floor for the WER comparison; slow)")
    parser.add_argument("--voice", default=None,
                        help="the English voice: an espeak-ng id, or natural (benchmarks/voices.py compares the two)")
    parser.add_argument("--min-chunk", type=float, default=None,
                        help="override SessionSettings.min_chunk for the incremental way (to tune it)")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 4)
    per_bucket = args.texts or (2 if args.quick else 4)
    startup_runs = args.startup_runs if args.startup_runs is not None else (1 if args.quick else 3)
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    for language in languages:
        if language not in TEXTS:
            parser.error(f"unknown language {language!r}; use en and/or nl")

    import faster_whisper

    from assistant.pipeline import Stages
    from assistant.session import SessionSettings
    from assistant.settings import Settings

    began = time.perf_counter()
    print(f"Haven latency benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Python {platform.python_version()}, faster-whisper {faster_whisper.__version__}; "
          f"English voice: {args.voice or 'espeak-ng (default)'}")
    defaults = SessionSettings()
    print(f"Session: pause {defaults.pause} s, min_chunk {args.min_chunk or defaults.min_chunk} s; "
          f"{runs} runs × {per_bucket} texts per length × 2 ways")

    clips = make_clips(languages, per_bucket)
    print(f"{len(clips)} utterances generated with espeak-ng in {time.perf_counter() - began:.1f} s")

    results: list[Result] = []
    loads = {}
    reference: list[float] = []
    ref_audio = speak(REFERENCE, "en-us")
    peaks = {}
    for language in languages:
        gc.collect()
        fresh = reset_peak_rss()
        pipeline = Stages.load(Settings(language=language, voice_en=args.voice), True)
        try:
            model = pipeline.transcriber.resolved
            cur, _ = rss_mb()
            loads[language] = (pipeline.startup_ms, pipeline.transcriber.load_seconds * 1000, cur)
            print(f"[{language}] model {model.name} ({model.path}); Pipeline.load {pipeline.startup_ms:.0f} ms "
                  f"(model load {pipeline.transcriber.load_seconds * 1000:.0f} ms), RSS after load {cur:.0f} MB")
            for run in range(runs):
                mine = make_clips([language], per_bucket, shift=run)
                for _ in range(2):  # how fast the machine is right now: one call on a fixed clip
                    reference.append(pipeline.transcriber.transcribe(ref_audio, "en").seconds * 1000)
                t0 = time.perf_counter()
                for k, clip in enumerate(mine):
                    order = (True, False) if (run + k) % 2 == 0 else (False, True)
                    for incremental in order:
                        results.append(run_clip(pipeline, clip, incremental, run, args.min_chunk))
                print(f"[{language}] run {run + 1}/{runs}: {time.perf_counter() - t0:.1f} s", flush=True)
            if args.padding_check:
                padding_spread(pipeline.transcriber, [c for r in range(min(runs, 3))
                                                      for c in make_clips([language], per_bucket, shift=r)])
            children = child_rss()
            if fresh:
                peaks[language] = rss_mb()[1]
        finally:
            pipeline.close()
            del pipeline

    print(f"\nMachine speed: the reference call (3 s of English, one transcription) took median "
          f"{statistics.median(reference):.0f} ms, p95 {pct(reference, 95):.0f} ms over {len(reference)} calls "
          f"(about {QUIET_REFERENCE_MS} ms on a quiet machine of this kind). The pause leaves about 0.9 s "
          f"between the last chunk's close and the end-point for its transcription.")
    summary = report(results, languages, runs)

    print("\n=== Start-up and memory ===")
    print(f"Model: {model.name} ({model.path}), int8 on CPU, 2 threads, beam 5")
    for language, (startup, load, cur) in loads.items():
        print(f"[{language}] in-process Pipeline.load (start-up until listening): {startup:.0f} ms, "
              f"of which model load {load:.0f} ms; RSS after load {cur:.0f} MB")
    for language in languages if startup_runs else []:
        longest = max((c for c in clips if c.language == language), key=lambda c: c.speech_s)
        times, fresh_peaks = startup_outside(language, startup_runs, longest.audio)
        if times:
            print(f"[{language}] fresh `python -m assistant listen --input <{longest.speech_s:.0f} s utterance> "
                  f"--language {language}`: start to its listening event median "
                  f"{statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms over {len(times)} "
                  f"(budget 3000 ms); peak RSS of the process {max(fresh_peaks):.0f} MB (budget 600 MB)")
    for language, peak_mb in peaks.items():
        print(f"[{language}] peak RSS of this process while loading and running the {language} pipeline "
              f"(VmHWM, reset before it; what the previous language left allocated counts too): {peak_mb:.0f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cur, _ = rss_mb()
    print(f"Peak RSS of this whole process (ru_maxrss, both languages one after the other): {peak:.0f} MB; "
          f"current RSS {cur:.0f} MB")
    for name, cur_mb, peak_mb in children:
        print(f"Child process {name}: RSS {cur_mb:.0f} MB, peak {peak_mb:.0f} MB")
    print(f"Load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"benchmark took {time.perf_counter() - began:.0f} s")
    print("Command: " + " ".join([Path(sys.executable).name, "benchmarks/latency.py", *sys.argv[1:]]))

    if args.save:
        data = {
            "cpu": cpu_name(), "cores": os.cpu_count(), "model": model.name, "runs": runs,
            "peak_rss_mb": peak, "peak_rss_mb_per_language": peaks, "reference_call_ms": reference,
            "startup": {k: {"pipeline_load_ms": v[0], "model_load_ms": v[1], "rss_mb": v[2]} for k, v in loads.items()},
            "summary": {f"{k[0]}-{k[1]}s": v for k, v in summary.items()},
            "results": [{"language": r.clip.language, "bucket": r.clip.bucket, "text_index": r.clip.index,
                         "voice": r.clip.voice, "speech_s": r.clip.speech_s, "text": r.clip.text,
                         "incremental": r.incremental, "run": r.run, "timings_ms": r.timings,
                         "transcript": r.transcript, "chunks_s": r.chunk_s, "dropped": r.dropped}
                        for r in results],
        }
        Path(args.save).write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"Saved every measurement to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
