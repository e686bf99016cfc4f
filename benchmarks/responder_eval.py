"""How well the Responder sorts utterances: accuracy, confusions, fallback precision, speed.

Every TSV in tests/data is kind<TAB>label<TAB>text (label: theme id for a reflection,
command id for a command, "-" otherwise; lines starting with # are comments). Each
utterance goes through the full Responder (safety, commands, themes, fallback) with a
fresh Conversation, in the language its file name ends with (dev_en.tsv -> en).

    python benchmarks/responder_eval.py                  # dev_*, safety_* (holdout_* only if asked)
    python benchmarks/responder_eval.py --sets dev_en dev_nl
    python benchmarks/responder_eval.py --sets holdout   # every file whose name starts with holdout
    python benchmarks/responder_eval.py --language auto  # let Haven guess the language too
    python benchmarks/responder_eval.py --compare --sets holdout3   # words alone / meaning alone / both,
                                                                    # on clean text and on what whisper heard
    python benchmarks/responder_eval.py --heard --sets holdout7 holdout8 holdout9   # what whisper heard
                                                                    # (with its other readings) alone

With --compare, a set in tests/data/heard (what whisper heard of the same rows spoken
by espeak-ng, scripts/asr_roundtrip.py) is read beside each chosen clean set. "words"
is the rules and matcher alone; "meaning" the encoder's heads alone (safety head, then
the meaning head's best class); "both" is what Haven runs.

An utterance is right when its kind matches and, for reflections and commands, its
theme or command id matches too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.readings import Reading, parse_readings  # noqa: E402

DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class Row:
    file: str
    language: str
    kind: str
    label: str
    text: str
    alternatives: tuple[Reading, ...] = ()
    """For a heard row: whisper's other readings (fifth column, readings.format_readings)."""

    @property
    def expected(self) -> str:
        return self.kind if self.label in ("", "-") else f"{self.kind}:{self.label}"


def read_tsv(path: Path) -> list[Row]:
    language = path.stem.rsplit("_", 1)[-1]
    heard = path.parent.name == "heard"
    name = ("heard/" if heard else "") + path.stem
    from assistant.labelled import read_labelled
    return [Row(name, language, *parts[:3], parse_readings(parts[4])
                if heard and len(parts) > 4 else ()) for parts in read_labelled(path)]


def choose_files(sets: list[str] | None) -> list[Path]:
    every = sorted(DATA.glob("*.tsv"))
    if not sets:
        return [p for p in every if not p.stem.startswith("holdout")]
    chosen = []
    for s in sets:
        matched = [p for p in every if p.stem == s or p.stem.startswith(s)]
        if not matched:
            raise SystemExit(f"no file in {DATA} matches --sets {s!r}; have: {', '.join(p.stem for p in every)}")
        chosen += [p for p in matched if p not in chosen]
    return chosen


def got_label(reply) -> str:
    if reply.kind == "reflection":
        return f"reflection:{reply.theme}"
    if reply.kind == "command":
        return f"command:{reply.command}"
    return reply.kind


def evaluate(rows: list[Row], language_mode: str | None = None, prompts_dir: Path | None = None,
             words_only: bool = False):
    from assistant.responder import Conversation, Responder

    responder = Responder("en", prompts_dir, words_only=words_only)
    results = []
    for language in sorted({row.language for row in rows}):  # first-call costs do not count
        responder.respond("warming up", Conversation(), language_mode or language)
    for row in rows:
        conv = Conversation()
        t0 = time.perf_counter()
        reply = responder.respond(row.text, conv, language_mode or row.language, row.alternatives)
        ms = (time.perf_counter() - t0) * 1000
        results.append((row, got_label(reply), reply, ms))
    return results


def meaning_alone(rows: list[Row]) -> list[str]:
    """What the encoder's heads alone would answer: the safety head's alarm, else the
    meaning head's best class (a check counts as no alarm here)."""
    import numpy as np

    from assistant.meaning import FALLBACK, INTENTS, shared_meaning
    meaning = shared_meaning()
    out = []
    for row in rows:
        f = meaning.features(row.text)
        judged = meaning.safety(f, row.language)
        if judged.band == "alarm":
            out.append(judged.kind)
            continue
        best = INTENTS[int(np.argmax(meaning.intent_heads[row.language].proba(f.vector, f.spelling)))]
        out.append("fallback" if best == FALLBACK else best if best.startswith("command:") else f"reflection:{best}")
    return out


def compare(rows: list[Row], prompts_dir: Path | None = None) -> None:
    """One table: each set, and each reader's scores on the public targets."""
    got = {
        "words": [g for _, g, _, _ in evaluate(rows, None, prompts_dir, words_only=True)],
        "meaning": meaning_alone(rows),
        "both": [g for _, g, _, _ in evaluate(rows, None, prompts_dir)],
    }
    metrics = [
        ("crisis recall", lambda r: r.kind == "crisis", lambda r, g: g == "crisis"),
        ("unsafe recall", lambda r: r.kind == "unsafe", lambda r, g: g == "unsafe"),
        ("false alarms", lambda r: r.kind not in ("crisis", "unsafe"), lambda r, g: g in ("crisis", "unsafe")),
        ("checks asked", lambda r: r.kind not in ("crisis", "unsafe"), lambda r, g: g == "check"),
        ("theme accuracy", lambda r: r.kind == "reflection", lambda r, g: g == r.expected),
        ("commands", lambda r: r.kind == "command", lambda r, g: g == r.expected),
        ("fallback right", lambda r: r.kind == "fallback", lambda r, g: g == "fallback"),
    ]
    print(f"{'set':22} {'measure':16} " + " ".join(f"{k:>20}" for k in got))
    for name in dict.fromkeys(r.file for r in rows):
        idx = [i for i, r in enumerate(rows) if r.file == name]
        for label, member, right in metrics:
            chosen = [i for i in idx if member(rows[i])]
            if not chosen:
                continue
            cells = [pct(sum(right(rows[i], got[k][i]) for i in chosen), len(chosen)) for k in got]
            print(f"{name:22} {label:16} " + " ".join(f"{c:>20}" for c in cells))


def p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def pct(right: int, total: int) -> str:
    return f"{100 * right / total:5.1f} % ({right}/{total})" if total else "    -"


def report(results, show_errors: bool = False, top: int = 15, language_mode: str | None = None) -> dict:
    by = defaultdict(lambda: [0, 0])
    for row, got, _, _ in results:
        ok = got == row.expected
        for key in (("all",), ("lang", row.language), ("kind", row.kind), ("lang-kind", row.language, row.kind),
                    ("file", row.file)):
            by[key][0] += ok
            by[key][1] += 1
        if row.kind == "reflection":
            by[("theme", row.label)][0] += ok
            by[("theme", row.label)][1] += 1
        if row.kind not in ("crisis", "unsafe"):
            by[("nonsafety", row.language)][0] += ok
            by[("nonsafety", row.language)][1] += 1

    print("== accuracy")
    print(f"  all                      {pct(*by[('all',)])}")
    for key in sorted(k for k in by if k[0] == "file"):
        print(f"  file {key[1]:<19} {pct(*by[key])}")
    for key in sorted(k for k in by if k[0] == "lang"):
        print(f"  language {key[1]:<15} {pct(*by[key])}")
        print(f"    without crisis/unsafe  {pct(*by[('nonsafety', key[1])])}")
        for kk in sorted(k for k in by if k[0] == "lang-kind" and k[1] == key[1]):
            print(f"    {kk[2]:<22} {pct(*by[kk])}")
    print("== per kind (all languages)")
    for key in sorted(k for k in by if k[0] == "kind"):
        print(f"  {key[1]:<24} {pct(*by[key])}")
    print("== per theme (reflections, all languages), worst first")
    for key in sorted((k for k in by if k[0] == "theme"), key=lambda k: by[k][0] / by[k][1]):
        print(f"  {key[1]:<24} {pct(*by[key])}")
    if language_mode:
        guessed = sum(1 for row, _, reply, _ in results if reply.language == row.language)
        print(f"== language guessed right   {pct(guessed, len(results))}")

    confusions = Counter((row.expected, got) for row, got, _, _ in results if got != row.expected)
    print(f"== most common confusions (expected -> got), {sum(confusions.values())} errors")
    for (exp, got), n in confusions.most_common(top):
        print(f"  {n:3d}  {exp:<30} -> {got}")

    # Fallback precision: of the open invitations given, how many were right to be
    # given; and how often a reflection got a wrong theme (worse than an invitation).
    fb = [(row, got) for row, got, _, _ in results if got == "fallback"]
    fb_right = sum(1 for row, _ in fb if row.kind == "fallback")
    fb_rows = [row for row, _, _, _ in results if row.kind == "fallback"]
    wrong_theme = sum(1 for row, got, _, _ in results
                      if row.kind == "reflection" and got.startswith("reflection:") and got != row.expected)
    print("== fallback")
    print(f"  precision (fallback replies that should be fallback) {pct(fb_right, len(fb))}")
    print(f"  recall (fallback rows answered with fallback)        {pct(sum(1 for r, g, _, _ in results if r.kind == 'fallback' and g == 'fallback'), len(fb_rows))}")
    print(f"  reflections given a wrong theme                       {wrong_theme}")
    print(f"  non-fallback rows answered with a theme or command   "
          f"{sum(1 for r, g, _, _ in results if r.kind == 'fallback' and g != 'fallback')}")

    times = sorted(ms for *_, ms in results)
    if times:
        print("== time per utterance (full responder)")
        print(f"  median {statistics.median(times):.2f} ms   p95 {p95(times):.2f} ms   max {times[-1]:.2f} ms   "
              f"n={len(times)}")
        for name, safety in (("crisis and unsafe rows", True), ("other rows", False)):
            for also, need_readings in (("", False), (", with whisper's other readings", True)):
                some = sorted(ms for row, *_, ms in results
                              if (row.kind in ("crisis", "unsafe")) == safety and (row.alternatives or not need_readings))
                if some:
                    print(f"  {name}{also}: median {statistics.median(some):.2f} ms   p95 {p95(some):.2f} ms   "
                          f"n={len(some)}")

    if show_errors:
        print("== errors")
        for row, got, reply, _ in results:
            if got != row.expected:
                print(f"  [{row.file}] {row.expected} -> {got} ({reply.score:.0f}): {row.text}")
    return {k: v for k, v in by.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", metavar="NAME",
                    help="file names (without .tsv) or prefixes in tests/data; default: all but holdout_*")
    ap.add_argument("--language", choices=("auto",), help="let Haven guess the language instead of the file's")
    ap.add_argument("--errors", action="store_true", help="list every wrong answer")
    ap.add_argument("--top", type=int, default=15, help="how many confusions to show")
    ap.add_argument("--prompts", type=Path, help="another prompts/ folder")
    ap.add_argument("--compare", action="store_true",
                    help="words alone, meaning alone and both, on clean text and on what whisper heard")
    ap.add_argument("--heard", action="store_true",
                    help="what whisper heard of the chosen sets (tests/data/heard), with its other readings")
    args = ap.parse_args(argv)

    files = choose_files(args.sets)
    if args.heard:
        files = [DATA / "heard" / f.name for f in files if (DATA / "heard" / f.name).exists()]
        if not files:
            raise SystemExit(f"none of the chosen sets has a heard copy in {DATA / 'heard'}; "
                             f"make one with scripts/asr_roundtrip.py")
    if args.compare:
        files += [DATA / "heard" / f.name for f in files if (DATA / "heard" / f.name).exists()]
        rows = [r for f in files for r in read_tsv(f)]
        print(f"{len(rows)} utterances from {', '.join(r for r in dict.fromkeys(r.file for r in rows))}")
        compare(rows, args.prompts)
        return 0
    rows = [r for f in files for r in read_tsv(f)]
    print(f"{len(rows)} utterances from {', '.join(f.name for f in files)}")
    results = evaluate(rows, args.language, args.prompts)
    report(results, args.errors, args.top, args.language)
    return 0


if __name__ == "__main__":
    sys.exit(main())
