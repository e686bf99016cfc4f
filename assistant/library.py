"""Loading and checking the texts in prompts/.

Every malformed file stops Haven with one line that names the file and the line,
so that whoever edits the texts can find the mistake without reading Python.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from assistant.errors import PromptsError
from assistant.textnorm import Normaliser

# The public contract (THEMES.md): these ids appear in --json output and never change.
THEMES = (
    "unseen", "unreachable", "let_down", "protest", "shutdown", "blame", "cycle",
    "raw_spot", "not_good_enough", "unlovable", "alone", "old_wounds",
    "avoiding_feelings", "unspoken_need", "fear_of_loss", "hopeless",
)
COMMANDS = ("breathe", "stop", "pause", "resume", "repeat", "slower", "help", "faster")  # faster: added
KINDS = ("reflection", "crisis", "unsafe", "command", "fallback")
LANGUAGES = ("en", "nl")

MIN_REFLECTIONS = 5
MIN_QUESTIONS = 3


def default_prompts_dir() -> Path:
    """prompts/ beside the package, or HAVEN_PROMPTS for a tested override."""
    override = os.environ.get("HAVEN_PROMPTS")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "prompts"


class TomlFile:
    """One parsed prompts file that can point at its own lines in error messages."""

    def __init__(self, path: Path, root: Path | None = None):
        self.path = path
        self.shown = str(path.relative_to(root.parent)) if root and path.is_relative_to(root.parent) else str(path)
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PromptsError(f"{self.shown}: file is missing; restore it from the Haven repository") from None
        except UnicodeDecodeError as e:
            raise PromptsError(f"{self.shown}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            # tomllib's message ends with "(at line N, column M)".
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
            where = f":{m.group(1)}" if m else ""
            reason = re.sub(r"\s*\(at line.*\)$", "", str(e)) if m else str(e)
            raise PromptsError(f"{self.shown}{where}: TOML syntax error: {reason}") from None

    def line_of(self, *needles: str) -> int | None:
        """The first line that contains the needles in order (a table header, then a value)."""
        lines = self.text.splitlines()
        start = 0
        found = None
        for needle in needles:
            for i in range(start, len(lines)):
                if needle in lines[i]:
                    found, start = i + 1, i
                    break
            else:
                return found
        return found

    def error(self, message: str, *needles: str) -> PromptsError:
        line = self.line_of(*needles) if needles else None
        return PromptsError(f"{self.shown}{f':{line}' if line else ''}: {message}")

    def table(self, key: str, *, parent: dict | None = None, header: str | None = None) -> dict:
        source = self.data if parent is None else parent
        value = source.get(key)
        if not isinstance(value, dict):
            raise self.error(f"missing table [{header or key}]", f"[{header or key}]")
        return value

    def strings(self, table: dict, key: str, *, header: str = "", minimum: int = 1) -> list[str]:
        """A list of non-empty strings with no duplicates (after normalising case and spaces)."""
        where = f"[{header}] " if header else ""
        needles = (f"[{header}]", key) if header else (key,)
        value = table.get(key)
        if value is None:
            raise self.error(f"{where}is missing the list '{key}'", *needles[:1] or ())
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{where}'{key}' must be a list of strings", *needles)
        if len(value) < minimum:
            raise self.error(
                f"{where}'{key}' has {len(value)} entries; it needs at least {minimum}", *needles
            )
        seen: dict[str, str] = {}
        for v in value:
            if not v.strip():
                raise self.error(f"{where}'{key}' has an empty entry", *needles)
            k = " ".join(v.lower().split())
            if k in seen:
                raise self.error(f"{where}'{key}' has a duplicate entry: {v!r}", *needles[:1], f'"{v}"')
            seen[k] = v
        return value

    def string(self, table: dict, key: str, *, header: str = "") -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            where = f"[{header}] " if header else ""
            raise self.error(f"{where}needs a non-empty text '{key}'", *((f"[{header}]",) if header else ()))
        return value


@dataclass
class Theme:
    id: str
    summary: str
    triggers: list[str]
    reflections: list[str]
    questions: list[str]


@dataclass
class Command:
    id: str
    triggers: list[str]
    replies: list[str]


@dataclass
class LanguagePack:
    """Everything Haven says and listens for in one language."""

    language: str
    normalise: Normaliser
    themes: dict[str, Theme]
    commands: dict[str, Command]
    replies: dict[str, list[str]]
    files: dict[str, TomlFile] = field(default_factory=dict, repr=False)

    def lines(self, key: str) -> list[str]:
        """A list of lines from replies.toml (fallback, invitations, session lines)."""
        return self.replies[key]


# replies.toml keys that every language must have, with their minimum length.
REPLY_KEYS = {"fallback": 3, "invitations": 3}


def _check_ids(f: TomlFile, found, expected, what: str) -> None:
    for key in found:
        if key not in expected:
            raise f.error(f"unknown {what} id [{key}]; known ids: {', '.join(expected)}", f"[{key}]")
    for key in expected:
        if key not in found:
            raise f.error(f"missing {what} [{key}]")


def _load_themes(f: TomlFile) -> dict[str, Theme]:
    _check_ids(f, f.data, THEMES, "theme")
    themes = {}
    for tid in THEMES:
        t = f.table(tid)
        themes[tid] = Theme(
            id=tid,
            summary=f.string(t, "summary", header=tid),
            triggers=f.strings(t, "triggers", header=tid),
            reflections=f.strings(t, "reflections", header=tid, minimum=MIN_REFLECTIONS),
            questions=f.strings(t, "questions", header=tid, minimum=MIN_QUESTIONS),
        )
    return themes


def _load_commands(f: TomlFile) -> dict[str, Command]:
    _check_ids(f, f.data, COMMANDS, "command")
    commands = {}
    for cid in COMMANDS:
        c = f.table(cid)
        commands[cid] = Command(
            id=cid,
            triggers=f.strings(c, "triggers", header=cid),
            replies=f.strings(c, "replies", header=cid, minimum=0) if "replies" in c else [],
        )
    return commands


def _load_language(f: TomlFile) -> Normaliser:
    d = f.data
    for key in ("contractions", "variants"):
        if key in d and not isinstance(d[key], dict):
            raise f.error(f"'{key}' must be a table of \"from\" = \"to\"", key)
    return Normaliser(
        fillers=tuple(f.strings(d, "fillers", minimum=0)) if "fillers" in d else (),
        contractions=dict(d.get("contractions", {})),
        variants=dict(d.get("variants", {})),
        stopwords=frozenset(f.strings(d, "stopwords", minimum=0)) if "stopwords" in d else frozenset(),
    )


def load_language(language: str, prompts_dir: Path | None = None) -> LanguagePack:
    root = prompts_dir or default_prompts_dir()
    folder = root / language
    if not folder.is_dir():
        raise PromptsError(f"{folder}: no prompts for language '{language}'; expected one of {', '.join(LANGUAGES)}")
    files = {name: TomlFile(folder / f"{name}.toml", root) for name in ("language", "themes", "commands", "replies")}
    replies_file = files["replies"]
    replies = {}
    for key, value in replies_file.data.items():
        if isinstance(value, (list, str)):
            replies[key] = replies_file.strings(replies_file.data, key, minimum=REPLY_KEYS.get(key, 1))
    for key, minimum in REPLY_KEYS.items():
        if key not in replies:
            raise replies_file.error(f"is missing the list '{key}'")
    return LanguagePack(
        language=language,
        normalise=_load_language(files["language"]),
        themes=_load_themes(files["themes"]),
        commands=_load_commands(files["commands"]),
        replies=replies,
        files=files,
    )


_cache: dict[tuple[str, Path], LanguagePack] = {}


def language_pack(language: str, prompts_dir: Path | None = None) -> LanguagePack:
    """The loaded pack for a language, loaded once per process."""
    key = (language, (prompts_dir or default_prompts_dir()).resolve())
    if key not in _cache:
        _cache[key] = load_language(language, prompts_dir)
    return _cache[key]
