"""Matching what was heard against the trigger phrases in prompts/.

Speech recognition damages text ("their" for "they're", "are" for "our", a dropped
or misheard word), and people say the same thing in many ways, so a theme is not
found by comparing whole strings but by weighing the words that were heard:

1. Normalise (textnorm, with prompts/LANG/language.toml): case, punctuation,
   contractions, fillers, spelling variants. Stopwords carry no meaning. Every other
   word becomes a crude stem ("ignored", "ignoring" -> "ignor"; "negeert",
   "genegeerd" -> "neger"), and language.toml's word_forms and synonyms fold
   irregular forms and true synonyms onto one word ("forgot" -> "forget",
   "screamed" -> "yell", "janken" -> "huilen").
2. Look each heard word up among the stems of all triggers: exactly, fuzzily
   (rapidfuzz ratio >= 84 for words of five letters or more, counting for less), as
   part of a compound ("relatietherapie"), or two heard words as one.
3. Weigh words by what they tell apart: a stem used by one theme's triggers
   ("nag", "numb", "unlovable") weighs much more than one used by many ("not",
   "feel", "always") - inverse document frequency over the themes - and a stem
   that one trigger uses by chance ("please") less than one several triggers share.
4. Score each trigger by the weighted share of its words heard (every word counts
   for something, so one rare word does not make a whole trigger), close together
   (words scattered over a long ramble count for less), by the right person ("i walk
   out" is shutdown, "he walks out" unreachable: the person word nearest before each
   matched word must agree with the trigger's). A trigger of light words only
   scores high only when it is nearly all that was said.
5. Score each theme: its best trigger, plus support from its other triggers that
   matched other words, plus evidence from all heard words and word pairs that point
   at it (several independent hints beat one). A theme hinted at by a single
   meaningful word, in an utterance that says more, counts for less.
6. Decide: a theme only with score >= threshold and a lead of margin (a share of
   its score) over the next theme; otherwise the caller falls back to an open
   invitation. Fragments and small talk - too few meaningful words, too little theme
   weight heard, no trigger well covered - never get a theme.

Commands are stricter: an utterance is a command only when it is (nearly) all
command triggers of one command and polite padding ("can you", "please", "sorry";
language.toml's command_padding), with at most a few other words that carry no
theme meaning and no mention of someone else. "I wish he would stop ignoring me"
holds "stop" but is about him; "i just want him to stop" too.

(Longer than the package's 400-line guide: stemming, the trigger index and the
scoring are tuned together against the evaluation sets, and are read together.)
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from assistant.library import LanguagePack


@dataclass(frozen=True)
class MatcherSettings:
    threshold: float = 62.0
    """Best theme score needed for a reflection (one trigger heard whole scores 100)."""
    margin: float = 0.05
    """How far the best theme must lead the second, as a share of its score."""
    support: float = 40.0
    """A further trigger scoring this much (on other words) adds to its theme."""
    support_bonus: float = 0.2
    """Share of a supporting trigger's score added to its theme."""
    support_cap: float = 1.5
    """Supporting triggers count at most this much together (before support_bonus)."""
    vocabulary_bonus: float = 30.0
    """At most this much for all the words heard that point at a theme."""
    evidence_scale: float = 4.0
    """Theme evidence (summed word weights) at which the vocabulary bonus is 63 % full."""
    command_threshold: float = 86.0
    """Similarity of the utterance to a command trigger, apart from padding."""
    command_extra_words: int = 3
    """Meaningful words an utterance may have beyond the command triggers it holds."""
    command_left_mass: float = 1.3
    """Theme weight those other words may carry at most ("stop ignoring me" is no command)."""
    command_min_score: float = 80.0
    """Score (100 for all of it a command) an utterance built from command triggers needs."""
    min_content_words: int = 2
    """Fewer meaningful words than this and no theme is guessed."""
    fuzzy_cutoff: float = 84.0
    """rapidfuzz ratio for two different words to count as the same word."""
    other_subject: float = 0.6
    """A trigger about "he" matched where "i" did it (or the reverse) counts this much."""
    pair_weight: float = 0.5
    """How much word pairs known from the triggers add to a theme's evidence."""
    strong_word: float = 0.8
    """Weight from which a word counts as a meaningful hint at a theme."""
    whole_share: float = 0.75
    """A trigger covering this share of what was said may stand on one word."""
    one_word_factor: float = 0.85
    """Otherwise a theme hinted at by fewer than two meaningful words counts this much."""
    word_floor: float = 0.5
    """Least weight any word of a trigger has when counting how much of it was heard."""
    unknown_weight: float = 1.5
    """What a word that no trigger knows weighs when judging how much a trigger explains."""
    min_heard: float = 0.8
    """Theme words heard must weigh this much together, or no theme is guessed ("i don't know")."""
    person_weight: float = 0.7
    """Weight a trigger gains when the person doing it ("i", "he") matches too."""
    light_mass: float = 3.5
    """A trigger whose words weigh less than this together cannot score 100 alone..."""
    light_power: float = 0.5
    """...but (its weight / light_mass) ** light_power of it."""


@dataclass(frozen=True)
class Match:
    id: str | None
    score: float
    second: str | None = None
    second_score: float = 0.0
    trigger: str | None = None


# ---------------------------------------------------------------------------
# Stemming: crude on purpose. The same function runs on triggers and on what was
# heard, so a stem only has to be consistent, not a real word.

_VOWELS = set("aeiouy")


# Words the suffix rules would fold onto another word ("news" -> "new", "car" ~ "care").
_EN_IRREGULAR = {"news": "news", "car": "auto", "cars": "auto", "series": "series"}


def _stem_en(w: str) -> str:
    if w in _EN_IRREGULAR:
        return _EN_IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
        if w.endswith("ing"):
            return w  # a noun: "feelings" is not "feel"
    if w.endswith("ing") and len(w) > 5 and any(c in _VOWELS for c in w[:-3]):
        w = w[:-3]
    elif w.endswith("ed") and len(w) > 4 and any(c in _VOWELS for c in w[:-2]):
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in _VOWELS:
        w = w[:-1]
    if w.endswith("e") and len(w) > 3 and w[-2] not in _VOWELS:
        w = w[:-1]
    return w


def _undouble_nl(w: str) -> str:
    # A doubled vowel in the last syllable is spelling, not meaning: praat/praten.
    if len(w) >= 3 and w[-1] not in _VOWELS and w[-2] == w[-3] and w[-2] in "aeou":
        w = w[:-2] + w[-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in _VOWELS:
        w = w[:-1]
    return w


def _stem_nl(w: str) -> str:
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.startswith("ge") and len(w) > 5 and w.endswith(("d", "t", "en")):
        w = w[2:]
    for suffix in ("tjes", "jes", "tje"):
        if w.endswith(suffix) and len(w) > len(suffix) + 3:
            w = w[: -len(suffix)]
            break
    else:
        if w.endswith("je") and len(w) > 5:
            w = w[:-2]
        elif w.endswith(("de", "te")) and len(w) > 5 and w[-3] not in _VOWELS:
            w = w[:-2]  # past tense: voelde, praatte, schreeuwde
        elif w.endswith("en") and len(w) > 4 and w[-3] != "e":
            w = w[:-2]
        elif w.endswith("s") and len(w) > 4 and w[-2] not in "s":
            w = w[:-1]
        elif w.endswith(("t", "d")) and len(w) > 3 and w[-2] not in _VOWELS:
            w = w[:-1]
        if w.endswith("e") and len(w) > 4 and w[-2] != "e":
            w = w[:-1]
    return _undouble_nl(w)


_STEMMERS = {"en": _stem_en, "nl": _stem_nl}


def _stemmer(language: str, synonyms: dict | None = None):
    """The stemmer for a language, folding words listed as synonyms onto one stem.

    synonyms is language.toml's table {canonical word = [words that mean the same
    here]}: "shout", "scream" and "yell" become one word for matching.
    """
    base = _STEMMERS.get(language, lambda w: w)
    fold: dict[str, str] = {}
    exact: dict[str, str] = {}
    for canonical, words in (synonyms or {}).items():
        if not isinstance(words, list):
            continue
        target = base(canonical)
        for w in words:
            if isinstance(w, str) and w.strip():
                exact[w.strip().lower()] = target
                fold[base(w.strip().lower())] = target
    if not fold:
        return base
    cache: dict[str, str] = {}

    def stem(w: str) -> str:
        s = cache.get(w)
        if s is None:
            # The listed word itself first: "made" (make) and "mad" (angry) share a stem.
            s = exact.get(w)
            if s is None:
                s = base(w)
                s = fold.get(s, s)
            if len(cache) < 100000:
                cache[w] = s
        return s

    return stem


# ---------------------------------------------------------------------------


@dataclass
class _Trigger:
    group: str
    text: str
    n_words: int
    stems: list[int]       # vocabulary ids of its meaningful words, unique
    subjects: list[int]    # for each: who does it, 1 the speaker ("i"), 2 someone else ("he"), 0 unknown
    weights: tuple         # their weights
    mass: float            # sum of the weights
    floored: tuple         # the weights, none below the word floor (for coverage)
    floored_mass: float


class _Vocabulary:
    """The stems of a set of triggers, and how to find a heard word among them."""

    def __init__(self, stem, cutoff: float, loose_ends: bool = False):
        self.stem = stem
        self.cutoff = cutoff
        self.loose_ends = loose_ends
        self.ids: dict[str, int] = {}
        self.words: list[str] = []
        self._shorter: dict[str, list[int]] = {}
        self._cache: dict[str, tuple[tuple[int, float], ...]] = {}

    def add(self, s: str) -> int:
        if s not in self.ids:
            self.ids[s] = len(self.words)
            self.words.append(s)
            if len(s) >= 6:
                self._shorter.setdefault(s[:-1], []).append(self.ids[s])
        return self.ids[s]

    def lookup(self, s: str) -> tuple[tuple[int, float], ...]:
        """(vocabulary id, similarity 0-1) for a heard stem."""
        hit = self._cache.get(s)
        if hit is not None:
            return hit
        found: dict[int, float] = {}
        if s in self.ids:
            found[self.ids[s]] = 1.0
        if len(s) >= 5 and self.loose_ends:
            # One letter more or less at the end: the crude Dutch stemmer disagrees
            # there ("wacht"/"wachten").
            for i in (self.ids.get(s[:-1]) if len(s) >= 6 else None, *self._shorter.get(s, ())):
                if i is not None and i not in found:
                    found[i] = 0.8
        if len(s) >= 5:
            for word, score, i in process.extract(s, self.words, scorer=fuzz.ratio,
                                                  score_cutoff=self.cutoff, limit=4):
                if i not in found and len(word) >= 4:
                    found[i] = 0.35 + 0.5 * (score - self.cutoff) / (100 - self.cutoff)
            if len(s) >= 8:
                # Compounds: a long word that starts or ends with a known stem.
                for word, i in self.ids.items():
                    if len(word) >= 5 and i not in found and (s.startswith(word) or s.endswith(word)):
                        found[i] = 0.7
        result = tuple(found.items())
        if len(self._cache) < 50000:
            self._cache[s] = result
        return result


def _subject(words: list[str], before: int, persons: dict[str, int], reach: int = 6) -> int:
    """The person (1 speaker, 2 other) of the subject word nearest before a position."""
    for k in range(before - 1, max(before - 1 - reach, -1), -1):
        p = persons.get(words[k])
        if p:
            return p
    return 0


def _best_heard(times: list[tuple[int, float, int]], subject: int, other: float) -> tuple[float, bool]:
    """A trigger word's best similarity among the times it was heard, those said by someone
    other than the trigger's person discounted (`other`); and whether its own person said it."""
    best = 0.0
    same_person = False
    for _, sim, said_by in times:
        if subject and said_by and subject != said_by:
            sim *= other
        elif subject and said_by == subject and sim >= best:
            same_person = True
        best = max(best, sim)
    return best, same_person


@dataclass(frozen=True)
class _Flat:
    """Every trigger's words in one set of arrays, trigger by trigger (Matcher._score_triggers):
    for each word, its trigger, stem, person, weight and floored weight; then per trigger."""

    trigger: np.ndarray
    stem: np.ndarray
    subject: np.ndarray
    weight: np.ndarray
    floored: np.ndarray
    floored_mass: np.ndarray
    allowed: np.ndarray
    """How many words its own may be spread over before they count for less."""
    light: np.ndarray
    """min(1, (mass / light_mass) ** light_power): how much a trigger of light words counts."""
    light_person: np.ndarray
    """The same with the person's word of meaning added to its mass."""


def _flatten(triggers: list[_Trigger], settings: MatcherSettings) -> _Flat:
    light, power, person = settings.light_mass, settings.light_power, settings.person_weight
    return _Flat(
        np.array([j for j, t in enumerate(triggers) for _ in t.stems], np.int64),
        np.array([i for t in triggers for i in t.stems], np.int64),
        np.array([x for t in triggers for x in t.subjects], np.int64),
        np.array([x for t in triggers for x in t.weights], np.float64),
        np.array([x for t in triggers for x in t.floored], np.float64),
        np.array([t.floored_mass for t in triggers], np.float64),
        np.array([t.n_words + 3 for t in triggers], np.int64),
        # Worked out here as the loop did, in Python floats: the same numbers.
        np.array([min(1.0, (t.mass / light) ** power) for t in triggers], np.float64),
        np.array([min(1.0, ((t.mass + person) / light) ** power) for t in triggers], np.float64),
    )


class _Index:
    """The triggers of one set of groups (themes or commands), by stem."""

    def __init__(self, pack: LanguagePack, groups: dict[str, list[str]], settings: MatcherSettings,
                 persons: dict[str, int] | None = None):
        self.pack = pack
        folds: dict = {}
        for table in (pack.words.word_forms, pack.words.synonyms):  # checked by library.load_language
            for canonical, words in table.items():
                folds.setdefault(canonical, []).extend(words)
        self.vocab = _Vocabulary(_stemmer(pack.language, folds), settings.fuzzy_cutoff, pack.language == "nl")
        stopwords = pack.normalise.stopwords
        persons = persons or {}
        pairs: dict[tuple[str, str], dict[str, int]] = {}
        raw: list[tuple[str, str, int, list[int], list[int]]] = []
        count: dict[int, int] = {}
        for gid, triggers in groups.items():
            for t in triggers:
                n = pack.normalise(t)
                words = n.split()
                stems: list[int] = []
                subjects: list[int] = []
                for k, w in enumerate(words):
                    if w in stopwords or w in persons:
                        continue
                    i = self.vocab.add(self.vocab.stem(w))
                    if i not in stems:
                        stems.append(i)
                        subjects.append(_subject(words, k, persons))
                        count[i] = count.get(i, 0) + 1
                raw.append((gid, n, len(words), stems, subjects))
                stemmed = [self.vocab.stem(w) for w in words]
                for pair in set(zip(stemmed, stemmed[1:])):
                    pairs.setdefault(pair, {}).setdefault(gid, 0)
                    pairs[pair][gid] += 1
        self.groups = list(groups)
        group_no = {g: k for k, g in enumerate(self.groups)}
        n_words, n_groups = len(self.vocab.words), max(len(self.groups), 1)
        # In how many groups each stem occurs: the fewer, the more it tells apart.
        df = np.zeros(n_words)
        for i, g in {(i, gid) for gid, _, _, stems, _ in raw for i in stems}:
            df[i] += 1
        self.weight = np.log((n_groups + 1) / (df + 0.5))
        # A word seen in one trigger only may be there by chance ("please"); a word
        # that several triggers use is what the theme is about.
        seen_in = np.array([count.get(i, 1) for i in range(n_words)])
        self.weight *= np.minimum(1.0, 0.55 + 0.15 * seen_in)
        self.weight = np.maximum(self.weight, 0.15)
        # How much each stem points at each group: its share of the triggers that use
        # it, overall (share[0]) and when the speaker (share[1]) or someone else
        # (share[2]) does it: "klap dicht" is shutdown after "ik", unreachable after "hij".
        counts = np.zeros((3, n_words, n_groups))
        self.triggers: list[_Trigger] = []
        self.by_stem: list[list[int]] = [[] for _ in range(n_words)]
        for j, (gid, n, nw, stems, subjects) in enumerate(raw):
            w = tuple(float(self.weight[i]) for i in stems)
            floored = tuple(max(x, settings.word_floor) for x in w)
            self.triggers.append(_Trigger(gid, n, nw, stems, subjects, w, sum(w), floored, sum(floored)))
            g = group_no[gid]
            for i, subj in zip(stems, subjects):
                self.by_stem[i].append(j)
                counts[0, i, g] += 1
                if subj:
                    counts[subj, i, g] += 1
                else:
                    counts[1:, i, g] += 0.5
        totals = counts.sum(axis=2, keepdims=True)
        self.share = counts / np.maximum(totals, 1e-9)
        for subj in (1, 2):  # too little to go on: use the overall share
            thin = totals[subj, :, 0] < 1
            self.share[subj, thin] = self.share[0, thin]
        # Word pairs ("the more", "let down", "hoe meer") as evidence of their own:
        # the same weighing, over pairs of neighbouring words.
        self.pairs: dict[tuple[str, str], np.ndarray] = {}
        for pair, by_group in pairs.items():
            total = sum(by_group.values())
            if len(by_group) > n_groups // 4:
                continue  # a pair every other theme uses ("i am") tells nothing
            weight = math.log((n_groups + 1) / (len(by_group) + 0.5)) * min(1.0, 0.55 + 0.15 * total)
            vec = np.zeros(n_groups)
            for gid, c in by_group.items():
                vec[group_no[gid]] = weight * c / total
            self.pairs[pair] = vec
        self.flat = _flatten(self.triggers, settings)


def _window(positions: list[list[int]]) -> tuple[int, int]:
    """Smallest stretch of words holding one position from each list: (length, start)."""
    if len(positions) <= 1:
        return 1, min(positions[0]) if positions else 0
    events = sorted((p, k) for k, ps in enumerate(positions) for p in ps)
    need = len(positions)
    count: dict[int, int] = {}
    best, best_start = 10**9, 0
    left = 0
    for right, (p, k) in enumerate(events):
        count[k] = count.get(k, 0) + 1
        while len(count) == need:
            lp, lk = events[left]
            if p - lp + 1 < best:
                best, best_start = p - lp + 1, lp
            count[lk] -= 1
            if not count[lk]:
                del count[lk]
            left += 1
    return best, best_start


class Matcher:
    """Scores text against one language's themes and commands."""

    def __init__(self, pack: LanguagePack, settings: MatcherSettings | None = None):
        self.pack = pack
        self.s = settings or MatcherSettings()
        # The responder asks about one utterance several times (its command, its theme, and
        # the numbers the meaning layer's stack reads): the last few answers are kept.
        self.theme_scores = functools.lru_cache(maxsize=8)(self.theme_scores)
        self.command = functools.lru_cache(maxsize=8)(self.command)
        words = pack.words  # language.toml's lists, checked by library.load_language
        self._persons = {pack.normalise(w): 1 for w in words.speaker_words}
        self._persons.update({pack.normalise(w): 2 for w in words.other_words})
        self._persons.pop("", None)
        # Words for the couple or the family ("we", "ons"): a command word said about them
        # ("dat was het voor ons", "we need to stop") is about the relationship, not to Haven.
        self._together = frozenset(pack.normalise(w) for w in words.together_words)
        self._themes = _Index(pack, {t.id: t.triggers for t in pack.themes.values()}, self.s, self._persons)
        self._commands = _Index(pack, {c.id: c.triggers for c in pack.commands.values()}, self.s)
        self._group_no = {g: k for k, g in enumerate(self._themes.groups)}
        self._padding = {self.pack.normalise(p) for p in words.command_padding}
        self._padding_re = (
            re.compile(r"(?<!\S)(?:" + "|".join(re.escape(p) for p in sorted(self._padding, key=len, reverse=True) if p)
                       + r")(?!\S)") if any(self._padding) else None
        )
        self._command_full = [t.text for t in self._commands.triggers]
        # A trigger without its padding, unless nothing meaningful would be left
        # ("what is haven" stays itself; "please continue" becomes "continue").
        stop = pack.normalise.stopwords
        self._command_core = []
        for t in self._command_full:
            core = self._strip_padding(t)
            self._command_core.append(core if any(w not in stop for w in core.split()) else t)
        self._command_words = [t.split() for t in self._command_full]
        self._command_lengths = (np.array([len(t.split()) for t in self._command_full]),
                                 np.array([len(t.split()) for t in self._command_core]))
        self._command_groups: dict[str, list[tuple[_Trigger, list[str]]]] = {cid: [] for cid in self._commands.groups}
        for t, tw in zip(self._commands.triggers, self._command_words):
            self._command_groups[t.group].append((t, tw))
        self._command_vocab = {cid: {w for _, tw in group for w in tw} for cid, group in self._command_groups.items()}
        # Every word the command triggers use, to compare with all heard words in one call.
        self._command_word_list = sorted({w for tw in self._command_words for w in tw})
        self._command_word_long = np.array([len(w) >= 5 for w in self._command_word_list])

    def normalise(self, text: str) -> tuple[str, str]:
        full = self.pack.normalise(text)
        return full, " ".join(self.pack.normalise.content_words(full))

    # -- themes -------------------------------------------------------------

    def _heard(self, index: _Index, words: list[str]) -> tuple[dict[int, list[tuple[int, float, int]]], int, float]:
        """For each vocabulary stem heard: (position, similarity, person) of each time it
        was heard; and the number of meaningful words, and how much they say together."""
        stop = self.pack.normalise.stopwords
        persons = self._persons
        heard: dict[int, list[tuple[int, float, int]]] = {}
        content = [k for k, w in enumerate(words) if w not in stop and w not in persons]
        lookup, stem = index.vocab.lookup, index.vocab.stem
        said = 0.0
        weight = index.weight
        for n, k in enumerate(content):
            subject = _subject(words, k, persons)
            hits = list(lookup(stem(words[k])))
            if n + 1 < len(content) and content[n + 1] == k + 1:
                # Two words that a trigger writes as one ("relatie therapie", "head phones").
                joined = index.vocab.ids.get(stem(words[k] + words[k + 1]))
                if joined is not None:
                    hits.append((joined, 0.9))
            for i, sim in hits:
                heard.setdefault(i, []).append((k, sim, subject))
            # How much this word says: a word no trigger knows ("car", "gym") is
            # taken to be about something else, and weighs like a fairly rare word.
            said += max((weight[i] * sim for i, sim in hits), default=self.s.unknown_weight)
        return heard, len(content), said

    def _score_triggers(self, index: _Index, words: list[str]):
        """Each trigger that shares a word with what was heard: (score 0-1, stems matched).

        The themes have some 3,000 triggers, and a long utterance shares a word with about
        400 of them: their sums are taken over flat arrays of every trigger's words
        (_Flat) in the order a loop over each trigger's words would add them, so the
        scores are those of that loop, at a third of its cost."""
        heard, n_content, said_all = self._heard(index, words)
        flat = index.flat
        if not heard:
            return {}, heard, n_content
        other = self.s.other_subject
        # A heard stem's best similarity depends only on who the trigger says does it
        # (0 anyone, 1 the speaker, 2 someone else), not on the trigger: found once for each.
        best = np.zeros((len(index.weight), 3))
        same = np.zeros((len(index.weight), 3), bool)
        first = np.zeros(len(index.weight), np.int64)
        last = np.zeros(len(index.weight), np.int64)
        once = np.zeros(len(index.weight), bool)
        for i, times in heard.items():
            for subj in (0, 1, 2):
                best[i, subj], same[i, subj] = _best_heard(times, subj, other)
            places = [k for k, _, _ in times]
            first[i], last[i], once[i] = min(places), max(places), len(places) == 1
        is_heard = np.zeros(len(index.weight), bool)
        is_heard[list(heard)] = True
        at = np.flatnonzero(is_heard[flat.stem])  # the trigger words heard, trigger by trigger
        stem, subj, trig = flat.stem[at], flat.subject[at], flat.trigger[at]
        got = best[stem, subj]
        n = len(index.triggers)
        floored = np.bincount(trig, weights=got * flat.floored[at], minlength=n)
        weighed = np.bincount(trig, weights=got * flat.weight[at], minlength=n)
        starts = np.flatnonzero(np.r_[True, trig[1:] != trig[:-1]])
        cand = trig[starts]
        bonus = np.logical_or.reduceat(same[stem, subj], starts)
        spread = np.logical_or.reduceat(~once[stem], starts)  # a word heard twice: the full search
        span = np.maximum.reduceat(last[stem], starts) - np.minimum.reduceat(first[stem], starts) + 1
        # Every word of a trigger counts for something: a rare word alone does
        # not make "she did not come to the hospital" out of "she works at the hospital".
        coverage = floored[cand] / flat.floored_mass[cand]
        # A trigger of light words only ("are you even there") is weak evidence, unless it
        # is nearly all that was said; the right person doing it ("she started it") is a
        # word's worth of meaning too (flat.light: its factor with and without that).
        said = np.minimum(1.0, weighed[cand] / max(said_all, 1e-9))
        light = np.maximum(np.where(bonus, flat.light_person[cand], flat.light[cand]), said)
        bounds = np.r_[starts, len(at)].tolist()
        stems = stem.tolist()
        coverage, light, span, spread = coverage.tolist(), light.tolist(), span.tolist(), spread.tolist()
        allowed = flat.allowed[cand].tolist()
        row = {j: c for c, j in enumerate(cand.tolist())}
        scores: dict[int, tuple[float, frozenset]] = {}
        # In the order of this set, as before: among triggers that score alike, the first
        # one found is a theme's best and the others its support.
        for j in {j for i in heard for j in index.by_stem[i]}:
            c = row[j]
            matched = stems[bounds[c]:bounds[c + 1]]
            cov = coverage[c]
            # A trigger's words scattered over a long ramble count for less.
            width = _window([[k for k, _, _ in heard[i]] for i in matched])[0] if spread[c] else span[c]
            if width > allowed[c]:
                cov *= max(0.5, allowed[c] / width) ** 0.5
            scores[j] = (cov * light[c], frozenset(matched))
        return scores, heard, n_content

    def theme_scores(self, text: str) -> tuple[list[tuple[str, float, str | None]], bool]:
        """Every theme that shares a word with the text: (id, score, best trigger), best
        first; and whether enough meaning was heard to name a theme at all.

        One trigger heard whole scores 100; support from other triggers and from the
        theme's vocabulary can add to that."""
        full, _ = self.normalise(text)
        index = self._themes
        words = full.split()
        scores, heard, n_content = self._score_triggers(index, words)
        per: dict[str, list[tuple[float, frozenset, int]]] = {}
        for j, (sc, matched) in scores.items():
            per.setdefault(index.triggers[j].group, []).append((sc, matched, j))
        # All the theme words heard, each pointing at the themes whose triggers use
        # it (in the same person, where the triggers say).
        evidence = np.zeros(len(index.groups))
        heard_mass = sum(index.weight[i] * max(x[1] for x in times) for i, times in heard.items())
        enough = n_content >= self.s.min_content_words and heard_mass >= self.s.min_heard
        for i, times in heard.items():
            _, sim, said_by = max(times, key=lambda x: x[1])
            evidence += index.weight[i] * sim * index.share[said_by, i]
        if self.s.pair_weight:
            stem = index.vocab.stem
            stemmed = [stem(w) for w in words]
            for pair in set(zip(stemmed, stemmed[1:])):
                vec = index.pairs.get(pair)
                if vec is not None:
                    evidence += self.s.pair_weight * vec
        out = []
        for g, lst in per.items():
            lst.sort(key=lambda x: x[0], reverse=True)
            best, used, j = lst[0]
            support = 0.0
            rank = 1
            for sc, matched, _ in lst[1:8]:
                if sc >= self.s.support / 100 and not matched <= used:
                    support += sc / rank
                    rank += 1
                    used = used | matched
            score = best + self.s.support_bonus * min(support, self.s.support_cap)
            gno = self._group_no[g]
            e = evidence[gno]
            score += (self.s.vocabulary_bonus / 100) * (1 - math.exp(-e / self.s.evidence_scale))
            # One meaningful word is a hint, not a theme ("my mom called about the
            # holidays"), unless the trigger is nearly all that was said ("i feel so alone").
            if len(lst[0][1]) < self.s.whole_share * n_content:
                strong = sum(1 for i in heard
                             if index.share[0, i, gno] > 0 and index.weight[i] >= self.s.strong_word)
                if strong < 2:
                    score *= self.s.one_word_factor
            out.append((g, 100 * score, index.triggers[j].text))
        out.sort(key=lambda x: x[1], reverse=True)
        return out, enough

    def theme(self, text: str) -> Match:
        """The theme, or Match(None) when none is clearly there (fallback)."""
        ranked, enough = self.theme_scores(text)
        if not enough or not ranked:
            return Match(None, ranked[0][1] if ranked else 0.0)
        best, best_score, trig = ranked[0]
        second, second_score = (ranked[1][0], ranked[1][1]) if len(ranked) > 1 else (None, 0.0)
        if best_score < self.s.threshold or best_score - second_score < self.s.margin * best_score:
            return Match(None, best_score, best, second_score, trig)
        return Match(best, best_score, second, second_score, trig)

    # -- commands -----------------------------------------------------------

    def _strip_padding(self, full: str) -> str:
        if self._padding_re is None:
            return full
        return " ".join(self._padding_re.sub(" ", full).split())

    def _padding_mask(self, full: str) -> list[bool]:
        """For each word of full: is it part of a padding phrase?"""
        words = full.split()
        mask = [False] * len(words)
        if self._padding_re is None:
            return mask
        starts = {}
        k = 0
        for i, w in enumerate(words):  # character offset of each word
            starts[k] = i
            k += len(w) + 1
        for m in self._padding_re.finditer(full):
            i = starts.get(m.start())
            if i is None:
                continue
            for j in range(i, i + len(m.group(0).split())):
                mask[j] = True
        return mask

    def _theme_mass(self, words: list[str]) -> float:
        """How much theme evidence some words carry (their heaviest stems' weights)."""
        vocab = self._themes.vocab
        total = 0.0
        for w in words:
            if w in self.pack.normalise.stopwords:
                continue
            hits = vocab.lookup(vocab.stem(w))
            if hits:
                total += max(self._themes.weight[i] * s for i, s in hits)
        return total

    def _about_others(self, words: list[str], trigger: str = "") -> bool:
        """Does someone else, or the couple, do it? (Words the command trigger itself holds
        do not count: "kunnen we even stoppen".)"""
        own = set(trigger.split())
        return any((self._persons.get(w) == 2 or w in self._together) and w not in own for w in words)

    def command(self, text: str) -> Match:
        """A command only when the utterance is mostly the command itself."""
        full, _ = self.normalise(text)
        core = self._strip_padding(full)
        if not core:
            return Match(None, 0.0)
        # The whole utterance, misheard a little: no more words than the trigger.
        n_full, n_core = len(full.split()), len(core.split())
        whole = process.cdist([full], self._command_full, scorer=fuzz.ratio, dtype=np.float32)[0]
        whole = np.where(self._command_lengths[0] >= n_full, whole, 0)
        if n_core * 2 >= n_full:
            # Without the padding, unless that leaves only a scrap ("wat kun je allemaal" -> "wat").
            bare = process.cdist([core], self._command_core, scorer=fuzz.ratio, dtype=np.float32)[0]
            whole = np.maximum(whole, np.where(self._command_lengths[1] >= n_core, bare, 0))
        i = int(np.argmax(whole))
        if whole[i] >= self.s.command_threshold and not self._about_others(full.split(), self._command_full[i]):
            return Match(self._commands.triggers[i].group, float(whole[i]), trigger=self._command_full[i])
        # Otherwise the utterance must be made of triggers of one command and polite
        # padding, with only a few other words, none of them carrying theme meaning.
        words = full.split()
        padding = self._padding_mask(full)
        stop = self.pack.normalise.stopwords
        best: tuple[float, str | None, str | None] = (float(whole[i]), None, None)
        present = set(words)
        where = self._command_word_places(words)
        for cid in self._commands.groups:
            covered = list(padding)
            longest = None
            for t, tw in self._command_groups[cid]:
                if len(tw) > len(words) or (len(tw[0]) < 5 and tw[0] not in present):
                    continue
                hit = _find_words([where[w] for w in tw])
                if hit is None:
                    continue
                for k in hit:
                    covered[k] = True
                if longest is None or len(t.text) > len(longest):
                    longest = t.text
            if longest is None:
                continue
            own = self._command_vocab[cid]
            left = [w for w, c in zip(words, covered) if not c]
            if self._about_others(left):
                continue  # about someone else ("i just want him to stop"), not to Haven
            left_content = [w for w in left if w not in stop and w not in own]
            share = sum(covered) / len(words)
            if len(left_content) > self.s.command_extra_words or share < 0.4:
                continue
            if left_content and self._theme_mass(left_content) > self.s.command_left_mass:
                continue
            score = 100 * (0.8 + 0.2 * share) - 2 * len(left_content)
            if score > best[0]:
                best = (score, cid, longest)
        if best[1] is not None and best[0] >= self.s.command_min_score:
            return Match(best[1], best[0], trigger=best[2])
        return Match(None, best[0])


    def _command_word_places(self, words: list[str]) -> dict[str, list[bool]]:
        """For each command trigger word: at which heard words it was heard, the same or (for
        words of five letters or more) slightly misheard. One rapidfuzz call for all pairs:
        comparing them one by one was most of a command's time."""
        known, long_enough = self._command_word_list, self._command_word_long
        ratios = process.cdist(known, words, scorer=fuzz.ratio, dtype=np.float64)
        heard = (ratios == 100) | (long_enough[:, None] & (ratios >= self.s.fuzzy_cutoff))  # 100: the same word
        return dict(zip(known, heard.tolist()))


def _find_words(places: list[list[bool]], gaps: int = 2) -> list[int] | None:
    """Positions of a trigger's words, in order and close together (a few words may
    come between, one word may be slightly misheard), or None. `places`: for each word of
    the trigger, whether it was heard at each position of the utterance."""
    n, length = len(places), len(places[0])
    first = places[0]
    for start in range(0, length - n + 1):
        if not first[start]:
            continue
        found = [start]
        k = start + 1
        skipped = 0
        for at in places[1:]:
            while k < length and not at[k] and skipped < gaps:
                k += 1
                skipped += 1
            if k >= length or not at[k]:
                break
            found.append(k)
            k += 1
        if len(found) == n:
            return found
    return None
