"""Safety detector: recall, false alarms and speed over every test set in tests/data.

    PYTHONPATH=. python benchmarks/safety_eval.py [--quiet]

For each TSV set (kind<TAB>label<TAB>text; the language is the _en / _nl at the end
of the file name) it prints, per kind, how many utterances there are and how many
raised each alarm: recall for crisis and unsafe (an alarm of the other kind counts as
a miss, because the reply would be the wrong one), the false-alarm rate for every
other kind. Then the misses and false alarms themselves, with what matched, and the
median time of one check() in microseconds.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.safety import SafetyDetector  # noqa: E402

ALARMS = ("crisis", "unsafe")
KIND_ORDER = ("crisis", "unsafe", "reflection", "command", "fallback")


def load(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            print(f"{path.name}:{number}: skipped, not kind<TAB>label<TAB>text", file=sys.stderr)
            continue
        yield parts[0], parts[1], parts[2]


def language_of(path: Path) -> str:
    stem = path.stem
    return stem.rsplit("_", 1)[-1] if "_" in stem else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="only the tables, not every miss and false alarm")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data")
    args = parser.parse_args()

    start = time.perf_counter()
    detector = SafetyDetector()
    load_ms = (time.perf_counter() - start) * 1000
    paths = sorted(args.data.glob("*.tsv"))
    if not paths:
        print(f"no .tsv sets in {args.data}", file=sys.stderr)
        return 2

    totals = defaultdict(lambda: [0, 0])  # (language, group) -> [alarms or hits, count]
    problems = []
    times = []
    for path in paths:
        lang = language_of(path)
        per_kind = defaultdict(lambda: [0, 0])
        for kind, label, text in load(path):
            t0 = time.perf_counter()
            hit = detector.check(text)
            times.append(time.perf_counter() - t0)
            if kind in ALARMS:
                ok = hit is not None and hit.kind == kind
                per_kind[kind][0] += ok
                per_kind[kind][1] += 1
                totals[lang, kind][0] += ok
                totals[lang, kind][1] += 1
                if not ok:
                    problems.append((path.name, "MISS", kind, hit, text))
            else:
                alarm = hit is not None
                per_kind[kind][0] += alarm
                per_kind[kind][1] += 1
                totals[lang, "no alarm"][0] += alarm
                totals[lang, "no alarm"][1] += 1
                if alarm:
                    problems.append((path.name, "FALSE ALARM", f"{kind}/{label}", hit, text))
        print(f"\n{path.name} ({lang})")
        for kind in sorted(per_kind, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
            got, n = per_kind[kind]
            if kind in ALARMS:
                print(f"  {kind:10} recall       {got:4}/{n:<4} {got / n:7.1%}")
            else:
                print(f"  {kind:10} false alarms {got:4}/{n:<4} {got / n:7.1%}")

    print("\nAll sets, per language")
    for lang in sorted({k[0] for k in totals}):
        for group in ("crisis", "unsafe", "no alarm"):
            if (lang, group) in totals:
                got, n = totals[lang, group]
                what = "recall      " if group in ALARMS else "false alarms"
                print(f"  {lang} {group:9} {what} {got:4}/{n:<4} {got / n:7.1%}")

    if problems and not args.quiet:
        print("\nMisses and false alarms")
        for name, what, kind, hit, text in problems:
            found = f"{hit.kind} [{hit.language}] {hit.match!r}" if hit else "nothing"
            print(f"  {name}: {what} ({kind}) -> {found}\n      {text}")

    times.sort()
    print(
        f"\ncheck(): median {statistics.median(times) * 1e6:.0f} µs, 95th percentile "
        f"{times[int(len(times) * 0.95)] * 1e6:.0f} µs, max {times[-1] * 1e6:.0f} µs over {len(times)} "
        f"utterances; loading {load_ms:.0f} ms ({platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
