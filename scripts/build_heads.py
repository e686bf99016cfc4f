"""Build the trained heads in assistant/weights/ from the phrases in training/.

    python scripts/build_heads.py                 # write assistant/weights/*.npz
    python scripts/build_heads.py --out DIR       # somewhere else (tests rebuild into a temp folder)
    python scripts/build_heads.py --report        # also print validation figures

Reproducible: a fixed seed splits the data, fitting is deterministic (assistant.heads.fit),
and the rows are read in file order, so the same training files give the same weights.

What is trained (assistant.meaning says how they are used):
- safety.npz, safety_net.npz and safety_near.npz: clear / ambiguous / crisis / unsafe, a
  linear head (the vector and the spelling), one with a hidden layer (the vector) and the
  nearest training sentences (assistant.neighbours), combined by meaning.safety_vote; one
  set for English and Dutch together (the encoder puts both languages in one space, and a
  crisis said in one language teaches the other). Its thresholds are chosen on a held-back fifth of the
  training rows: the alarm where at most ALARM_RATE of the clear rows would alarm (per kind), the
  check where at most CHECK_RATE would be asked the direct question. Then each language's alarm
  bars are walked down from there on its retired blind sets (DEV_SETS, clean text): the training
  rows' hard negatives are written to sit close to a crisis, and in Dutch they held the bar well
  above where blind-written Dutch needs it (see calibrate).
- intent_LANG.npz: the 16 themes, the commands and fallback, from the sentence vector.
- stack_LANG.npz: the final decision over the word matcher's numbers and the intent
  head's probabilities (out-of-fold, so the stack learns how far to trust each), with
  the probability below which the stack's theme gives way (meaning.decide_intent).

Training rows: training/LANG/*.tsv, kind<TAB>label<TAB>text. Files ending in _heard.tsv
hold what whisper heard of the same sentences spoken by espeak-ng
(scripts/asr_roundtrip.py): kind<TAB>label<TAB>heard<TAB>spoken. Of the evaluation sets in
tests/data only the retired ones (DEV_SETS, measured before and since read) are read here, and
only to place the alarm bars; the newest held-out set never is.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def _same_kernels_everywhere() -> None:
    """OpenBLAS picks its kernels by CPU (or OPENBLAS_CORETYPE), and its Haswell and SkylakeX
    kernels round differently; training (lbfgs, Adam, an SVD) carries that far. A rebuild of
    the shipped heads (built with SkylakeX kernels) with Haswell ones, on an AMD EPYC whose
    environment asks for them, moved the shared crisis bar from 0.743 to 0.775 and the Dutch
    one from 0.593 to 0.705; with SkylakeX kernels it is bit for bit the same. So the build
    uses them wherever the CPU can run them (AVX-512), before numpy loads OpenBLAS."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return
    if all(f in flags for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd")):
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"


_same_kernels_everywhere()

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.encoder import shared_encoder  # noqa: E402
from assistant.heads import Head  # noqa: E402
from assistant.labelled import read_labelled  # noqa: E402
from assistant.library import COMMANDS, THEMES, language_pack  # noqa: E402
from assistant.matcher import Matcher  # noqa: E402
from assistant.meaning import (  # noqa: E402
    FALLBACK, INTENTS, SAFETY_CLASSES, command_bars, decide_intent, encoder_text, matcher_features, safety_vote,
    stack_features,
)
from assistant.neighbours import Neighbours  # noqa: E402
from assistant.ngrams import BUCKETS, hashed  # noqa: E402
from assistant.textnorm import word_error_rate  # noqa: E402

TRAINING = ROOT / "training"
SEED = 20261205
LANGUAGES = ("en", "nl")
ALARM_RATE = 0.01   # clear validation rows that may raise an alarm (the bound; these rows are
                    # hard negatives, and the rules alone already alarm on some of them)
CHECK_RATE = 0.015  # clear validation rows that may be asked the direct question: half the issue's
                    # 3 %, since at 3 % a plain "ik voel me zo alleen" was asked about suicide
CHECK_UNSAFE_RATE = 0.01  # and, beyond the unsafe alarm's ALARM_RATE, the direct question about
                          # their safety ("are you afraid of what they might do?"): together with
                          # CHECK_RATE within the 3 %
# The retired blind sets (written by people who never saw the training rows; their misses have
# been read, so they are development data now), and what a language's alarm bars may cost on
# them: half the 1 % bound, the other half left for sets not yet seen. A bar never goes
# below BAR_FLOOR (the vote must lean to the kind) and never above the shared one.
DEV_SETS = ("holdout3", "holdout4", "holdout5", "holdout6")
DEV_ALARM_RATE = 0.005
DEV_CHECK_RATE = 0.015  # and what the direct question about suicide may cost on them: half the 3 %
BAR_FLOOR = 0.5
BAR_STEP = 0.01
MAX_HEARD_ERRORS = 0.5  # a heard sentence with more of its words wrong than this is not kept
FOLDS = 3  # out-of-fold intent probabilities for the stack
# Inverse L2 strengths (scikit-learn's C), chosen on the validation fifth.
SAFETY_C = 16.0
NET_HIDDEN = 256  # the safety net's hidden layer, and its L2 (scikit-learn's alpha)
NET_L2 = 1e-3
INTENT_C = 16.0
STACK_C = 1.0
# What a wrong theme costs against a right one when choosing the give-way threshold.
THEME_COST = 1.0
# What a wrong command costs against a found one when choosing the meaning head's command
# bars: a wrong "stop" ends the person's session; a wrong pause or repeat is undone by
# saying "go on".
STOP_COST = 4.0
COMMAND_COST = 1.0
IS_COMMAND = np.array([c.startswith("command:") for c in INTENTS])  # decide_intent's mask


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
            for parts in read_labelled(path):
                kind, label, text = parts[:3]
                if heard:
                    if text in ("", "-") or len(parts) < 4 or word_error_rate(parts[3], text) > MAX_HEARD_ERRORS:
                        continue
                rows.append(Row(language, kind, label, text, heard))
    return rows


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


def spelling_matrix(texts: list[str]):
    """The hashed pieces of each text as a sparse (n, BUCKETS) matrix."""
    from scipy import sparse
    parts = [hashed(t) for t in texts]
    indptr = np.cumsum([0] + [len(c) for c, _ in parts])
    cols = np.concatenate([c for c, _ in parts]) if parts else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v in parts]) if parts else np.zeros(0, np.float32)
    return sparse.csr_matrix((vals, cols, indptr), shape=(len(texts), BUCKETS))


def fit_head(dense: np.ndarray, spelling, y: np.ndarray, classes: list[str], *, C: float,
             standardise: bool = False) -> Head:
    """Multinomial logistic regression (scikit-learn, lbfgs: deterministic) as a Head.

    dense: (n, d); spelling: sparse (n, BUCKETS) or None; y: class indices, every class present.
    """
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    dense = np.asarray(dense, dtype=np.float64)
    mean = dense.mean(axis=0) if standardise else np.zeros(dense.shape[1])
    scale = dense.std(axis=0) + 1e-6 if standardise else np.ones(dense.shape[1])
    x = (dense - mean) / scale
    if spelling is not None:
        x = sparse.hstack([spelling, sparse.csr_matrix(x)]).tocsr()
    model = LogisticRegression(C=C, max_iter=3000).fit(x, y)
    if list(model.classes_) != list(range(len(classes))):
        raise SystemExit(f"training data lacks some classes: {sorted(set(range(len(classes))) - set(model.classes_))}")
    coef = model.coef_.T.astype(np.float32)  # (features, k)
    if spelling is not None:
        hash_part, coef = coef[:BUCKETS], coef[BUCKETS:]
        rows = np.flatnonzero(np.any(hash_part != 0, axis=1))
        hash_rows, hash_W = rows.astype(np.int64), hash_part[rows]
    else:
        hash_rows, hash_W = np.zeros(0, np.int64), np.zeros((0, len(classes)), np.float32)
    return Head(list(classes), coef, model.intercept_.astype(np.float32), mean.astype(np.float32),
                scale.astype(np.float32), hash_rows, hash_W)


def fit_net(dense: np.ndarray, y: np.ndarray, classes: list[str]) -> Head:
    """A head with one hidden layer (scikit-learn's MLP, adam, fixed seed) on the dense vector."""
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier((NET_HIDDEN,), alpha=NET_L2, max_iter=300, random_state=SEED).fit(dense, y)
    if list(model.classes_) != list(range(len(classes))):
        raise SystemExit("training data lacks some safety classes")
    (W1, W), (b1, b) = model.coefs_, model.intercepts_
    d = dense.shape[1]
    return Head(list(classes), W.astype(np.float32), b.astype(np.float32), np.zeros(d, np.float32),
                np.ones(d, np.float32), W1=W1.astype(np.float32), b1=b1.astype(np.float32))


def predict(head: Head, dense: np.ndarray, spelling) -> np.ndarray:
    """Head.proba over rows of a sparse spelling matrix (as Haven computes it, one by one)."""
    out = np.zeros((len(dense), len(head.classes)), np.float32)
    for i in range(len(dense)):
        row = spelling[i] if spelling is not None else None
        out[i] = head.proba(dense[i], None if row is None else (row.indices.astype(np.int64), row.data))
    return out


def vote(head: Head, net: Head, near: Neighbours, dense: np.ndarray, spelling) -> np.ndarray:
    """The three safety opinions on these rows, as one (meaning.safety_vote), as Haven computes them."""
    return safety_vote(predict(head, dense, spelling), predict(net, dense, None), near.proba_many(dense))


def build_safety(rows: list[Row], vecs: np.ndarray, spell, report: bool) -> tuple[Head, Head, Neighbours]:
    y = np.array([SAFETY_CLASSES.index(safety_class(r)) for r in rows])
    keys = [f"{r.language}:{safety_class(r)}" for r in rows]
    val = split(keys, 0.2, SEED)
    trial = fit_head(vecs[~val], spell[~val], y[~val], SAFETY_CLASSES, C=SAFETY_C)
    trial_net = fit_net(vecs[~val], y[~val], SAFETY_CLASSES)
    trial_near = Neighbours.fit(vecs[~val], y[~val], SAFETY_CLASSES)
    p = vote(trial, trial_net, trial_near, vecs[val], spell[val])
    yv = y[val]
    c, u, a = (SAFETY_CLASSES.index(k) for k in ("crisis", "unsafe", "ambiguous"))
    # The rates are counted on what people say about the fight and on the hard negatives
    # (idioms, near-misses): a command or a filler ("uh", "pause please") is never near an
    # alarm, and adding more of them would only dilute the rate and lower the thresholds.
    clear = (yv == SAFETY_CLASSES.index("clear")) & np.array(
        [r.kind not in ("command", "fallback") for r, v in zip(rows, val) if v])
    thresholds = {
        "alarm_crisis": threshold_for_rate(p[clear, c], ALARM_RATE),
        "alarm_unsafe": threshold_for_rate(p[clear, u], ALARM_RATE),
        "check": threshold_for_rate(p[clear, c] + p[clear, a], CHECK_RATE),
        "check_unsafe": threshold_for_rate(p[clear, u], ALARM_RATE + CHECK_UNSAFE_RATE),
    }
    thresholds = {k: round(max(v, 0.05), 4) for k, v in thresholds.items()}
    if report:
        _report_safety([r for r, v in zip(rows, val) if v], yv, p, thresholds)
    head = fit_head(vecs, spell, y, SAFETY_CLASSES, C=SAFETY_C)
    net = fit_net(vecs, y, SAFETY_CLASSES)
    near = Neighbours.fit(vecs, y, SAFETY_CLASSES)
    thresholds["by_language"] = calibrate(head, net, near, thresholds, report)
    head.meta = {"thresholds": thresholds, "rows": dict(sorted(Counter(keys).items()))}
    return head, net, near


def read_dev(language: str) -> list[tuple[str, str]]:
    """(kind, text) of a language's retired blind sets, clean text."""
    return [(parts[0], parts[2]) for name in DEV_SETS
            for parts in read_labelled(ROOT / "tests" / "data" / f"{name}_{language}.tsv")]


def calibrate(head: Head, net: Head, near: Neighbours, shared: dict, report: bool) -> dict:
    """Each language's alarm bars and check bar: from the shared ones, the crisis bar (missing a
    crisis is the worst error) and then the unsafe bar are lowered in steps of BAR_STEP for as
    long as what Haven would decide (the rules, or the vote over a bar) raises an alarm on at
    most DEV_ALARM_RATE of that language's non-alarm dev rows; then the check bar, for as long
    as at most DEV_CHECK_RATE of them would be asked the direct question about suicide."""
    from assistant.safety import SafetyDetector
    rules = SafetyDetector()
    c, u = SAFETY_CLASSES.index("crisis"), SAFETY_CLASSES.index("unsafe")
    out = {}
    for language in LANGUAGES:
        rows = read_dev(language)
        texts = [encoder_text(t) for _, t in rows]
        vecs = shared_encoder().embed(texts)
        p = vote(head, net, near, vecs, spelling_matrix(texts))
        kinds = np.array([k for k, _ in rows])
        negative = ~np.isin(kinds, ("crisis", "unsafe"))
        by_rules = np.array([h.kind if (h := rules.check_rules(t)) else "" for _, t in rows])

        def decided(crisis: float, unsafe: float) -> np.ndarray:
            """What Haven answers (rules first, then the vote over a bar): crisis, unsafe or ''."""
            vote = np.where(p[:, c] >= crisis, "crisis", np.where(p[:, u] >= unsafe, "unsafe", ""))
            return np.where(by_rules != "", by_rules, vote)

        def false_alarms(crisis: float, unsafe: float) -> float:
            return float((decided(crisis, unsafe)[negative] != "").mean())

        def lowest(ok, start: float) -> float:
            bar = start
            for t in np.arange(start - BAR_STEP, BAR_FLOOR - 1e-9, -BAR_STEP):
                if not ok(round(float(t), 4)):
                    break
                bar = round(float(t), 4)
            return bar

        crisis = lowest(lambda t: false_alarms(t, shared["alarm_unsafe"]) <= DEV_ALARM_RATE, shared["alarm_crisis"])
        unsafe = lowest(lambda t: false_alarms(crisis, t) <= DEV_ALARM_RATE, shared["alarm_unsafe"])
        # Then the direct question ("are you having thoughts of ending your life?"), asked where
        # crisis + unsure reaches the check bar: a crisis the alarm misses but the question
        # reaches is answered, where it would have got a reflection.
        concern = p[:, c] + p[:, SAFETY_CLASSES.index("ambiguous")]
        after = decided(crisis, unsafe)
        quiet = after == ""

        def asked(bar: float) -> np.ndarray:
            return quiet & (concern >= bar)

        check = lowest(lambda t: float(asked(t)[negative].mean()) <= DEV_CHECK_RATE, shared["check"])
        out[language] = {"alarm_crisis": crisis, "alarm_unsafe": unsafe, "check": check}
        if report:
            before = decided(shared["alarm_crisis"], shared["alarm_unsafe"])
            recall = {k: f"{(before[kinds == k] == k).mean():.1%} -> {(after[kinds == k] == k).mean():.1%}"
                      for k in ("crisis", "unsafe")}
            reached = {bar: f"{((after != '') | asked(bar))[kinds == 'crisis'].mean():.1%}"
                       for bar in (shared["check"], check)}
            print(f"safety, {language} dev sets ({', '.join(DEV_SETS)}; {negative.sum()} non-alarm rows): "
                  f"bars crisis {shared['alarm_crisis']} -> {crisis}, unsafe {shared['alarm_unsafe']} -> {unsafe}; "
                  f"false alarms {false_alarms(shared['alarm_crisis'], shared['alarm_unsafe']):.2%} -> "
                  f"{false_alarms(crisis, unsafe):.2%}; recall crisis {recall['crisis']}, unsafe {recall['unsafe']}; "
                  f"check {shared['check']} -> {check}: asked {asked(shared['check'])[negative].mean():.2%} -> "
                  f"{asked(check)[negative].mean():.2%}, crises alarmed or asked "
                  f"{reached[shared['check']]} -> {reached[check]}")
    return out


def _report_safety(rows: list[Row], yv: np.ndarray, p: np.ndarray, t: dict) -> None:
    from assistant.safety import SafetyDetector
    rules = SafetyDetector()
    fired = np.array([rules.check(r.text) is not None for r in rows])
    c, u, a = (SAFETY_CLASSES.index(k) for k in ("crisis", "unsafe", "ambiguous"))
    alarm = (p[:, c] >= t["alarm_crisis"]) | (p[:, u] >= t["alarm_unsafe"])
    check = ((p[:, c] + p[:, a]) >= t["check"]) | (p[:, u] >= t["check_unsafe"])
    lang = np.array([r.language for r in rows])
    print(f"safety, validation fifth: thresholds {t}")
    print("  lang kind       n   rules  head-alarm  rules|alarm  rules|alarm|check")
    for language in LANGUAGES:
        for kind in SAFETY_CLASSES:
            m = (lang == language) & (yv == SAFETY_CLASSES.index(kind))
            if m.any():
                print(f"  {language}   {kind:9} {m.sum():4}  {fired[m].mean():6.1%}  {alarm[m].mean():9.1%}"
                      f"  {(fired | alarm)[m].mean():10.1%}  {(fired | alarm | check)[m].mean():12.1%}")


def build_intent(language: str, rows: list[Row], vecs: np.ndarray, spell, report: bool):
    """The meaning head and the stacked decision of one language."""
    pack = language_pack(language)
    matcher = Matcher(pack)
    idx = np.array([i for i, r in enumerate(rows) if r.language == language and intent_class(r) is not None])
    y = np.array([INTENTS.index(intent_class(rows[i])) for i in idx])
    x, sp = vecs[idx], spell[idx]
    words = np.stack([matcher_features(matcher, rows[i].text) for i in idx])
    val = split([intent_class(rows[i]) for i in idx], 0.2, SEED + 1)

    def out_of_fold(where: np.ndarray) -> np.ndarray:
        """Intent probabilities for these rows, each from a head that never saw it."""
        probs = np.zeros((len(where), len(INTENTS)), np.float32)
        fold = folds(len(where), FOLDS, SEED + 2)
        for f in range(FOLDS):
            tr, te = where[fold != f], where[fold == f]
            h = fit_head(x[tr], sp[tr], y[tr], INTENTS, C=INTENT_C)
            probs[fold == f] = predict(h, x[te], sp[te])
        return probs

    # The give-way thresholds, chosen on the validation fifth with heads that never saw it.
    train = np.flatnonzero(~val)
    head_t = fit_head(x[train], sp[train], y[train], INTENTS, C=INTENT_C)
    stack_t = fit_head(stack_features(out_of_fold(train), words[train]), None, y[train], INTENTS,
                       C=STACK_C, standardise=True)
    head_v = predict(head_t, x[val], sp[val])
    pv = predict(stack_t, stack_features(head_v, words[val]), None)
    bars = _command_bars(head_v, y[val], words[val])
    matched, bar_pair = _matched(words[val]), command_bars(bars)
    theme = _give_way(head_v, pv, y[val], matched, bar_pair)
    floor = _matched_floor(head_v, pv, y[val], matched, theme, bar_pair)
    thresholds = {"theme": theme, "matched_floor": floor, **bars}
    if report:
        _report_intent(language, pv, y[val], thresholds, head_v, words[val])

    head = fit_head(x, sp, y, INTENTS, C=INTENT_C)
    head.meta = {"rows": len(idx)}
    stack = fit_head(stack_features(out_of_fold(np.arange(len(idx))), words), None, y, INTENTS,
                     C=STACK_C, standardise=True)
    stack.meta = {"thresholds": thresholds, "rows": len(idx)}
    return head, stack


def _give_way(head_probs: np.ndarray, pv: np.ndarray, y: np.ndarray, matched: list[str | None],
              bars: tuple[float, float]) -> float:
    """The probability below which the stack's theme gives way (to the matcher's theme, or an
    open invitation), chosen with Haven's own rule (meaning.decide_intent): the one that
    maximises right themes minus THEME_COST x wrong ones. A row left to an invitation counts
    as neither; a command or an invitation decided alike at every threshold changes nothing."""
    return _best(np.arange(0.0, 0.95, 0.01),
                 lambda t: _theme_value(head_probs, pv, y, matched, bars, theme=t, floor=0.0))


def _matched_floor(head_probs: np.ndarray, pv: np.ndarray, y: np.ndarray, matched: list[str | None],
                   theme: float, bars: tuple[float, float]) -> float:
    """The least stacked probability the word matcher's theme needs to be said, when the stack
    itself is unsure: chosen like the give-way threshold (right themes minus THEME_COST x wrong
    ones, an invitation counting as neither), from 0 (always the matcher's) up to 0.3; a tie
    keeps the lower floor."""
    return _best(np.arange(0.0, 0.301, 0.01),
                 lambda t: _theme_value(head_probs, pv, y, matched, bars, theme=theme, floor=t))


def _theme_value(head_probs, pv, y, matched, bars, *, theme: float, floor: float) -> float:
    """Right themes minus THEME_COST x wrong ones, as Haven decides (meaning.decide_intent)."""
    value = 0.0
    for h, p, m, truth in zip(head_probs, pv, matched, y):
        label = decide_intent(h, p, IS_COMMAND, theme, m, bars, floor).label
        if label in THEMES:
            value += 1.0 if label == INTENTS[truth] else -THEME_COST
    return value


def _best(candidates: np.ndarray, value) -> float:
    """The first candidate (a tie keeps the earlier, lower one) with the highest value."""
    best_t, best_v = 0.0, -1e9
    for t in candidates:
        v = value(float(t))
        if v > best_v:
            best_t, best_v = float(t), v
    return round(best_t, 2)


def _command_bars(head_probs: np.ndarray, y: np.ndarray, words: np.ndarray) -> dict[str, float]:
    """The meaning head's bar for a command the word matcher did not hear, for "stop" and for
    the others: the one that maximises found commands minus STOP_COST / COMMAND_COST x wrong
    ones, on the validation rows where the matcher heard no command (it answers the rest)."""
    unheard = ~words[:, 2 * len(THEMES):2 * len(THEMES) + len(COMMANDS)].any(axis=1)
    best = head_probs.argmax(axis=1)
    conf = head_probs.max(axis=1)
    bars = {}
    # The other commands first: "stop" never gets a lower bar than they have (a wrong stop
    # costs the most, whatever the few validation rows happen to show).
    for key, cost, group in (("command", COMMAND_COST, {f"command:{c}" for c in COMMANDS} - {"command:stop"}),
                             ("command_stop", STOP_COST, {"command:stop"})):
        said = unheard & np.isin(best, [INTENTS.index(c) for c in group])
        best_t, best_v = 0.95, -1e9
        # From the top (a tie keeps the higher bar) down to even odds: below that the head
        # is more unsure than sure ("even kijken eh", a hesitation, took 0.3 for "pause").
        for t in np.arange(0.95, bars.get("command", 0.5) - 0.01, -0.05):
            taken = said & (conf >= t)
            value = np.sum(taken & (best == y)) - cost * np.sum(taken & (best != y))
            if value > best_v:
                best_t, best_v = float(t), value
        bars[key] = round(best_t, 2)
    return bars


def _matched(words: np.ndarray) -> list[str | None]:
    """The theme the word matcher chose, read from its numbers (matcher_features: one-hot)."""
    chosen = words[:, len(THEMES):2 * len(THEMES)]
    return [THEMES[int(np.argmax(c))] if c.any() else None for c in chosen]


def _report_intent(language, pv, yv, thresholds, head_probs, words) -> None:
    """Accuracy of the head alone, the stack alone, and Haven's decision (meaning.decide_intent,
    with the matcher's own theme read from its numbers) on the validation rows."""
    bars = command_bars(thresholds)
    decided = np.array([INTENTS.index(decide_intent(h, p, IS_COMMAND, thresholds["theme"], m, bars,
                                                    thresholds["matched_floor"]).label)
                        for h, p, m in zip(head_probs, pv, _matched(words))])
    print(f"intent ({language}), validation fifth, n={len(yv)}: head alone {np.mean(head_probs.argmax(1) == yv):.1%}, "
          f"stacked {np.mean(pv.argmax(1) == yv):.1%}, as Haven decides {np.mean(decided == yv):.1%} "
          f"(without the matcher's own commands); thresholds {thresholds}")


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
    ap.add_argument("--only", choices=("safety", "intent"),
                    help="rebuild only these heads (the others must already be in --out, from the same data)")
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
    spell = spelling_matrix(texts)
    print(f"{len(rows)} training rows ({sum(r.heard for r in rows)} heard through whisper), "
          f"embedded in {time.perf_counter() - started:.0f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    source = digest(rows)
    if args.only != "intent":
        safety, net, near = build_safety(rows, vecs, spell, args.report)
        safety.meta["training"] = net.meta["training"] = near.meta["training"] = source
        safety.save(args.out / "safety.npz")
        net.save(args.out / "safety_net.npz")
        near.save(args.out / "safety_near.npz")
    for language in LANGUAGES if args.only != "safety" else ():
        head, stack = build_intent(language, rows, vecs, spell, args.report)
        head.meta["training"] = stack.meta["training"] = source
        head.save(args.out / f"intent_{language}.npz")
        stack.save(args.out / f"stack_{language}.npz")
    kernels = os.environ.get("OPENBLAS_CORETYPE", "OpenBLAS's own choice")
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s (training data {source}; kernels {kernels})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
