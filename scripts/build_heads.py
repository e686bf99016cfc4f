"""Build the trained heads in assistant/weights/ from the phrases in training/.

    python scripts/build_heads.py                 # write assistant/weights/*.npz
    python scripts/build_heads.py --out DIR       # somewhere else (tests rebuild into a temp folder)
    python scripts/build_heads.py --report        # also print validation figures

Reproducible: a fixed seed splits the data, fitting is deterministic (assistant.heads.fit),
and the rows are read in file order, so the same training files give the same weights.

What is trained (assistant.meaning says how they are used):
- safety.npz: clear / ambiguous / crisis / unsafe, one head for English and Dutch
  together (the encoder puts both languages in one space, and a crisis said in one
  language teaches the other). Its thresholds are chosen on a held-back fifth of the
  training rows: the alarm where at most ALARM_RATE of the clear rows would alarm, the
  check where at most CHECK_RATE would be asked the direct question.
- intent_LANG.npz: the 16 themes, the commands and fallback, from the sentence vector.
- stack_LANG.npz: the final decision over the word matcher's numbers and the intent
  head's probabilities (out-of-fold, so the stack learns how far to trust each), with
  the probability below which a theme or command gives way to an open invitation.

Training rows: training/LANG/*.tsv, kind<TAB>label<TAB>text. Files ending in _heard.tsv
hold what whisper heard of the same sentences spoken by espeak-ng
(scripts/asr_roundtrip.py): kind<TAB>label<TAB>heard<TAB>spoken. The evaluation sets in
tests/data are never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.encoder import shared_encoder  # noqa: E402
from assistant.heads import balanced_weights, fit  # noqa: E402
from assistant.library import COMMANDS, THEMES, language_pack  # noqa: E402
from assistant.matcher import Matcher  # noqa: E402
from assistant.meaning import FALLBACK, INTENTS, SAFETY_CLASSES, encoder_text, matcher_features, stack_features  # noqa: E402
from assistant.textnorm import basic_clean  # noqa: E402

TRAINING = ROOT / "training"
SEED = 20261205
LANGUAGES = ("en", "nl")
ALARM_RATE = 0.005  # clear validation rows that may raise an alarm
CHECK_RATE = 0.02   # clear validation rows that may be asked the direct question
MAX_HEARD_ERRORS = 0.5  # a heard sentence with more of its words wrong than this is not kept
FOLDS = 5


@dataclass(frozen=True)
class Row:
    language: str
    kind: str
    label: str
    text: str
    heard: bool = False


def read_training(folder: Path = TRAINING) -> list[Row]:
    rows: list[Row] = []
    for language in LANGUAGES:
        for path in sorted((folder / language).glob("*.tsv")):
            heard = path.stem.endswith("_heard")
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) < 3:
                    raise SystemExit(f"{path}:{n}: expected kind<TAB>label<TAB>text")
                kind, label, text = (p.strip() for p in parts[:3])
                if heard:
                    if text in ("", "-") or len(parts) < 4 or _word_error_share(parts[3], text) > MAX_HEARD_ERRORS:
                        continue
                rows.append(Row(language, kind, label, text, heard))
    return rows


def _word_error_share(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length."""
    ref, hyp = basic_clean(reference).split(), basic_clean(hypothesis).split()
    if not ref:
        return 1.0
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(ref)


def safety_class(row: Row) -> str:
    return {"crisis": "crisis", "unsafe": "unsafe", "check": "ambiguous"}.get(row.kind, "clear")


def intent_class(row: Row) -> str | None:
    if row.kind == "reflection" and row.label in THEMES:
        return row.label
    if row.kind == "command" and row.label in COMMANDS:
        return f"command:{row.label}"
    if row.kind == "fallback":
        return FALLBACK
    return None


def split(keys: list[str], share: float, seed: int) -> np.ndarray:
    """A stratified, seeded validation mask: `share` of each key's rows."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(keys), bool)
    by: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        by.setdefault(k, []).append(i)
    for k in sorted(by):
        idx = np.array(by[k])
        rng.shuffle(idx)
        mask[idx[: int(round(share * len(idx)))]] = True
    return mask


def folds(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % k


def threshold_for_rate(scores: np.ndarray, rate: float) -> float:
    """The least threshold at which at most `rate` of these scores reach it."""
    if len(scores) == 0:
        return 0.5
    s = np.sort(scores)[::-1]
    allowed = int(np.floor(rate * len(s)))
    # Just above the (allowed+1)-th highest score.
    return float(min(0.99, np.nextafter(s[allowed], 1.0))) if allowed < len(s) else float(s[-1])


def build_safety(rows: list[Row], vecs: np.ndarray, report: bool) -> object:
    y = np.array([SAFETY_CLASSES.index(safety_class(r)) for r in rows])
    keys = [f"{r.language}:{safety_class(r)}" for r in rows]
    val = split(keys, 0.2, SEED)
    weights = balanced_weights(y, len(SAFETY_CLASSES), power=0.5)
    trial = fit(vecs[~val], y[~val], SAFETY_CLASSES, weights=weights[~val], l2=1e-4, steps=800)
    p = trial.proba(vecs[val])
    yv = y[val]
    clear = yv == SAFETY_CLASSES.index("clear")
    c, u, a = (SAFETY_CLASSES.index(k) for k in ("crisis", "unsafe", "ambiguous"))
    thresholds = {
        "alarm_crisis": threshold_for_rate(p[clear, c], ALARM_RATE),
        "alarm_unsafe": threshold_for_rate(p[clear, u], ALARM_RATE),
    }
    thresholds["check"] = threshold_for_rate(p[clear, c] + p[clear, a], CHECK_RATE)
    thresholds = {k: round(max(v, 0.05), 4) for k, v in thresholds.items()}
    if report:
        print("safety head, validation fifth (head alone, without the rules):")
        for kind, col, t in (("crisis", c, thresholds["alarm_crisis"]), ("unsafe", u, thresholds["alarm_unsafe"])):
            rows_k = yv == SAFETY_CLASSES.index(kind)
            alarm = (p[rows_k, col] >= t).mean() if rows_k.any() else float("nan")
            concern = ((p[rows_k, c] + p[rows_k, a]) >= thresholds["check"]).mean() if rows_k.any() else float("nan")
            print(f"  {kind:7} alarm {alarm:6.1%}  alarm or check {max(alarm, concern):6.1%}  (n={rows_k.sum()})")
        amb = yv == a
        print(f"  ambiguous checked or alarmed {((p[amb, c] + p[amb, a]) >= thresholds['check']).mean():6.1%} (n={amb.sum()})")
        print(f"  clear: alarms {((p[clear, c] >= thresholds['alarm_crisis']) | (p[clear, u] >= thresholds['alarm_unsafe'])).mean():.2%}"
              f", checks {((p[clear, c] + p[clear, a]) >= thresholds['check']).mean():.2%} (n={clear.sum()})")
        print(f"  thresholds {thresholds}")
    head = fit(vecs, y, SAFETY_CLASSES, weights=weights, l2=1e-4, steps=800)
    head.meta = {"thresholds": thresholds, "rows": dict(Counter(keys))}
    return head


def build_intent(language: str, rows: list[Row], vecs: np.ndarray, report: bool):
    """The meaning head and the stacked decision of one language."""
    pack = language_pack(language)
    matcher = Matcher(pack)
    idx = [i for i, r in enumerate(rows) if r.language == language and intent_class(r) is not None]
    y = np.array([INTENTS.index(intent_class(rows[i])) for i in idx])
    x = vecs[idx]
    words = np.stack([matcher_features(matcher, rows[i].text) for i in idx])
    keys = [intent_class(rows[i]) for i in idx]
    val = split(keys, 0.2, SEED + 1)
    weights = balanced_weights(y, len(INTENTS), power=0.5)

    def out_of_fold(mask: np.ndarray) -> np.ndarray:
        """Intent probabilities for the rows in mask, each from a head that never saw it."""
        where = np.flatnonzero(mask)
        probs = np.zeros((len(where), len(INTENTS)), np.float32)
        fold = folds(len(where), FOLDS, SEED + 2)
        for f in range(FOLDS):
            tr, te = where[fold != f], where[fold == f]
            h = fit(x[tr], y[tr], INTENTS, weights=weights[tr], l2=1e-4, steps=600)
            probs[fold == f] = h.proba(x[te])
        return probs

    # Choose the give-way thresholds on the validation fifth, with heads that never saw it.
    train = ~val
    oof = out_of_fold(train)
    head_t = fit(x[train], y[train], INTENTS, weights=weights[train], l2=1e-4, steps=600)
    stack_t = fit(stack_features(oof, words[train]), y[train], INTENTS, weights=weights[train],
                  l2=1e-3, steps=800, standardise=True)
    pv = stack_t.proba(stack_features(head_t.proba(x[val]), words[val]))
    thresholds = {"theme": _give_way(pv, y[val], "theme"), "command": _give_way(pv, y[val], "command")}
    if report:
        _report_intent(language, pv, y[val], thresholds, head_t.proba(x[val]), words[val])

    oof_all = out_of_fold(np.ones(len(idx), bool))
    head = fit(x, y, INTENTS, weights=weights, l2=1e-4, steps=600)
    head.meta = {"rows": len(idx)}
    stack = fit(stack_features(oof_all, words), y, INTENTS, weights=weights, l2=1e-3, steps=800, standardise=True)
    stack.meta = {"thresholds": thresholds, "rows": len(idx)}
    return head, stack


def _give_way(p: np.ndarray, y: np.ndarray, group: str) -> float:
    """The probability below which a theme (or command) answer gives way to an open
    invitation: the one that maximises right answers minus 1.5 x wrong ones (a wrong
    theme is worse than asking to hear more; a wrong command, like stopping, worse still)."""
    best_t, best_v = 0.0, -1e9
    pred = p.argmax(axis=1)
    conf = p.max(axis=1)
    is_group = np.array([(INTENTS[k].startswith("command:")) == (group == "command") and INTENTS[k] != FALLBACK
                         for k in pred])
    cost = 1.5 if group == "theme" else 3.0
    for t in np.arange(0.0, 0.95, 0.01):
        answered = is_group & (conf >= t)
        right = np.sum(answered & (pred == y))
        wrong = np.sum(answered & (pred != y))
        # Rows of this group left to an invitation count as neither.
        value = right - cost * wrong
        if value > best_v:
            best_t, best_v = float(t), value
    return round(best_t, 2)


def _report_intent(language, pv, yv, thresholds, head_probs, words) -> None:
    pred = pv.argmax(axis=1)
    conf = pv.max(axis=1)
    final = np.where(
        [(INTENTS[k] != FALLBACK) and conf[i] < thresholds["command" if INTENTS[k].startswith("command:") else "theme"]
         for i, k in enumerate(pred)], INTENTS.index(FALLBACK), pred)
    head_pred = head_probs.argmax(axis=1)
    n = len(yv)
    print(f"intent ({language}), validation fifth, n={n}: head alone {np.mean(head_pred == yv):.1%}, "
          f"stacked {np.mean(pred == yv):.1%}, stacked with give-way {np.mean(final == yv):.1%}; thresholds {thresholds}")


def digest(rows: list[Row]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.language}\t{r.kind}\t{r.label}\t{r.text}\t{r.heard}\n".encode())
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "assistant" / "weights")
    ap.add_argument("--training", type=Path, default=TRAINING)
    ap.add_argument("--report", action="store_true", help="print validation figures")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    rows = read_training(args.training)
    if not rows:
        raise SystemExit(f"no training rows in {args.training}")
    encoder = shared_encoder()
    texts = [encoder_text(r.text) for r in rows]
    unique = sorted(set(texts))
    table = dict(zip(unique, encoder.embed(unique)))
    vecs = np.stack([table[t] for t in texts])
    print(f"{len(rows)} training rows ({sum(r.heard for r in rows)} heard through whisper), "
          f"embedded in {time.perf_counter() - started:.0f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    source = digest(rows)
    safety = build_safety(rows, vecs, args.report)
    safety.meta["training"] = source
    safety.save(args.out / "safety.npz")
    for language in LANGUAGES:
        head, stack = build_intent(language, rows, vecs, args.report)
        head.meta["training"] = stack.meta["training"] = source
        head.save(args.out / f"intent_{language}.npz")
        stack.save(args.out / f"stack_{language}.npz")
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s (training data {source})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
