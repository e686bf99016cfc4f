"""What an utterance means, beyond its words: the encoder's heads, and their bands.

Two signals decide together (DESIGN.md, "Understanding"):

- Safety: the rules in prompts/LANG/safety.toml OR the safety heads. A linear head
  reads the encoder's vector and the spelling of the words (assistant.ngrams), a
  second one with a hidden layer the vector alone, and the nearest training sentences
  (assistant.neighbours) vote beside them; together (safety_vote) they give three
  bands, with thresholds chosen on validation data by scripts/build_heads.py (the
  alarm bars and the check bar per language) and stored beside its weights: `alarm` (a crisis or unsafe reply), `check` (a
  direct, caring question: asking plainly is what crisis lines do), and `clear`.
- Themes and commands: the word matcher's scores and the meaning head's
  probabilities go into one small stacked model (a logistic regression over both),
  whose best class is taken only when it is sure enough; otherwise an open
  invitation, because a wrong theme is worse than asking to hear more.

Everything here is pure: text in, numbers and labels out.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.encoder import Encoder, shared_encoder
from assistant.errors import ModelError
from assistant.heads import REBUILD, Head, agree
from assistant.library import COMMANDS, THEMES
from assistant.neighbours import Neighbours
from assistant.ngrams import hashed
from assistant.textnorm import basic_clean

FALLBACK = "fallback"
# The meaning head's classes, in a fixed order: themes, then commands, then fallback.
INTENTS = [*THEMES, *(f"command:{c}" for c in COMMANDS), FALLBACK]
SAFETY_CLASSES = ["clear", "ambiguous", "crisis", "unsafe"]
# A command the word matcher did not hear needs this much of the meaning head's own
# probability unless the stack head carries its own bars (scripts/build_heads.py chooses
# them on validation rows: one for "stop", which ends the session, one for the others).
COMMAND_ALONE = 0.8
# Utterances whose features are kept: safety, then the intent decision, read the same one.
RECENT = 16


def weights_dir() -> Path:
    """assistant/weights, or HAVEN_WEIGHTS (tests point it at a damaged copy)."""
    override = os.environ.get("HAVEN_WEIGHTS")
    return Path(override) if override else Path(str(resources.files("assistant") / "weights"))


def encoder_text(text: str) -> str:
    """What the encoder is given: lowercase words, as whisper's output and the training
    data are written both ways (punctuation and case carry nothing here)."""
    return basic_clean(text)


@dataclass(frozen=True)
class Features:
    """One utterance as the heads read it."""

    vector: np.ndarray
    """The encoder's 512 numbers."""
    spelling: tuple[np.ndarray, np.ndarray]
    """The hashed character pieces (assistant.ngrams.hashed)."""


@dataclass(frozen=True)
class Bands:
    """Where the safety bands start: an alarm at crisis or unsafe at or above its bar, else
    the direct question about ending one's life at crisis + unsure at or above `check`, else
    the direct question about their safety at unsafe at or above `check_unsafe`."""

    crisis: float
    unsafe: float
    check: float
    check_unsafe: float


@dataclass(frozen=True)
class SafetyJudgement:
    band: str
    """'alarm', 'check' or 'clear'."""
    kind: str | None
    """For an alarm, what it is: 'crisis' or 'unsafe'; for a check, what is asked about."""
    crisis: float
    """The head's probability of a crisis (for --json and tests)."""
    unsafe: float
    concern: float
    """Crisis plus ambiguous: what the check band is measured on."""

    @property
    def score(self) -> float:
        """The number the band was decided on: unsafe for either unsafe band; for crisis, the
        crisis probability for an alarm and crisis plus ambiguous for a check."""
        if self.kind == "unsafe":
            return self.unsafe
        return self.concern if self.band == "check" else self.crisis


@dataclass(frozen=True)
class Intent:
    label: str
    """A theme id, 'command:<id>', or 'fallback'."""
    probability: float
    """The stacked model's probability of that label."""


def matcher_features(matcher, text: str) -> np.ndarray:
    """The word matcher's view of a text, as numbers: each theme's score, whether enough
    was heard, and the command it found (if any) with its score."""
    ranked, enough = matcher.theme_scores(text)
    themes = np.zeros(len(THEMES), np.float32)
    for tid, score, _ in ranked:
        themes[THEMES.index(tid)] = min(score, 150.0) / 100.0
    picked = matcher.theme(text)
    chosen = np.zeros(len(THEMES), np.float32)
    if picked.id is not None:
        chosen[THEMES.index(picked.id)] = 1.0
    commands = np.zeros(len(COMMANDS), np.float32)
    cmd = matcher.command(text)
    if cmd.id is not None:
        commands[COMMANDS.index(cmd.id)] = cmd.score / 100.0
    return np.concatenate([themes, chosen, commands, [float(enough)]]).astype(np.float32)


def stack_features(intent_probs: np.ndarray, words: np.ndarray) -> np.ndarray:
    """The stacked model's input: the meaning head's log-probabilities and the matcher's numbers."""
    return np.concatenate([np.log(np.clip(intent_probs, 1e-6, 1.0)), words], axis=-1).astype(np.float32)


class Meaning:
    """The encoder and the trained heads of both languages, loaded once."""

    def __init__(self, encoder: Encoder, folder: Path | None = None, languages=("en", "nl")):
        folder = folder or weights_dir()
        self.encoder = encoder
        # Safety and the intent decision read the same utterance one after the other (as the
        # matcher's answers, the last few are kept): it is encoded once.
        self._recent: OrderedDict[str, Features] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.safety_head = Head.load(folder / "safety.npz")
        self.safety_net = Head.load(folder / "safety_net.npz")  # a second opinion, with a hidden layer
        self.safety_near = Neighbours.load(folder / "safety_near.npz")  # a third: the nearest training sentences
        self.intent_heads = {lang: Head.load(folder / f"intent_{lang}.npz") for lang in languages}
        self.stack_heads = {lang: Head.load(folder / f"stack_{lang}.npz") for lang in languages}
        self._commands = {lang: np.array([c.startswith("command:") for c in head.classes])
                          for lang, head in self.stack_heads.items()}
        try:
            t = self.safety_head.meta["thresholds"]
            self.shared = Bands(float(t["alarm_crisis"]), float(t["alarm_unsafe"]), float(t["check"]),
                                float(t["check_unsafe"]))
            # Per language, the alarm bars and the bar of the direct question about suicide,
            # chosen on that language's retired blind sets (scripts/build_heads.py, "calibrate");
            # the question about their safety has the shared bar.
            self.bands = {lang: replace(self.shared, crisis=float(t["by_language"][lang]["alarm_crisis"]),
                                        unsafe=float(t["by_language"][lang]["alarm_unsafe"]),
                                        check=float(t["by_language"][lang]["check"]))
                          for lang in languages}
            self._c, self._u, self._a = (self.safety_head.index(k) for k in ("crisis", "unsafe", "ambiguous"))
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{folder / 'safety.npz'}: the safety head lacks its classes or thresholds "
                             f"(for {', '.join(languages)}); {REBUILD}") from None

    def features(self, text: str) -> Features:
        """The utterance as the heads read it (the last few are kept)."""
        return self.features_of([text])[0]

    def features_of(self, texts: list[str]) -> list[Features]:
        """Several texts at once: those not kept are encoded in one batch (whisper's other
        readings of an utterance: four one by one took 9 ms here, one batch of four 5.5 ms)."""
        with self._recent_lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            clean = [encoder_text(t) for t in missing]
            known.update(zip(missing, (Features(v, hashed(c)) for c, v in zip(clean, self.encoder.embed(clean)))))
        # Taken from `known`, not the shared table: another thread may have evicted them since.
        found = [known[t] for t in texts]
        with self._recent_lock:
            for t in texts:
                self._recent[t] = known[t]
                self._recent.move_to_end(t)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return found

    def safety_proba(self, f: Features) -> np.ndarray:
        """The safety classes' probabilities: the linear head (vector and spelling) and the
        hidden-layer head (vector) together, then with the nearest training sentences."""
        return self.safety_proba_many([f])[0]

    def safety_proba_many(self, fs: list[Features]) -> np.ndarray:
        """safety_proba for several utterances (m, classes), each head run once for all."""
        x = np.stack([f.vector for f in fs])
        return safety_vote(self.safety_head.proba_many(x, [f.spelling for f in fs]), self.safety_net.proba_many(x),
                           self.safety_near.proba_many(x))

    def safety(self, f: Features, language: str | None = None) -> SafetyJudgement:
        """The band of an utterance: with its language's alarm bars, or the shared ones
        when the language is not known."""
        return self.safety_many([f], language)[0]

    def safety_many(self, fs: list[Features], language: str | None = None) -> list[SafetyJudgement]:
        """The bands of several utterances (whisper's readings of one) at once."""
        bands = self.bands.get(language, self.shared)
        return [judge(float(p[self._c]), float(p[self._u]), float(p[self._c] + p[self._a]), bands)
                for p in self.safety_proba_many(fs)] if fs else []

    def intent(self, f: Features, words: np.ndarray, language: str, matched: str | None = None) -> Intent:
        """The stacked decision between themes and an open invitation, or a command.

        Commands are where a wrong answer costs most (a wrong "stop" ends the session), and
        the word matcher's command rules are precise: a command it did not hear is taken
        only when the meaning head alone is sure of it (its bar, chosen at build time). Otherwise
        the stack's best theme when it is sure (at or above its measured threshold) or the
        word matcher chose the same (`matched`); else the matcher's own theme, unless the stack
        gives it less than its floor (chosen at build time); and otherwise an open invitation."""
        probs = self.intent_heads[language].proba(f.vector, f.spelling)
        stack = self.stack_heads[language]
        t = stack.meta.get("thresholds", {})
        return decide_intent(probs, stack.proba(stack_features(probs, words)), self._commands[language],
                             t.get("theme", 0.0), matched, command_bars(t), float(t.get("matched_floor", 0.0)))


def judge(crisis: float, unsafe: float, concern: float, bands: Bands) -> SafetyJudgement:
    """The band for these probabilities: an alarm (crisis first), else a check (about ending
    one's life first), else clear."""
    if crisis >= bands.crisis:
        return SafetyJudgement("alarm", "crisis", crisis, unsafe, concern)
    if unsafe >= bands.unsafe:
        return SafetyJudgement("alarm", "unsafe", crisis, unsafe, concern)
    if concern >= bands.check:
        return SafetyJudgement("check", "crisis", crisis, unsafe, concern)
    if unsafe >= bands.check_unsafe:
        return SafetyJudgement("check", "unsafe", crisis, unsafe, concern)
    return SafetyJudgement("clear", None, crisis, unsafe, concern)


def safety_vote(linear: np.ndarray, net: np.ndarray, near: np.ndarray) -> np.ndarray:
    """The three safety opinions as one: the two learned heads agree first, then that agrees
    with the neighbours (half the say each; on the older evaluation sets this beat both
    parts alone). The build script chooses the bands on this same vote."""
    return agree(agree(linear, net), near)


def command_bars(thresholds: dict) -> tuple[float, float]:
    """The meaning head's bar for "stop" and for the other commands (a stack head's meta)."""
    return (float(thresholds.get("command_stop", COMMAND_ALONE)), float(thresholds.get("command", COMMAND_ALONE)))


def decide_intent(probs: np.ndarray, stacked: np.ndarray, commands: np.ndarray, theme_threshold: float,
                  matched: str | None, bars: tuple[float, float] = (COMMAND_ALONE, COMMAND_ALONE),
                  floor: float = 0.0) -> Intent:
    """Meaning.intent's rule on the heads' probabilities (INTENTS order): Haven's decision,
    and the one scripts/build_heads.py reports on its validation rows. `bars`: what the
    head needs for a command the matcher did not hear, "stop" first. `floor`: the least
    the stack must give the matcher's theme for it to be said (below it, the word matched
    but the sentence is about something else: "did the Lakers win" is not `blame`)."""
    best = int(np.argmax(probs))
    label = INTENTS[best]
    if label.startswith("command:") and probs[best] >= (bars[0] if label == "command:stop" else bars[1]):
        return Intent(INTENTS[best], float(probs[best]))
    p = np.where(commands, 0.0, stacked)
    best = int(np.argmax(p))
    label, prob = INTENTS[best], float(p[best])
    if label != FALLBACK and (prob >= theme_threshold or label == matched):
        return Intent(label, prob)
    if matched is not None and p[INTENTS.index(matched)] >= floor:
        return Intent(matched, float(p[INTENTS.index(matched)]))
    return Intent(FALLBACK, prob)


_shared_lock = threading.Lock()
_shared: Meaning | None = None


def shared_meaning() -> Meaning:
    """The process's meaning layer (encoder and heads), loaded on first use; a ModelError
    if any part cannot load: Haven does not run with half its safety net."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Meaning(shared_encoder())
        return _shared
