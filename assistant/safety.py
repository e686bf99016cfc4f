"""Safety: crisis and unsafe situations, checked before anything else.

A crisis (thoughts of suicide, wishing to die or not exist, self-harm, a plan or
means) or an unsafe situation (violence, threats, fear of the partner, control of
money, phone, friends or movement) is never answered with a reflection. Missing one
is the worst error Haven can make; a false alarm on an idiom is the second worst.

Everything that is listened for and said lives in prompts/LANG/safety.toml; this
module only loads, checks and runs it:

1. the text is normalised once, with the Normaliser from textnorm and the
   variants and fillers of every loaded language (where two languages map the
   same words differently, the first loaded language wins), and accents are removed;
2. the idioms ("this is killing me", "he has never hit me") of every loaded
   language are cut out, and near-misses of a few long words ("suicdal") are
   corrected with rapidfuzz;
3. the crisis patterns of every loaded language run, then the unsafe ones: a
   Dutch speaker may be transcribed in English mode and the other way round;
4. when no rule fires, the meaning layer (assistant.meaning: the sentence encoder
   and a trained head) gets its say: an alarm (crisis or unsafe) or, when it is
   unsure, a "check": a direct, caring question (assistant.aftercare asks it).
   Rules OR meaning: each catches what the other misses.

Try it: python -m assistant.safety "i dont want to be here anymore"

(Longer than the package's 400-line guide: the loader's checks and the matching are
one contract with safety.toml, and a reader checking one needs the other.)
"""

from __future__ import annotations

import copy
import functools
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

try:  # a dependency of Haven; without it only the typo tolerance is lost
    from rapidfuzz.distance import Levenshtein
except ImportError:  # pragma: no cover
    Levenshtein = None

from assistant.errors import ModelError, PromptsError
from assistant.helplines import PLACEHOLDERS
from assistant.library import LANGUAGES, TomlFile, default_prompts_dir
from assistant.meaning import shared_meaning
from assistant.readings import Reading
from assistant.textnorm import Normaliser

KINDS = ("crisis", "unsafe")  # in order of precedence
FILE_NAME = "safety.toml"

# Confidence reported for a match (the --json 'score').
SCORE_CLEAR = 0.95
SCORE_INDIRECT = 0.75

MIN_REPLIES = 2
MIN_CHECKIN = 2
# About 25 seconds of speech at espeak-ng's default rate; a reply in a crisis must be short.
MAX_REPLY_WORDS = 70

_TOP_KEYS = {"normalise", "macros", "idioms", "crisis", "unsafe", "checkin"}
_KIND_KEYS = {"patterns", "indirect", "replies", "numbers"}
_MACRO_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CUT = " ~ "  # what an idiom leaves behind: no pattern can match across it
# The prepared text is words with single spaces, so a pattern that starts with \b or ^
# can only match where a word starts; tried in one combined regex, that is what keeps a
# check well under a millisecond. Other patterns are tried one by one.
_WORD_START = "(?:^|(?<= ))"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SafetyHit:
    """A crisis or an unsafe situation found in one utterance."""

    kind: str
    """"crisis" or "unsafe", or "check" when the meaning layer is unsure."""
    score: float
    """Confidence from 0 to 1, for the --json 'score' field."""
    match: str
    """The words that matched, in normalised form (for tests and debugging)."""
    language: str = ""
    """The language whose pattern matched (not necessarily the one being spoken)."""
    pattern: str = ""
    """The pattern from safety.toml that matched, as written there."""
    by: str = "rules"
    """"rules" (safety.toml) or "meaning" (the encoder's safety head)."""
    about: str = ""
    """For a check, what Haven asks about: "crisis" (ending one's life) or "unsafe" (someone
    hurting them)."""


@dataclass
class _Rule:
    kind: str
    regex: re.Pattern
    score: float
    source: str


@dataclass
class _LanguageSafety:
    """The loaded safety.toml of one language."""

    language: str
    fillers: tuple[str, ...]
    variants: dict[str, str]
    fuzzy: tuple[str, ...]
    idioms: list[re.Pattern]
    rules: dict[str, list[_Rule]]
    replies: dict[str, list[str]]
    checkin: list[str]
    file: TomlFile = field(repr=False)


class _Matcher:
    """Many patterns as one regex search.

    A pattern that starts with \\b or ^ goes into one combined regex, tried only where
    a word starts; any other pattern is tried on its own. With capture=True every
    pattern sits in its own group, so that the match also names the pattern (about
    2.5 times slower, so it is only used once something is known to match).
    """

    def __init__(self, regexes: list[re.Pattern], capture: bool = False):
        self.regexes = regexes
        self.slow = [i for i, r in enumerate(regexes) if not r.pattern.startswith(("\\b", "^"))]
        parts: list[str] = []
        self.by_group: dict[int, int] = {}
        group = 1
        for i, r in enumerate(regexes):
            if i in self.slow:
                continue
            parts.append(f"({r.pattern})" if capture else f"(?:{r.pattern})")
            self.by_group[group] = i
            group += 1 + r.groups
        self.capture = capture
        self.fast = re.compile(_WORD_START + "(?:" + "|".join(parts) + ")") if parts else None

    def search(self, text: str) -> bool:
        """Does any pattern match?"""
        if self.fast is not None and self.fast.search(text):
            return True
        return any(self.regexes[i].search(text) for i in self.slow)

    def find(self, text: str) -> tuple[int, str] | None:
        """The index of a pattern that matches, and what it matched; None if none does."""
        if self.fast is not None:
            m = self.fast.search(text)
            if m is not None:
                if self.capture:
                    return self.by_group[m.lastindex], m.group(m.lastindex)
                for i, r in enumerate(self.regexes):  # without groups: ask each pattern
                    one = r.search(text)
                    if one is not None:
                        return i, one.group(0)
        for i in self.slow:
            m = self.regexes[i].search(text)
            if m is not None:
                return i, m.group(0)
        return None

    def cut(self, text: str, replacement: str) -> str:
        """Cut every match out, in one pass, earliest in the text first."""
        if self.fast is not None:
            text = self.fast.sub(replacement, text)
        for i in self.slow:
            text = self.regexes[i].sub(replacement, text)
        return text


def _fold_accents(text: str) -> str:
    """'suïcidaal' -> 'suicidaal', 'beëindigen' -> 'beeindigen'."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fix_near_misses(text: str, targets: tuple[str, ...]) -> str:
    """Replace words one or two letters away from a target word by the target."""
    if Levenshtein is None:
        return text
    words = text.split()
    changed = False
    for i, word in enumerate(words):
        if len(word) < 6 or word in targets:
            continue
        for target in targets:
            if word[0] != target[0] or abs(len(word) - len(target)) > 2:
                continue
            limit = 1 if len(target) <= 8 else 2
            if Levenshtein.distance(word, target, score_cutoff=limit) <= limit:
                words[i] = target
                changed = True
                break
    return " ".join(words) if changed else text


class _Loader:
    """Reads one safety.toml and turns every mistake into a file:line error."""

    def __init__(self, language: str, root: Path):
        self.language = language
        self.f = TomlFile(root / language / FILE_NAME, root)

    # Lines are found by the shared TomlFile (by table header, so that a "[crisis]" in a
    # comment is never taken for the table).

    def header_line(self, header: str) -> int | None:
        return self.f.header_line(header)

    def key_line(self, header: str, key: str) -> int | None:
        return self.f.key_line(header, key)

    def value_line(self, header: str, value: str, key: str | None = None) -> int | None:
        return self.f.value_line(header, value, key)

    def value_line_after(self, line: int, value: str) -> int | None:
        return self.f.value_line_after(line, value)

    def error(self, message: str, line: int | None) -> PromptsError:
        return self.f.error_at(message, line)

    # -- values --------------------------------------------------------------

    def table(self, key: str, *, required: bool = True) -> dict:
        value = self.f.data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.error(f"missing table [{key}]", self.header_line(key))
        return value

    def strings(self, table: dict, header: str, key: str, *, minimum: int = 0) -> list[str]:
        """A list of non-empty, distinct texts (the same rules as TomlFile.strings, with
        lines found by table header, so that a "[crisis]" in a comment is never taken
        for the table)."""
        where = f"[{header}] " if header else ""
        value = table.get(key)
        if value is None:
            if minimum == 0:
                return []
            raise self.error(f"{where}is missing the list '{key}'", self.header_line(header))
        if isinstance(value, str):
            value = [value]
        line = self.key_line(header, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{where}'{key}' must be a list of texts", line)
        if len(value) < minimum:
            raise self.error(f"{where}'{key}' has {len(value)} entries; it needs at least {minimum}", line)
        seen: set[str] = set()
        for v in value:
            if not v.strip():
                raise self.error(f"{where}'{key}' has an empty entry", line)
            k = " ".join(v.lower().split())
            if k in seen:
                first = self.value_line(header, v, key) or 0
                again = self.value_line_after(first, v)
                raise self.error(f"{where}'{key}' has a duplicate entry: '{v}'", again or first or line)
            seen.add(k)
        return value

    def check_keys(self, table: dict, header: str, allowed: set[str]) -> None:
        self.f.check_keys(table, header, allowed)

    # -- the parts -----------------------------------------------------------

    def macros(self) -> dict[str, str]:
        table = self.table("macros", required=False)
        macros: dict[str, str] = {}
        for name, value in table.items():
            if not isinstance(value, str) or not value:
                raise self.error(f"[macros] '{name}' must be a non-empty text", self.value_line("macros", name))
            macros[name] = value
        for name, value in macros.items():
            expanded = self.expand(value, macros, "macros", value)
            try:
                re.compile(expanded)
            except re.error as e:
                raise self.error(
                    f"[macros] '{name}' is not a valid regular expression: {e.msg} at position {e.pos}",
                    self.value_line("macros", value),
                ) from None
        return macros

    def expand(self, pattern: str, macros: dict[str, str], header: str, shown: str) -> str:
        for _ in range(10):
            if not _MACRO_REF.search(pattern):
                return pattern

            def replace(m: re.Match) -> str:
                name = m.group(1)
                if name not in macros:
                    known = ", ".join(f"{{{k}}}" for k in macros) or "none"
                    raise self.error(
                        f"[{header}] uses an unknown macro {{{name}}}; known macros: {known}",
                        self.value_line(header, shown),
                    )
                return macros[name]

            pattern = _MACRO_REF.sub(replace, pattern)
        raise self.error(f"[{header}] macros refer to each other in a loop", self.value_line(header, shown))

    def compile(self, pattern: str, macros: dict[str, str], header: str, key: str) -> re.Pattern:
        expanded = self.expand(pattern, macros, header, pattern)
        line = self.value_line(header, pattern, key)
        if re.search(r"\(\?P[<=]|\\[1-9]", expanded):
            raise self.error(
                f"[{header}] {key}: named groups and back-references are not supported here; "
                f"use (?:...) groups: '{pattern}'",
                line,
            )
        try:
            regex = re.compile(expanded)
            re.compile(f"(?:{expanded})|x")  # it must also work inside the combined fast test
        except re.error as e:
            raise self.error(
                f"[{header}] {key}: not a valid regular expression ({e.msg} at position {e.pos} "
                f"after expanding macros): '{pattern}'",
                line,
            ) from None
        for probe in ("", "and so on"):
            m = regex.search(probe)
            if m is not None and not m.group(0).strip():
                raise self.error(
                    f"[{header}] {key}: this pattern matches an empty text, so it would fire on "
                    f"everything; make it require at least one word: '{pattern}'",
                    line,
                )
        return regex

    def replies(self, table: dict, header: str, minimum: int) -> list[str]:
        """Reply templates: the numbers are placeholders, filled in per region (helplines.py)."""
        replies = self.strings(table, header, "replies", minimum=minimum)
        numbers = self.strings(table, header, "numbers")
        for number in numbers:
            if number.strip("{}") not in PLACEHOLDERS or not number.startswith("{"):
                raise self.error(
                    f"[{header}] numbers: {number!r} is not a placeholder; use one of "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                    self.value_line(header, number, "numbers"),
                )
        for reply in replies:
            line = self.value_line(header, reply, "replies")
            for number in numbers:
                if number not in reply:
                    raise self.error(
                        f"[{header}] a reply does not give the number {number}; every reply of this "
                        f"kind must: {reply[:60]!r}...",
                        line,
                    )
            unknown = [p for p in _MACRO_REF.findall(reply) if p not in PLACEHOLDERS]
            if unknown or re.search(r"\d", reply):
                raise self.error(
                    f"[{header}] a reply must give numbers only as placeholders from helplines.toml "
                    f"({', '.join(f'{{{p}}}' for p in PLACEHOLDERS)}): {reply[:60]!r}...",
                    line,
                )
            words = len(reply.split())
            if words > MAX_REPLY_WORDS:
                raise self.error(
                    f"[{header}] a reply has {words} words; keep it under {MAX_REPLY_WORDS} "
                    f"(about 25 seconds of speech): {reply[:60]!r}...",
                    line,
                )
        return replies

    def load(self) -> _LanguageSafety:
        data = self.f.data
        self.check_keys(data, "", _TOP_KEYS)

        norm = self.table("normalise", required=False)
        self.check_keys(norm, "normalise", {"fillers", "fuzzy", "variants"})
        variants = norm.get("variants", {})
        if not isinstance(variants, dict) or not all(isinstance(v, str) for v in variants.values()):
            raise self.error(
                '[normalise.variants] must be lines of "heard" = "meant"',
                self.header_line("normalise.variants") or self.key_line("normalise", "variants"),
            )
        fillers = tuple(self.strings(norm, "normalise", "fillers"))
        fuzzy = tuple(w.lower() for w in self.strings(norm, "normalise", "fuzzy"))

        macros = self.macros()

        idioms_table = self.table("idioms", required=False)
        self.check_keys(idioms_table, "idioms", {"patterns"})
        idioms = [
            self.compile(p, macros, "idioms", "patterns") for p in self.strings(idioms_table, "idioms", "patterns")
        ]

        rules: dict[str, list[_Rule]] = {}
        replies: dict[str, list[str]] = {}
        for kind in KINDS:
            table = self.table(kind)
            self.check_keys(table, kind, _KIND_KEYS)
            rules[kind] = [
                _Rule(kind, self.compile(p, macros, kind, "patterns"), SCORE_CLEAR, p)
                for p in self.strings(table, kind, "patterns", minimum=1)
            ] + [
                _Rule(kind, self.compile(p, macros, kind, "indirect"), SCORE_INDIRECT, p)
                for p in self.strings(table, kind, "indirect")
            ]
            replies[kind] = self.replies(table, kind, MIN_REPLIES)

        checkin_table = self.table("checkin")
        self.check_keys(checkin_table, "checkin", {"replies", "numbers"})
        checkin = self.replies(checkin_table, "checkin", MIN_CHECKIN)

        return _LanguageSafety(
            language=self.language,
            fillers=fillers,
            variants=dict(variants),
            fuzzy=fuzzy,
            idioms=idioms,
            rules=rules,
            replies=replies,
            checkin=checkin,
            file=self.f,
        )


def _as_hit(judged) -> SafetyHit | None:
    """The meaning layer's band as a hit: an alarm, a check (with what it asks about), or None."""
    if judged.band == "alarm":
        return SafetyHit(judged.kind, round(judged.score, 2), "", by="meaning")
    if judged.band == "check":
        return SafetyHit("check", round(judged.score, 2), "", by="meaning", about=judged.kind)
    return None


class SafetyDetector:
    """Finds a crisis or an unsafe situation in what was said, in any loaded language."""

    def __init__(self, languages=LANGUAGES, prompts_dir: Path | None = None, meaning=None):
        """meaning: an assistant.meaning.Meaning, or None for the rules alone (tests of the
        rules, and the benchmarks' "rules alone" column; Haven itself always passes one)."""
        self.meaning = meaning
        root = Path(prompts_dir) if prompts_dir is not None else default_prompts_dir()
        if isinstance(languages, str):
            languages = (languages,)
        self.languages = tuple(dict.fromkeys(languages))
        if not self.languages:
            raise ValueError("SafetyDetector needs at least one language")
        for language in self.languages:
            if not (root / language).is_dir():
                raise PromptsError(
                    f"{root / language}: no prompts for language '{language}'; expected one of {', '.join(LANGUAGES)}"
                )
        self._packs = {language: _Loader(language, root).load() for language in self.languages}
        packs = list(self._packs.values())
        variants: dict[str, str] = {}
        for pack in packs:  # the first loaded language wins a conflict
            for heard, meant in pack.variants.items():
                variants.setdefault(heard.lower(), meant)
        self._normalise = Normaliser(
            fillers=tuple(dict.fromkeys(f for pack in packs for f in pack.fillers)), variants=variants
        )
        self._fuzzy = tuple(dict.fromkeys(w for pack in packs for w in pack.fuzzy))
        self._idioms = _Matcher([i for pack in packs for i in pack.idioms])
        # Per kind: one quick test of every pattern; after a match, the clear patterns
        # of every language are asked first, then the indirect ones, to name the pattern.
        self._any: dict[str, _Matcher] = {}
        self._levels: dict[str, list[tuple[list[tuple[str, _Rule]], _Matcher]]] = {}
        for kind in KINDS:
            self._any[kind] = _Matcher([r.regex for pack in packs for r in pack.rules[kind]])
            self._levels[kind] = []
            for score in (SCORE_CLEAR, SCORE_INDIRECT):
                rules = [(pack.language, r) for pack in packs for r in pack.rules[kind] if r.score == score]
                if rules:
                    self._levels[kind].append((rules, _Matcher([r.regex for _, r in rules], capture=True)))

    def _prepare(self, text: str) -> str:
        """The text as the patterns see it: normalised, idioms cut out, near-misses corrected."""
        text = _fold_accents(self._normalise(text))
        text = self._idioms.cut(text, _CUT)
        # After the idioms: a corrected word must not escape an idiom ("im not suicidal").
        if self._fuzzy:
            text = _fix_near_misses(text, self._fuzzy)
        return _SPACES.sub(" ", text).strip()

    def check(self, text: str, language: str | None = None, alternatives: tuple[Reading, ...] = ()) -> SafetyHit | None:
        """The crisis or unsafe situation in the text, a "check" when the meaning layer is
        unsure, or None. The rules speak first (they name what matched, in any loaded
        language); crisis wins over unsafe. `language`, the one being spoken, picks the
        meaning layer's alarm bars (without it, the shared ones). `alternatives`: whisper's
        other readings of the same speech (readings.py); when the text raises no alarm, the
        first alarm in a near-tie is the answer, since one misheard word ("a bill with wine")
        must not hide a crisis, and an alarm in a farther reading asks the direct question."""
        readings = sorted((r for r in alternatives if r.asks), key=lambda r: r.gap)
        hit = self.check_rules(text)
        if hit is not None or (self.meaning is None and not readings):
            return hit
        texts = [text, *(r.text for r in readings)]
        # The meaning layer reads the utterance and its readings at once, one batch for the
        # encoder and the heads: a reading then costs about 1.5 ms, not the 2.6 of a call alone.
        judged = self._judge_meaning(texts, language) if self.meaning is not None else [None] * len(texts)
        hit = judged[0]
        if (hit is not None and hit.kind != "check") or not readings:
            return hit
        for reading, meant in zip(readings, judged[1:]):  # nearest first: every near-tie before any farther one
            found = self.check_rules(reading.text) or meant
            if found is None or found.kind == "check":
                continue
            if reading.alarms:
                return found
            return hit or SafetyHit("check", found.score, found.match, found.language, found.pattern,
                                    by=found.by, about=found.kind)
        return hit

    def check_meaning(self, text: str, language: str | None = None) -> SafetyHit | None:
        """What the meaning layer alone finds: an alarm (crisis or unsafe), a check, or None."""
        return self._judge_meaning([text], language)[0]

    def _judge_meaning(self, texts: list[str], language: str | None) -> list[SafetyHit | None]:
        said = [t for t in texts if t.strip()]
        judged = dict(zip(said, self.meaning.safety_many(self.meaning.features_of(said), language)))
        return [_as_hit(judged[t]) if t in judged else None for t in texts]

    def with_meaning(self, meaning) -> "SafetyDetector":
        """This detector's compiled rules (the slow part to build) with a meaning layer."""
        other = copy.copy(self)
        other.meaning = meaning
        return other

    def check_rules(self, text: str) -> SafetyHit | None:
        """What the rules of safety.toml alone find: crisis, unsafe or None."""
        if not text or not text.strip():
            return None
        seen = self._prepare(text)
        for kind in KINDS:
            if not self._any[kind].search(seen):
                continue  # the common case
            for rules, matcher in self._levels[kind]:
                found = matcher.find(seen)
                if found is not None:
                    index, words = found
                    language, rule = rules[index]
                    return SafetyHit(kind, rule.score, words.strip(), language, rule.source)
        return None

    def replies(self, kind: str, language: str) -> list[str]:
        """What Haven may say for a hit of this kind, in this language."""
        if kind not in KINDS:
            raise ValueError(f"unknown safety kind {kind!r}; expected one of {', '.join(KINDS)}")
        return list(self._pack(language).replies[kind])

    def checkin(self, language: str) -> list[str]:
        """Gentle check-ins for later utterances in a session after a crisis."""
        return list(self._pack(language).checkin)

    def prepared(self, text: str, language: str | None = None) -> str:
        """The text as the patterns see it (the same for every loaded language)."""
        if language is not None:
            self._pack(language)
        return self._prepare(text)

    def _pack(self, language: str) -> _LanguageSafety:
        try:
            return self._packs[language]
        except KeyError:
            raise ValueError(
                f"language {language!r} is not loaded; loaded: {', '.join(self._packs)}"
            ) from None


@functools.lru_cache(maxsize=4)
def _cached(languages: tuple[str, ...], root: Path) -> SafetyDetector:
    return SafetyDetector(languages, root)


def safety_detector(languages=LANGUAGES, prompts_dir: Path | None = None) -> SafetyDetector:
    """One shared detector per prompts folder, loaded once per process."""
    root = (Path(prompts_dir) if prompts_dir is not None else default_prompts_dir()).resolve()
    return _cached(tuple(languages), root)


def main(argv: list[str] | None = None) -> int:
    """python -m assistant.safety TEXT...: show what the detector makes of each text."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m assistant.safety TEXT [TEXT...]", file=sys.stderr)
        return 2
    try:
        detector = SafetyDetector(meaning=shared_meaning())
    except (PromptsError, ModelError) as e:
        print(e, file=sys.stderr)
        return 2
    m = detector.meaning
    for lang, b in m.bands.items():
        print(f"meaning's thresholds ({lang}): alarm at crisis >= {b.crisis} or unsafe >= {b.unsafe}, "
              f"check at crisis + unsure >= {b.check}, else at unsafe >= {b.check_unsafe}")
    from assistant.language import guess_language
    from assistant.library import language_pack

    packs = {lang: language_pack(lang) for lang in LANGUAGES}
    for text in args:
        language = guess_language(text, packs)
        hit = detector.check(text, language)
        judged = detector.meaning.safety(detector.meaning.features(text), language)
        print(f"  heard as ({language}): {detector.prepared(text)}")
        about = f" about {judged.kind}" if judged.band == "check" else ""
        print(f"  meaning: {judged.band}{about} (crisis {judged.crisis:.2f}, unsafe {judged.unsafe:.2f}, "
              f"concern {judged.concern:.2f})")
        if hit and hit.by == "rules":
            print(f"{hit.kind} {hit.score} [{hit.language}] {hit.match!r}\n  pattern: {hit.pattern}")
        elif hit:
            print(f"{hit.kind}{f' about {hit.about}' if hit.about else ''} {hit.score} (meaning)")
        else:
            print("no alarm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
