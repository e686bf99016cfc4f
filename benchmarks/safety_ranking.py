"""How well the safety vote and its parts rank danger above everything else, whatever the bars.

    python benchmarks/safety_ranking.py --sets holdout7 holdout8 holdout9 holdout10
    python benchmarks/safety_ranking.py --sets holdout9 --variants   # and the variants tried

safety_eval.py measures Haven as it decides, with the bars chosen at build time. This asks a
different question, for judging a change to the vote before any bar is set: on these sets,
if the bar were put where the rules plus the meaning layer raise false alarms on a given
share (0.5, 1 and 2 %) of the rows that are neither crisis nor unsafe, how many crises and
unsafe rows would alarm? It is measured on the sets themselves, so use retired sets (the
README says which): reading a set's scores this closely is tuning on it.

Readers: the linear head, the hidden-layer head, the neighbours, and the vote of all three
(what Haven runs). With --variants, the other ways of combining them that were tried
(training/next/README.md has what they did), and scoring each sentence of an utterance
on its own.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.errors import ModelError  # noqa: E402
from assistant.heads import agree  # noqa: E402
from assistant.meaning import safety_vote, shared_meaning  # noqa: E402
from assistant.safety import SafetyDetector  # noqa: E402
from responder_eval import read_tsv  # noqa: E402
from safety_eval import choose  # noqa: E402

RATES = (0.005, 0.01, 0.02)


def floored(p: np.ndarray, floor: float) -> np.ndarray:
    return np.clip(p, floor, 1.0)


# Each reader: the three parts' probabilities (linear, net, neighbours) -> one distribution.
READERS = {
    "linear": lambda lin, net, near: lin,
    "net": lambda lin, net, near: net,
    "neighbours": lambda lin, net, near: near,
    "vote": safety_vote,
}
VARIANTS = {
    "vote, each part at least 0.02": lambda lin, net, near: safety_vote(*(floored(p, 0.02) for p in (lin, net, near))),
    "vote, the net at least 0.05": lambda lin, net, near: safety_vote(lin, floored(net, 0.05), near),
    "mean of the three": lambda lin, net, near: (lin + net + near) / 3,
    "linear and neighbours": lambda lin, net, near: agree(lin, near),
}


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+", text.strip()) if s]


def parts(meaning, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(meaning.safety_head.proba(f.vector, f.spelling), meaning.safety_net.proba(f.vector),
             meaning.safety_near.proba(f.vector)) for f in meaning.features_of(texts)]


def recall_at(scores: np.ndarray, kinds: np.ndarray, rules: np.ndarray, c: int, u: int, rate: float):
    """Crisis and unsafe recall (rules OR the scores) with the bars where `rate` of the other rows alarm."""
    other = ~np.isin(kinds, ["crisis", "unsafe"])
    free = other & (rules == "")  # rows the rules leave to the meaning layer
    k = int(rate * other.sum()) - int((other & (rules != "")).sum())
    def bar(column: np.ndarray) -> float:
        ranked = np.sort(column[free])[::-1]
        return float(ranked[k]) if 0 <= k < len(ranked) else (float(ranked[0]) if k < 0 else 0.0)
    tc, tu = bar(scores[:, c]), bar(scores[:, u])
    crisis = (rules == "crisis") | ((rules == "") & (scores[:, c] > tc))
    unsafe = (rules == "unsafe") | ((rules == "") & (scores[:, c] <= tc) & (scores[:, u] > tu))
    return crisis[kinds == "crisis"].mean(), unsafe[kinds == "unsafe"].mean()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", metavar="NAME", required=True, help="file names or prefixes")
    ap.add_argument("--variants", action="store_true", help="also the combinations tried and not kept")
    args = ap.parse_args(argv)
    try:
        meaning = shared_meaning()
    except ModelError as e:
        raise SystemExit(f"haven: {e}") from None
    rules_only = SafetyDetector()
    c, u = meaning._c, meaning._u
    readers = dict(READERS, **(VARIANTS if args.variants else {}))
    groups: dict[tuple[str, bool], list] = {}
    for path in choose(args.sets):
        for row in read_tsv(path):
            groups.setdefault((row.language, path.parent.name == "heard"), []).append(row)
    for (language, heard), rows in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
        kinds = np.array([r.kind for r in rows])
        rules = np.array([(h.kind if (h := rules_only.check_rules(r.text)) else "") for r in rows])
        whole = parts(meaning, [r.text for r in rows])
        print(f"{language}, {'heard' if heard else 'clean'}: {(kinds == 'crisis').sum()} crisis, "
              f"{(kinds == 'unsafe').sum()} unsafe, {(~np.isin(kinds, ['crisis', 'unsafe'])).sum()} other rows")
        table = {name: np.array([read(*p) for p in whole]) for name, read in readers.items()}
        if args.variants:
            # Each sentence on its own as well as the whole utterance: the highest of them.
            split = [[r.text, *sentences(r.text)] if len(sentences(r.text)) > 1 else [r.text] for r in rows]
            table["vote, the highest sentence"] = np.array(
                [np.max([safety_vote(*p) for p in parts(meaning, texts)], axis=0) for texts in split])
        for name, scores in table.items():
            cells = [f"{100 * rate:.1f} %: crisis {100 * cr:5.1f}, unsafe {100 * ur:5.1f}"
                     for rate in RATES for cr, ur in [recall_at(scores, kinds, rules, c, u, rate)]]
            print(f"  {name:<30} " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
