"""Helplines by region: which numbers a person is given, from prompts/helplines.toml.

The region comes from the `region` setting (config file or --region), else from the
locale (LC_ALL, LC_MESSAGES, LANG: en_GB.UTF-8 -> GB), else from the language's home
region (en -> US, nl -> NL). A region the file does not know gets only the emergency
number 112 and the advice to set `region`: a foreign helpline would not answer.

Numbers are shown as the service writes them ("116 123", "0800-0113") and spoken in
their own spelled-out form ("1 1 6, 1 2 3"): see Helplines.spoken.
"""

from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import HavenError
from assistant.library import default_prompts_dir
from assistant.tomlfile import TomlFile

FILE_NAME = "helplines.toml"
HOME = {"en": "US", "nl": "NL"}  # the language's home region, when nothing else says
ALIASES = {"UK": "GB"}  # what people write for a region, beside the ISO code
UNKNOWN_EMERGENCY = "112"  # answered across Europe and forwarded by most mobile networks elsewhere
_LINES = ("crisis", "abuse", "emergency")
# What the reply templates in prompts/LANG/*.toml may fill in (Helplines.fields).
PLACEHOLDERS = ("crisis_name", "crisis_number", "abuse_name", "abuse_number", "emergency_number")
_REGION = re.compile(r"[A-Za-z]{2}")
_DIGITS_INSIDE = re.compile(r"(?<=\d) (?=\d)")


@dataclass(frozen=True)
class Line:
    name: str
    number: str
    """As the service writes it: on screen, in --json, in the journal."""
    spoken: str
    """For the voice."""


@dataclass(frozen=True)
class Helplines:
    """The numbers for one region. crisis and abuse are None where no such line is known."""

    region: str
    crisis: Line | None
    abuse: Line | None
    emergency: Line
    known: bool = True

    def fields(self, emergency_name: str) -> dict[str, str]:
        """What the reply templates fill in. A missing line is the emergency number, named
        by emergency_name (from prompts/LANG/aftercare.toml)."""
        fallback = Line(emergency_name, self.emergency.number, self.emergency.spoken)
        crisis, abuse = self.crisis or fallback, self.abuse or fallback
        return {"crisis_name": crisis.name, "crisis_number": crisis.number,
                "abuse_name": abuse.name, "abuse_number": abuse.number,
                "emergency_number": self.emergency.number}

    def lines(self, kinds=("crisis", "abuse")) -> list[Line]:
        """The helplines to show, then the emergency number (no line twice)."""
        found = [line for kind in kinds if (line := getattr(self, kind)) is not None]
        return list(dict.fromkeys(found + [self.emergency]))

    def spoken(self, text: str) -> str:
        """The text with every number of this region in its spoken form (longest first, so
        "0800-0113" is replaced whole before a "113" inside it could be)."""
        for line in sorted(self.lines(_LINES[:2]), key=lambda l: -len(l.number)):
            text = re.sub(rf"(?<!\d){re.escape(line.number)}(?!\d)", line.spoken, text)
        return text


_last_words: list[str] = []


def show_last(lines: list[str]) -> None:
    """Lines the command prints after everything else, so the numbers stay on screen after exit."""
    _last_words[:] = lines


def print_last(stream) -> None:
    """Called by cli.main once the command has ended, however it ended (then forgotten)."""
    if _last_words:
        stream.write("\n" + "\n".join(_last_words) + "\n")
        stream.flush()
        _last_words.clear()


def wrap(text: str, width: int, indent: int = 0) -> str:
    """The text in lines of at most `width` characters that never break inside a number
    ("116 123" stays whole). Rich breaks at any space, non-breaking ones too, so the views
    hand it lines already cut; `indent` spaces start every line after the first."""
    kept = _DIGITS_INSIDE.sub("\0", text)  # not whitespace to textwrap: a number is one word
    pad = " " * indent
    lines = textwrap.wrap(kept, max(width, 20) + indent, initial_indent=pad, subsequent_indent=pad,
                          break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)[indent:].replace("\0", " ")


def check_region(value) -> str:
    """A region code as given (config or --region), upper-cased; HavenError if it is not one."""
    if not isinstance(value, str) or not _REGION.fullmatch(value.strip()):
        raise HavenError(f"region {value!r} is not a two-letter country code; use e.g. US, GB, IE, CA, AU, NZ, NL or BE")
    code = value.strip().upper()
    return ALIASES.get(code, code)


def region_from_locale(env=None) -> str | None:
    """The country of the locale: en_GB.UTF-8 -> GB, nl_BE -> BE; None for C, POSIX or unset."""
    env = os.environ if env is None else env
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key)
        if value:
            m = re.match(r"[A-Za-z]{2,3}_([A-Za-z]{2})\b", value)
            return ALIASES.get(m.group(1).upper(), m.group(1).upper()) if m else None
    return None


def choose_region(setting: str | None, language: str, env=None) -> tuple[str, str]:
    """The region and where it came from: 'setting', 'locale' or 'language'."""
    if setting:
        return check_region(setting), "setting"
    from_locale = region_from_locale(env)
    if from_locale:
        return from_locale, "locale"
    return HOME.get(language, "US"), "language"


class Directory:
    """prompts/helplines.toml, checked when loaded: a mistake names the file and line."""

    def __init__(self, prompts_dir: Path | None = None):
        root = Path(prompts_dir) if prompts_dir is not None else default_prompts_dir()
        f = TomlFile(root / FILE_NAME, root)
        self.regions: dict[str, Helplines] = {}
        for region, table in f.data.items():
            if not isinstance(table, dict) or not _REGION.fullmatch(region) or region != region.upper():
                raise f.error_at(f"'{region}' is not a region table (a two-letter code in capitals, e.g. [GB.crisis])",
                                 f.line_of(f"[{region}") or f.key_line("", region))
            f.check_keys(table, region, _LINES, what="line")
            if "emergency" not in table:
                raise f.error(f"[{region}] needs an [{region}.emergency] table", f"[{region}.")
            found = {kind: _line(f, f"{region}.{kind}", table[kind]) if kind in table else None for kind in _LINES}
            self.regions[region] = Helplines(region, found["crisis"], found["abuse"], found["emergency"])

    def get(self, region: str) -> Helplines:
        """The region's helplines; for an unknown region, only the emergency number 112."""
        known = self.regions.get(region)
        if known is not None:
            return known
        return Helplines(region, None, None, Line("", UNKNOWN_EMERGENCY, " ".join(UNKNOWN_EMERGENCY)), known=False)


def _line(f: TomlFile, header: str, table) -> Line:
    if not isinstance(table, dict):
        raise f.error(f"'{header}' must be a table", header.split(".")[0])
    f.check_keys(table, header, {"name", "number", "spoken", "source"})
    number = f.string(table, "number", header=header)
    if not re.fullmatch(r"\d[\d \-]*\d", number):
        raise f.error_at(f"[{header}] number {number!r}: digits, spaces and dashes only, as the service writes it",
                         f.key_line(header, "number"))
    f.string(table, "source", header=header)  # where the number was checked: required, not used
    name = table.get("name", "")
    if not header.endswith("emergency"):
        name = f.string(table, "name", header=header)
    return Line(name, number, f.string(table, "spoken", header=header))
