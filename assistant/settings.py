"""Every setting and its default, defined once; saved ones in a TOML file, flags on top.

    ~/.config/haven/config.toml   (or HAVEN_CONFIG=/path/to/file)

    language = "nl"        # en, nl or auto
    model = "base"         # base, tiny.en, or a model folder
    rate = 150             # speaking rate, words a minute
    pause = 1.2            # seconds of silence that end an utterance
    voice_en = "gmw/en-gb" # an espeak-ng voice id per language (see: espeak-ng --voices)
    region = "GB"          # whose helplines Haven gives (default: from the locale, en_GB -> GB)
    input_device = "alsa_input.usb-headset.mono-fallback"   # by name (see: haven devices)
    output_device = "alsa_output.usb-headset.analog-stereo"

The stages' own settings (SessionSettings, EndpointerSettings) take their defaults
from the constants here, so a default lives in one place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

from assistant.errors import HavenError
from assistant.tomlfile import TomlFile

SAMPLE_RATE = 16_000  # all audio inside Haven: 16 kHz mono float32
FRAME = 512  # 32 ms: the microphone's block and Silero's window; a recording is fed in the same frames
PAUSE_S = 1.2  # silence that ends an utterance: people pause while venting
PAUSE_RANGE = (0.3, 10.0)
RATE = 165  # words a minute: calmer than espeak's 175
RATE_RANGE = (80, 300)
LANGUAGE_CHOICES = ("en", "nl", "auto")


@dataclass(frozen=True)
class Settings:
    language: str = "en"
    model: str | None = None
    rate: int = RATE
    pause: float = PAUSE_S
    voice_en: str | None = None
    voice_nl: str | None = None
    region: str | None = None
    """Whose helplines (helplines.py); None: from the locale, else the language's home region."""
    input_device: str | None = None
    output_device: str | None = None

    def voices(self) -> dict[str, str]:
        """The espeak-ng voices chosen per language (only those set)."""
        return {k: v for k, v in (("en", self.voice_en), ("nl", self.voice_nl)) if v}


_CHECKS = {
    "language": (lambda v: v in LANGUAGE_CHOICES, "en, nl or auto"),
    "model": (lambda v: isinstance(v, str) and v, "a model name or folder"),
    "rate": (lambda v: isinstance(v, int) and not isinstance(v, bool) and RATE_RANGE[0] <= v <= RATE_RANGE[1],
             f"a whole number from {RATE_RANGE[0]} to {RATE_RANGE[1]}"),
    "pause": (lambda v: isinstance(v, (int, float)) and PAUSE_RANGE[0] <= v <= PAUSE_RANGE[1],
              f"seconds from {PAUSE_RANGE[0]:g} to {PAUSE_RANGE[1]:g}"),
    "voice_en": (lambda v: isinstance(v, str) and v, "an espeak-ng voice id, or \"natural\""),
    "voice_nl": (lambda v: isinstance(v, str) and v, "an espeak-ng voice id"),
    "region": (lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z]{2}", v), "a two-letter country code such as GB"),
    "input_device": (lambda v: isinstance(v, (str, int)) and not isinstance(v, bool) and str(v),
                     "a microphone's name or index (see: haven devices)"),
    "output_device": (lambda v: isinstance(v, (str, int)) and not isinstance(v, bool) and str(v),
                      "an output's name or index (see: haven devices)"),
}


def config_path() -> Path:
    override = os.environ.get("HAVEN_CONFIG")
    return Path(override) if override else Path(platformdirs.user_config_dir("haven", appauthor=False)) / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or the defaults when there is no file."""
    path = path or config_path()
    if not path.exists():
        return Settings()
    if path.is_dir():  # not silently ignored: the person meant something by it
        raise HavenError(f"{path}: the settings file is a folder; remove it or point HAVEN_CONFIG at a file")
    f = TomlFile(path, error=HavenError)
    f.check_keys(f.data, "", _CHECKS, what="setting")
    values = {}
    for key, value in f.data.items():
        ok, what = _CHECKS[key]
        if not ok(value):
            raise f.error_at(f"'{key}' must be {what}, not {value!r}", f.key_line("", key))
        values[key] = float(value) if key == "pause" else str(value) if key.endswith("_device") else value
    return Settings(**values)


def with_flags(settings: Settings, args) -> Settings:
    """Command-line flags win over the file."""
    pause = getattr(args, "pause", None)
    if pause is not None and not PAUSE_RANGE[0] <= pause <= PAUSE_RANGE[1]:
        raise HavenError(f"--pause {pause:g} is out of range; use {PAUSE_RANGE[0]:g} to {PAUSE_RANGE[1]:g} seconds")
    if getattr(args, "region", None) is not None:
        from assistant.helplines import check_region

        check_region(args.region)  # a bad --region: one line, exit 2
    changes = {f.name: getattr(args, f.name) for f in fields(Settings) if getattr(args, f.name, None) is not None}
    settings = replace(settings, **changes)
    voice = getattr(args, "voice", None)  # --voice: for the session's language (auto: English)
    if voice:
        settings = replace(settings, **{f"voice_{settings.language if settings.language == 'nl' else 'en'}": voice})
    return settings


def settings_for(args) -> Settings:
    """The saved settings with this command's flags on top."""
    return with_flags(load_settings(), args)
