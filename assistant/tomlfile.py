"""One parsed TOML file that can point at its own lines: every data file Haven reads goes
through it (prompts/, the breathing patterns, the saved settings).

A mistake in a file stops Haven with one line that names the file and the line, so
whoever edits it can find the mistake without reading Python.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from assistant.errors import HavenError, PromptsError


class TomlFile:
    """A parsed file, its text, and where each header, key and value is in it.

    root: the prompts folder, so messages name "prompts/en/themes.toml"; error: the
    HavenError class raised (PromptsError for prompts/, HavenError for settings).
    """

    def __init__(self, path: Path, root: Path | None = None, error: type[HavenError] = PromptsError,
                 missing: str = "restore it from the Haven repository"):
        self.path = path
        self._error = error
        self.shown = str(path.relative_to(root.parent)) if root and path.is_relative_to(root.parent) else str(path)
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise error(f"{self.shown}: file is missing; {missing}") from None
        except UnicodeDecodeError as e:
            raise error(f"{self.shown}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
        except OSError as e:  # unreadable, a folder, a bad disk
            raise error(f"{self.shown}: cannot be read ({e.strerror or e}); check that it is a file you can read") from None
        self.text = self.text.removeprefix("\ufeff")  # a BOM, as some editors save UTF-8: not a TOML error
        self.lines = self.text.splitlines()
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            # tomllib's message ends with "(at line N, column M)".
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
            where = f":{m.group(1)}" if m else ""
            reason = re.sub(r"\s*\(at line.*\)$", "", str(e)) if m else str(e)
            raise error(f"{self.shown}{where}: TOML syntax error: {reason}") from None

    # -- finding lines ----------------------------------------------------------------

    def line_of(self, *needles: str) -> int | None:
        """The first line that contains the needles in order (a table header, then a value)."""
        start = 0
        found = None
        for needle in needles:
            for i in range(start, len(self.lines)):
                if needle in self.lines[i]:
                    found, start = i + 1, i
                    break
            else:
                return found
        return found

    def header_line(self, header: str) -> int | None:
        """The line of the table header [header] (not a mention of it in a comment)."""
        for i, line in enumerate(self.lines):
            if line.strip().startswith(f"[{header}]"):
                return i + 1
        return None

    def key_line(self, header: str, key: str) -> int | None:
        """The line 'key = ...' inside [header] (or before any table if header is '')."""
        start = (self.header_line(header) or 0) if header else 0
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("[") and header:
                break
            if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", self.lines[i]):
                return i + 1
        return self.header_line(header) if header else None

    def value_line(self, header: str, value: str, key: str | None = None) -> int | None:
        """The line of a string value inside [header] (after 'key =' if given)."""
        start = ((self.header_line(header) if header else None) or 1) - 1
        if key:
            for i in range(start, len(self.lines)):
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                    start = i
                    break
        # A value is written as a 'literal' or a "basic" string; try both spellings.
        spellings = (value, json.dumps(value, ensure_ascii=False)[1:-1], value.replace("\\", "\\\\"))
        for spelling in spellings:
            for i in range(start, len(self.lines)):
                if spelling and spelling in self.lines[i]:
                    return i + 1
        return start + 1 if start or self.header_line(header) else None

    def value_line_after(self, line: int, value: str) -> int | None:
        """The next line after 'line' that holds the same value (a duplicate)."""
        for i in range(line, len(self.lines)):
            if value in self.lines[i]:
                return i + 1
        return None

    # -- errors -----------------------------------------------------------------------

    def error_at(self, message: str, line: int | None) -> HavenError:
        return self._error(f"{self.shown}{f':{line}' if line else ''}: {message}")

    def error(self, message: str, *needles: str) -> HavenError:
        return self.error_at(message, self.line_of(*needles) if needles else None)

    # -- values -----------------------------------------------------------------------

    def check_keys(self, table: dict, header: str, allowed, what: str = "key") -> None:
        """Every key of the table is one of `allowed`; else an error at the unknown key."""
        for key in table:
            if key not in allowed:
                raise self.error_at(
                    f"{f'[{header}]' if header else 'the file'} has an unknown {what} '{key}'; "
                    f"known {what}s: {', '.join(sorted(allowed))}",
                    self.key_line(header, key) if header else (self.header_line(key) or self.key_line("", key)),
                )

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
        at = self.key_line(header, key)  # the 'key =' line itself, not a comment that mentions the key
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error_at(f"{where}'{key}' must be a list of strings", at)
        if len(value) < minimum:
            raise self.error_at(f"{where}'{key}' has {len(value)} entries; it needs at least {minimum}", at)
        seen: dict[str, str] = {}
        for v in value:
            if not v.strip():
                raise self.error_at(f"{where}'{key}' has an empty entry", self.value_line(header, '""', key) or at)
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
