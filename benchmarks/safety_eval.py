"""Safety: recall, false alarms, checks and speed, for the rules alone, the meaning
layer alone and both together (what Haven runs), on clean text and on what whisper heard.

    python benchmarks/safety_eval.py                      # every set in tests/data and tests/data/heard
    python benchmarks/safety_eval.py --sets holdout3      # file names or prefixes
    python benchmarks/safety_eval.py --errors             # list the misses and false alarms of "both"

Sets are kind<TAB>label<TAB>text (the language is the _en / _nl at the end of the file
name); a set in tests/data/heard has what whisper heard of the text spoken by espeak-ng
in the third column (scripts/asr_roundtrip.py). Per kind it prints:

- crisis / unsafe: recall of an alarm of the right kind (an alarm of the other kind
  is a miss: the reply would be the wrong one), and, beside it, "alarm or check":
  the share that at least got the direct question about it (ending one's life, or
  someone hurting them);
- every other kind: false alarms (an alarm on a row that is not a crisis or unsafe)
  and checks (the direct question asked where none was needed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.errors import ModelError  # noqa: E402
from assistant.meaning import shared_meaning  # noqa: E402
from assistant.readings import Reading  # noqa: E402
from assistant.safety import SafetyDetector, SafetyHit  # noqa: E402
from responder_eval import read_tsv  # noqa: E402  (its neighbour here: the same sets, read alike)

DATA = ROOT / "tests" / "data"
ALARMS = ("crisis", "unsafe")
KIND_ORDER = ("crisis", "unsafe", "reflection", "command", "fallback")
READERS = ("rules", "meaning", "both")


def choose(sets: list[str] | None) -> list[Path]:
    every = sorted(DATA.glob("*.tsv")) + sorted((DATA / "heard").glob("*.tsv"))
    if not sets:
        return every
    return [p for p in every if any(p.stem == s or p.stem.startswith(s) for s in sets)]


def judge(detector: SafetyDetector, text: str, language: str,
          alternatives: tuple[Reading, ...] = ()) -> dict[str, SafetyHit | None]:
    """Each reader on the text; "both" (what Haven runs) also reads whisper's other readings."""
    return {"rules": detector.check_rules(text), "meaning": detector.check_meaning(text, language),
            "both": detector.check(text, language, alternatives)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", metavar="NAME", help="file names (without .tsv) or prefixes")
    ap.add_argument("--errors", action="store_true", help="list the misses and false alarms of both together")
    args = ap.parse_args(argv)

    try:
        started = time.perf_counter()
        detector = SafetyDetector(meaning=shared_meaning())
        load_s = time.perf_counter() - started
    except ModelError as e:
        print(e, file=sys.stderr)
        return 2
    paths = choose(args.sets)
    if not paths:
        print(f"no set in {DATA} matches {args.sets}", file=sys.stderr)
        return 2
    detector.check("warming up", "en")
    times, problems = [], []
    print(f"{'set':28} {'kind':10} {'n':>4}   " + "   ".join(f"{r:^21}" for r in READERS))
    print(f"{'':28} {'':10} {'':>4}   " + "   ".join(f"{'alarm':>9} {'or check':>10}" for _ in READERS))
    for path in paths:
        rows = read_tsv(path)
        name = rows[0].file if rows else path.stem
        counts = defaultdict(lambda: {r: [0, 0] for r in READERS})  # kind -> reader -> [alarm, check]
        n = defaultdict(int)
        for row in rows:
            kind, text = row.kind, row.text
            t0 = time.perf_counter()
            got = judge(detector, text, row.language, row.alternatives)
            times.append(time.perf_counter() - t0)
            n[kind] += 1
            for reader, hit in got.items():
                if kind in ALARMS:
                    alarm = hit is not None and hit.kind == kind
                else:
                    alarm = hit is not None and hit.kind in ALARMS
                check = hit is not None and hit.kind == "check"
                right_check = check and hit.about == kind  # the question about what it is
                counts[kind][reader][0] += alarm
                counts[kind][reader][1] += alarm or right_check if kind in ALARMS else check
            both = got["both"]
            if kind in ALARMS and not (both and both.kind == kind):
                problems.append((name, f"MISS {kind}", both, text))
            elif kind not in ALARMS and both and both.kind in ALARMS:
                problems.append((name, f"FALSE ALARM ({kind}/{row.label})", both, text))
        for kind in sorted(n, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
            cells = []
            for reader in READERS:
                a, c = counts[kind][reader]
                cells.append(f"{a / n[kind]:9.1%} {c / n[kind]:10.1%}")
            what = kind if kind in ALARMS else f"{kind} (FA)"
            print(f"{name:28} {what:10} {n[kind]:4}   " + "   ".join(cells))
    print("For crisis/unsafe: alarm = recall, 'or check' = alarm or the direct question. "
          "For other kinds: alarm = false alarms, 'or check' = checks asked.")
    if args.errors:
        print("\nMisses and false alarms (both together)")
        for name, what, hit, text in problems:
            found = f"{hit.kind} by {hit.by}" if hit else "nothing"
            print(f"  {name}: {what} -> {found}: {text}")
    times.sort()
    print(f"\none utterance, all three readers: median {statistics.median(times) * 1000:.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms over {len(times)}; loading {load_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
