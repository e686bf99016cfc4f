"""Breathing patterns and their words, as data: prompts/breathing.toml (phases and
seconds, the same in every language) and prompts/LANG/breathing.toml (what is said).

Both are checked when loaded; a mistake names the file and the line (TomlFile).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import HavenError, PromptsError
from assistant.library import LANGUAGES, TomlFile, default_prompts_dir

PHASES = ("inhale", "hold", "exhale")
MIN_PHASE_S = 1.0
MAX_PHASE_S = 60.0
MAX_CYCLES = 200
MAX_MINUTES = 60.0


@dataclass(frozen=True)
class Phase:
    id: str
    """inhale, hold or exhale."""
    seconds: float
    cue: str
    """The key of its words in the language's [cues] (the top-up of the sigh has its own)."""


@dataclass(frozen=True)
class Pattern:
    name: str
    description: str
    phases: tuple[Phase, ...]
    cycles: int
    """Cycles when nobody says how many."""
    max_cycles: int | None = None
    """--minutes gives at most this many; only an explicit cycle count gives more."""
    aliases: tuple[str, ...] = ()

    @property
    def cycle_s(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def cue_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.cue for p in self.phases))


class Patterns(dict):
    """name -> Pattern, in file order, with the default pattern's name in .default."""

    default: str = ""

    def find(self, name: str | None) -> Pattern:
        """A pattern by name or alias (any case); HavenError listing the patterns if unknown."""
        if name is None:
            return self[self.default]
        wanted = name.strip().lower()
        for pattern in self.values():
            if wanted == pattern.name.lower() or wanted in (a.lower() for a in pattern.aliases):
                return pattern
        raise HavenError(f"unknown breathing pattern '{name}'; choose one of: {', '.join(self)}")


def _phase_line(f: TomlFile, header: str, index: int) -> int | None:
    """The line of the index-th inline table in a pattern's phases list."""
    start = f.key_line(header, "phases")
    if start is None:
        return None
    count = -1
    for i in range(start - 1, len(f.lines)):
        count += f.lines[i].count("{")
        if count >= index:
            return i + 1
    return start


def _header(f: TomlFile, name: str) -> str:
    """How the pattern's table header is written: ["4-7-8"] or [box]."""
    return f'"{name}"' if f'["{name}"]' in f.text else name


_PATTERN_KEYS = {"description", "phases", "cycles", "max_cycles", "aliases"}


def _load_pattern(f: TomlFile, name: str, table: dict) -> Pattern:
    header = _header(f, name)
    where = f"[{name}]"
    f.check_keys(table, header, _PATTERN_KEYS)
    description = f.string(table, "description", header=name)
    phases_raw = table.get("phases")
    if not isinstance(phases_raw, list) or not phases_raw:
        raise f.error_at(f"{where} needs a list 'phases' of {{ id = ..., seconds = ... }}", f.header_line(header))
    phases = []
    for i, raw in enumerate(phases_raw):
        line = _phase_line(f, header, i)
        here = f"{f.shown}{f':{line}' if line else ''}: {where} phase {i + 1}"
        if not isinstance(raw, dict):
            raise PromptsError(f"{here} must be a table like {{ id = \"inhale\", seconds = 4 }}")
        unknown = set(raw) - {"id", "seconds", "cue"}
        if unknown:
            raise PromptsError(f"{here} has an unknown key '{sorted(unknown)[0]}'; use id, seconds and cue")
        pid = raw.get("id")
        if pid not in PHASES:
            raise PromptsError(f"{here} has id {pid!r}; use one of: {', '.join(PHASES)}")
        seconds = raw.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not MIN_PHASE_S <= seconds <= MAX_PHASE_S:
            raise PromptsError(f"{here} needs seconds between {MIN_PHASE_S:g} and {MAX_PHASE_S:g}, not {seconds!r}")
        cue = raw.get("cue", pid)
        if not isinstance(cue, str) or not cue.strip():
            raise PromptsError(f"{here}: cue must be a key of [cues] in the language files")
        phases.append(Phase(pid, float(seconds), cue.strip()))
    cycles = table.get("cycles")
    if isinstance(cycles, bool) or not isinstance(cycles, int) or not 1 <= cycles <= MAX_CYCLES:
        raise f.error_at(f"{where} needs 'cycles', a whole number from 1 to {MAX_CYCLES}", f.key_line(header, "cycles"))
    max_cycles = table.get("max_cycles")
    if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(max_cycles, int)
                                   or not cycles <= max_cycles <= MAX_CYCLES):
        raise f.error_at(f"{where} 'max_cycles' must be a whole number, at least 'cycles' ({cycles})",
                         f.key_line(header, "max_cycles"))
    aliases = tuple(f.strings(table, "aliases", header=name, minimum=0)) if "aliases" in table else ()
    return Pattern(name, description, tuple(phases), cycles, max_cycles, aliases)


_patterns_cache: dict[Path, Patterns] = {}


def load_patterns(prompts_dir: Path | None = None) -> Patterns:
    """The patterns in prompts/breathing.toml, checked; PromptsError names the file and line."""
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    key = root.resolve()
    if key in _patterns_cache:
        return _patterns_cache[key]
    f = TomlFile(root / "breathing.toml", root)
    patterns = Patterns()
    for name, value in f.data.items():
        if name == "default":
            continue
        if not isinstance(value, dict):
            raise f.error_at(f"'{name}' must be a pattern table [{name}]; only 'default' is a plain key",
                             f.key_line("", name))
        patterns[name] = _load_pattern(f, name, value)
    if not patterns:
        raise f.error("has no patterns; add a table such as [box] with phases and cycles")
    seen: dict[str, str] = {}
    for p in patterns.values():
        for n in (p.name, *p.aliases):
            if n.lower() in seen and seen[n.lower()] != p.name:
                raise f.error(f"the name '{n}' is used by both [{seen[n.lower()]}] and [{p.name}]", f'"{n}"')
            seen[n.lower()] = p.name
    default = f.data.get("default", next(iter(patterns)))
    if default not in patterns:
        raise f.error_at(f"default = {default!r} is not a pattern; choose one of: {', '.join(patterns)}",
                         f.key_line("", "default"))
    patterns.default = default
    _patterns_cache[key] = patterns
    return patterns


@dataclass
class BreathingTexts:
    """What Haven says in one language; every list has at least one line."""

    language: str
    intro: dict[str, list[str]]
    """Per pattern name, or 'generic'."""
    cues: dict[str, str]
    close: list[str]
    check_in: list[str]

    def intro_for(self, pattern: str, rng: random.Random | None = None) -> str | None:
        lines = self.intro.get(pattern) or self.intro.get("generic")
        return (rng or random).choice(lines) if lines else None

    def close_line(self, rng: random.Random | None = None) -> str:
        return (rng or random).choice(self.close)

    def check_in_line(self, rng: random.Random | None = None) -> str:
        """A short question for after a session (the listening session says it)."""
        return (rng or random).choice(self.check_in)


_texts_cache: dict[tuple[str, Path], BreathingTexts] = {}


def load_texts(language: str, prompts_dir: Path | None = None, patterns: Patterns | None = None) -> BreathingTexts:
    """prompts/LANG/breathing.toml, checked against the patterns (every cue has words)."""
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    key = (language, root.resolve())
    if key in _texts_cache:
        return _texts_cache[key]
    if language not in LANGUAGES:
        raise HavenError(f"no breathing prompts for language '{language}'; use {' or '.join(LANGUAGES)}")
    patterns = patterns if patterns is not None else load_patterns(root)
    f = TomlFile(root / language / "breathing.toml", root)
    for k in f.data:
        if k not in ("intro", "cues", "close", "check_in"):
            raise f.error(f"unknown key '{k}'; this file has [intro], [cues], close and check_in", k)
    intro_table = f.table("intro")
    intro = {}
    for name in intro_table:
        if name != "generic" and name not in patterns:
            raise f.error(f"[intro] has a line for '{name}', which is not a pattern; "
                          f"use generic or one of: {', '.join(patterns)}", "[intro]", name)
        intro[name] = f.strings(intro_table, name, header="intro")
    missing = [p for p in patterns if p not in intro]
    if missing and "generic" not in intro:
        raise f.error(f"[intro] has no line for {', '.join(missing)}; add them or a generic line", "[intro]")
    cues_table = f.table("cues")
    needed = list(dict.fromkeys(k for p in patterns.values() for k in p.cue_keys))
    for k in needed:
        if k not in cues_table:
            users = ", ".join(p.name for p in patterns.values() if k in p.cue_keys)
            raise f.error(f"[cues] is missing '{k}' (used by {users})", "[cues]")
    cues = {}
    for k in cues_table:
        if k not in needed:
            raise f.error(f"[cues] has '{k}', which no pattern uses; cues in use: {', '.join(needed)}", "[cues]", k)
        cues[k] = f.string(cues_table, k, header="cues")
    texts = BreathingTexts(
        language=language, intro=intro, cues=cues,
        close=f.strings(f.data, "close"), check_in=f.strings(f.data, "check_in"),
    )
    _texts_cache[key] = texts
    return texts
