"""How often independent labellers agree on a blind set's labels: the ceiling for theme accuracy.

    python benchmarks/label_agreement.py                  # every set in tests/data/labels
    python benchmarks/label_agreement.py --sets holdout11

A blind set's first labels are its writer's (tests/data/NAME_LANG.tsv). A sample of its rows
was labelled again by two more labellers, each alone and from THEMES.md only, without the
first labels (tests/data/labels/NAME_LANG.tsv: second kind, label, third kind, label, text).
Per language it prints, for each pair of labellers, how many rows got the same kind and
label, Cohen's kappa of that, and, on the rows the writer labelled a reflection, how many
got the same theme; then how many all three agree on. Where labellers often disagree, no
reader of meaning can score higher, so theme accuracy is judged against this.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.labelled import read_labelled  # noqa: E402

DATA = ROOT / "tests" / "data"


def kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa: agreement beyond what two labellers with these label shares would reach by chance."""
    n = len(a)
    seen = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    chance = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return (seen - chance) / (1 - chance) if chance < 1 else 1.0


def labellings(path: Path) -> tuple[list[str], list[list[str]]]:
    """The sample's rows' kinds (by the writer) and each labeller's kind:label, in sample order."""
    first_path = DATA / path.name
    first = {parts[2]: f"{parts[0]}:{parts[1]}" for parts in read_labelled(first_path)}
    writer, second, third = [], [], []
    for n, parts in enumerate(read_labelled(path), 1):
        if len(parts) < 5:
            raise SystemExit(f"{path}:{n}: expected second kind, label, third kind, label, text")
        text = parts[4]
        if text not in first:
            raise SystemExit(f"{path}:{n}: this text is not in {first_path.name}")
        writer.append(first[text])
        second.append(f"{parts[0]}:{parts[1]}")
        third.append(f"{parts[2]}:{parts[3]}")
    return [w.split(":")[0] for w in writer], [writer, second, third]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", metavar="NAME", help="set names (without _LANG.tsv)")
    args = ap.parse_args(argv)
    files = sorted((DATA / "labels").glob("*.tsv"))
    if args.sets:
        files = [p for p in files if p.stem.rsplit("_", 1)[0] in args.sets]
    if not files:
        raise SystemExit(f"no second labels in {DATA / 'labels'} for {args.sets}")
    names = ("writer", "second", "third")
    for path in files:
        kinds, labels = labellings(path)
        reflections = [i for i, k in enumerate(kinds) if k == "reflection"]
        print(f"{path.stem}: {len(kinds)} rows, {len(reflections)} of them reflections (by the writer)")
        for (i, a), (j, b) in combinations(enumerate(labels), 2):
            same = sum(x == y for x, y in zip(a, b))
            theme = sum(a[r] == b[r] for r in reflections)
            print(f"  {names[i]:>6} vs {names[j]:<6}  kind and label {same}/{len(a)} ({100 * same / len(a):.1f} %), "
                  f"kappa {kappa(a, b):.3f};  theme {theme}/{len(reflections)} "
                  f"({100 * theme / max(len(reflections), 1):.1f} %)")
        all3 = sum(a == b == c for a, b, c in zip(*labels))
        theme3 = sum(labels[0][r] == labels[1][r] == labels[2][r] for r in reflections)
        print(f"  all three agree: {all3}/{len(kinds)} rows, theme {theme3}/{len(reflections)} "
              f"({100 * theme3 / max(len(reflections), 1):.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
