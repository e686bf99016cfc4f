"""Loading and checking the texts in prompts/.

Every malformed file stops Haven with one line that names the file and the line,
so that whoever edits the texts can find the mistake without reading Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import PromptsError
from assistant.resources import prompts_dir
from assistant.textnorm import Normaliser
from assistant.tomlfile import TomlFile  # noqa: F401  (the one loader; imported from here by safety and breathing)

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
    """prompts/ (inside the installed package), or HAVEN_PROMPTS for a tested override."""
    return prompts_dir()


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


@dataclass(frozen=True)
class LanguageWords:
    """language.toml's word lists for matching, checked (the matcher reads them here)."""

    speaker_words: tuple[str, ...] = ()
    """Words for the person speaking ("i", "me"): who does what in a trigger."""
    other_words: tuple[str, ...] = ()
    """Words for someone else ("he", "she")."""
    together_words: tuple[str, ...] = ()
    """Words for the couple or family ("we"): a command said about them is not to Haven."""
    command_padding: tuple[str, ...] = ()
    """Polite words around a command ("can you", "please")."""
    word_forms: dict = field(default_factory=dict)
    """{word: [irregular forms]}: "forget" = ["forgot", "forgotten"]."""
    synonyms: dict = field(default_factory=dict)
    """{word: [words that mean the same here]}."""


@dataclass
class LanguagePack:
    """Everything Haven says and listens for in one language."""

    language: str
    normalise: Normaliser
    themes: dict[str, Theme]
    commands: dict[str, Command]
    replies: dict[str, list[str]]
    files: dict[str, TomlFile] = field(default_factory=dict, repr=False)
    words: LanguageWords = field(default_factory=LanguageWords)

    def lines(self, key: str) -> list[str]:
        """A list of lines from replies.toml (fallback, invitations, session lines)."""
        return self.replies[key]


# replies.toml keys that every language must have, with their minimum length: all a
# session can reach (the summary at "stop", the breathing offer when someone shouts),
# so that a missing one stops Haven at start, not in the middle of someone's evening.
REPLY_KEYS = {"fallback": 3, "invitations": 3, "summary_intro": 1, "summary_empty": 1, "breathing_offer": 1}
# The {placeholders} each formatted list may use; every other list is said as written.
PLACEHOLDERS = {"summary_intro": {"themes"}}


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


_WORD_LISTS = ("fillers", "stopwords", "speaker_words", "other_words", "together_words", "command_padding")
_REPLACEMENTS = ("contractions", "variants")  # "from" = "to"
_FOLDS = ("word_forms", "synonyms")  # word = [other words folded onto it]


def _load_language(f: TomlFile) -> tuple[Normaliser, LanguageWords]:
    """language.toml, every key checked: an unknown key or a wrong type names its line."""
    d = f.data
    f.check_keys(d, "", (*_WORD_LISTS, *_REPLACEMENTS, *_FOLDS))
    lists = {key: tuple(f.strings(d, key, minimum=0)) if key in d else () for key in _WORD_LISTS}
    for key in _REPLACEMENTS:
        if key in d and (not isinstance(d[key], dict) or not all(isinstance(v, str) for v in d[key].values())):
            raise f.error_at(f"'{key}' must be a table of \"from\" = \"to\"", f.header_line(key) or f.key_line("", key))
    folds = {}
    for key in _FOLDS:
        table = d.get(key, {})
        if not isinstance(table, dict):
            raise f.error_at(f"'{key}' must be a table of word = [\"other\", \"words\"]", f.key_line("", key))
        folds[key] = {word: f.strings(table, word, header=key) for word in table}
    normaliser = Normaliser(
        fillers=lists["fillers"],
        contractions=dict(d.get("contractions", {})),
        variants=dict(d.get("variants", {})),
        stopwords=frozenset(lists["stopwords"]),
    )
    words = LanguageWords(speaker_words=lists["speaker_words"], other_words=lists["other_words"],
                          together_words=lists["together_words"], command_padding=lists["command_padding"],
                          word_forms=folds["word_forms"], synonyms=folds["synonyms"])
    return normaliser, words


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
    for key, allowed in PLACEHOLDERS.items():
        for line in replies[key]:
            _check_placeholders(replies_file, key, line, allowed)
    for line in replies.get("daytime", []):  # "tonight -> today": what is said before the evening
        if line.count(" -> ") != 1 or not all(w.strip() for w in line.split(" -> ")):
            raise replies_file.error(f"'daytime' entries are written 'evening words -> daytime words': {line!r}",
                                     f'"{line}"')
    normalise, words = _load_language(files["language"])
    return LanguagePack(
        language=language,
        normalise=normalise,
        themes=_load_themes(files["themes"]),
        commands=_load_commands(files["commands"]),
        replies=replies,
        files=files,
        words=words,
    )


def _check_placeholders(f: TomlFile, key: str, line: str, allowed: set[str]) -> None:
    """Every {name} in the line is one the code fills in (else .format fails mid-session)."""
    import string

    where = f.value_line("", line, key)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
    except ValueError as e:
        raise f.error_at(f"'{key}' has a stray brace ({e}); write {{{{ or }}}} for a literal one", where) from None
    for name in sorted(names - allowed):
        raise f.error_at(f"'{key}' uses an unknown placeholder {{{name}}}; "
                         f"use {', '.join('{' + a + '}' for a in sorted(allowed))}", where)


_cache: dict[tuple[str, Path], LanguagePack] = {}


def language_pack(language: str, prompts_dir: Path | None = None) -> LanguagePack:
    """The loaded pack for a language, loaded once per process."""
    key = (language, (prompts_dir or default_prompts_dir()).resolve())
    if key not in _cache:
        _cache[key] = load_language(language, prompts_dir)
    return _cache[key]


# -- interface.toml: the words on the screen ---------------------------------------------

# Every text of interface.toml and the {placeholders} it must use, per [table]; a table
# marked optional may be absent or partial ([patterns]: a pattern's own description stands in).
INTERFACE = {
    "states": {s: () for s in ("starting", "listening", "hearing", "thinking", "speaking", "breathing",
                                "paused", "ending", "ended")},
    "panel": {"title": (), "state": (), "level": (), "heard": (), "reply": (), "loading": (), "hint": (),
              "interrupted": (), "ended": (), "journal": (), "paused": (),
              "breath": ("phase", "seconds", "cycle")},
    "phases": {"inhale": (), "hold": (), "exhale": ()},
    "account": {"ready": ("input", "seconds"), "heard": (), "reply": (), "paused": (), "breathing": (),
                "interrupted": (), "summary": (), "done": ("utterances", "replies"), "written": ("output",)},
    "breathe": {"header": ("pattern", "description", "cycles", "duration"),
                "written": ("pattern", "cycles", "seconds", "output"),
                "cycle": ("n",), "cycles": ("n",), "seconds": ("n",), "minutes": ("n",)},
    "journal": {"title": ("date",), "started": (), "you_said": (), "heard_as": (), "reply": (), "at": (),
                "at_value": ("start", "end"), "safety": (), "summary": (), "themes": (), "none": (),
                "paused": (), "no_reply": (), "ended": ("ended", "utterances", "replies"),
                "microphone": (), "recording": ("name",), "kinds": None},
    "journal.kinds": {k: () for k in ("crisis", "unsafe", "command", "fallback")},
}
INTERFACE_OPTIONAL = {"patterns"}
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


@dataclass(frozen=True)
class Interface:
    """The screen's words in one language: text("panel.hint"), text("journal.title", date=...)."""

    language: str
    texts: dict

    def text(self, key: str, **values) -> str:
        return self.texts[key].format(**values) if values else self.texts[key]

    def get(self, key: str, default: str) -> str:
        return self.texts.get(key, default)


def load_interface(language: str, prompts_dir: Path | None = None) -> Interface:
    """prompts/LANG/interface.toml, every table, key and {placeholder} checked (file:line on errors)."""
    root = prompts_dir or default_prompts_dir()
    f = TomlFile(root / language / "interface.toml", root)
    f.check_keys(f.data, "", (*INTERFACE, *INTERFACE_OPTIONAL), what="table")
    texts = {}
    for header in (*INTERFACE, *INTERFACE_OPTIONAL):
        table = f.data.get(header.split(".")[0], {}) if "." not in header else \
            f.data.get(header.split(".")[0], {}).get(header.split(".")[1])
        if header in INTERFACE_OPTIONAL and table is None:
            continue
        if not isinstance(table, dict):
            raise f.error_at(f"missing table [{header}]", None)
        schema = INTERFACE.get(header)
        if schema is not None:
            f.check_keys(table, header, schema, what="text")
        for key in (schema or table):
            if schema is not None and schema[key] is None:
                continue  # a sub-table, checked on its own
            value = table.get(key)
            line = f.key_line(header, key) or f.header_line(header)
            if not isinstance(value, str) or not value.strip():
                raise f.error_at(f"[{header}] needs a non-empty text '{key}'", line)
            wanted = set(schema[key]) if schema is not None else set()
            used = set(_PLACEHOLDER.findall(value))
            if used != wanted:
                missing, extra = wanted - used, used - wanted
                raise f.error_at(f"[{header}] '{key}' " + "; ".join(
                    [f"must contain {', '.join('{' + n + '}' for n in sorted(missing))}"] * bool(missing)
                    + [f"cannot use {', '.join('{' + n + '}' for n in sorted(extra))}"] * bool(extra)), line)
            texts[f"{header}.{key}"] = value
    return Interface(language, texts)


_interfaces: dict[tuple[str, Path], Interface] = {}


def interface(language: str | None, prompts_dir: Path | None = None) -> Interface:
    """The screen's words, loaded once per process; auto (or None) shows English."""
    language = language if language in LANGUAGES else "en"
    key = (language, (prompts_dir or default_prompts_dir()).resolve())
    if key not in _interfaces:
        _interfaces[key] = load_interface(language, prompts_dir)
    return _interfaces[key]
