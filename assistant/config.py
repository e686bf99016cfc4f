"""Settings that persist: a TOML file in the user's config folder; flags override it.

    ~/.config/haven/config.toml   (or HAVEN_CONFIG=/path/to/file)

    language = "nl"        # en, nl or auto
    model = "base"         # base, tiny.en, or a model folder
    rate = 150             # speaking rate, words a minute
    pause = 1.5            # seconds of silence that end an utterance
    voice_en = "gmw/en-gb" # an espeak-ng voice id per language (see: espeak-ng --voices)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

from assistant.errors import HavenError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Settings:
    language: str = "en"
    model: str | None = None
    rate: int = 165
    pause: float = 1.2
    voice_en: str | None = None
    voice_nl: str | None = None


_CHECKS = {
    "language": (lambda v: v in ("en", "nl", "auto"), "en, nl or auto"),
    "model": (lambda v: isinstance(v, str) and v, "a model name or folder"),
    "rate": (lambda v: isinstance(v, int) and 80 <= v <= 300, "a whole number from 80 to 300"),
    "pause": (lambda v: isinstance(v, (int, float)) and 0.3 <= v <= 10, "seconds from 0.3 to 10"),
    "voice_en": (lambda v: isinstance(v, str) and v, "an espeak-ng voice id"),
    "voice_nl": (lambda v: isinstance(v, str) and v, "an espeak-ng voice id"),
}


def config_path() -> Path:
    override = os.environ.get("HAVEN_CONFIG")
    return Path(override) if override else Path(platformdirs.user_config_dir("haven", appauthor=False)) / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or the defaults when there is no file."""
    path = path or config_path()
    if not path.is_file():
        return Settings()
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise HavenError(f"{path}: {e}; fix or delete the file") from None
    values = {}
    for key, value in data.items():
        if key not in _CHECKS:
            raise HavenError(f"{path}: unknown setting '{key}'; known: {', '.join(_CHECKS)}")
        ok, what = _CHECKS[key]
        if not ok(value):
            line = next((i + 1 for i, l in enumerate(text.splitlines()) if l.strip().startswith(key)), None)
            raise HavenError(f"{path}{f':{line}' if line else ''}: '{key}' must be {what}, not {value!r}")
        values[key] = float(value) if key == "pause" else value
    return Settings(**values)


def with_flags(settings: Settings, args) -> Settings:
    """Command-line flags win over the file."""
    changes = {f.name: getattr(args, f.name) for f in fields(Settings) if getattr(args, f.name, None) is not None}
    return replace(settings, **changes)
