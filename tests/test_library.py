"""prompts/: a malformed file stops Haven with one line that names the file and the line.

Every case breaks a copy of prompts/ in tmp_path (through the prompts_dir parameter
or the HAVEN_PROMPTS environment variable), never the real files.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.errors import PromptsError
from assistant.library import COMMANDS, LANGUAGES, THEMES, load_language

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "prompts"
DATA = ROOT / "tests" / "data"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """A fresh copy of prompts/ to break."""
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS, copy)
    return copy


def error_of(language: str, prompts_dir: Path | None = None) -> str:
    with pytest.raises(PromptsError) as caught:
        load_language(language, prompts_dir)
    message = str(caught.value)
    assert "\n" not in message, "one line, for the person who edits the file"
    return message


def line_named(message: str, file: str) -> int:
    """The line number the message gives for the file (fails if there is none)."""
    m = re.search(re.escape(file) + r":(\d+):", message)
    assert m, f"{message!r} does not name {file} with a line"
    return int(m.group(1))


def line_of(path: Path, needle: str, after: int = 0) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number > after and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# -- the real files ---------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_real_prompts_load(language):
    pack = load_language(language)
    assert list(pack.themes) == list(THEMES)
    assert list(pack.commands) == list(COMMANDS)
    for theme in pack.themes.values():
        assert len(theme.triggers) >= 20, f"{language}/{theme.id}: too few wordings to generalise"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_trigger_belongs_to_two_themes(language):
    pack = load_language(language)
    owner: dict[str, str] = {}
    for theme in pack.themes.values():
        for trigger in theme.triggers:
            key = pack.normalise(trigger)
            assert owner.setdefault(key, theme.id) == theme.id, f"{trigger!r} in [{owner[key]}] and [{theme.id}]"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_development_sentence_copied_into_triggers(language):
    """Triggers are written from the themes; the development set only measures them."""
    dev = DATA / f"dev_{language}.tsv"
    if not dev.exists():
        pytest.skip(f"no {dev.name}")
    pack = load_language(language)
    heard = {
        pack.normalise(line.split("\t")[2])
        for line in dev.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and line.count("\t") >= 2
    }
    for theme in pack.themes.values():
        for trigger in theme.triggers:
            norm = pack.normalise(trigger)
            # Short phrases ("i feel so alone", "ik voel me zo alleen") come straight from THEMES.md.
            assert not (norm in heard and len(norm.split()) >= 6), f"[{theme.id}] {trigger!r} is a dev sentence"


# -- broken copies ------------------------------------------------------------


def test_unknown_theme_id(prompts):
    themes = prompts / "en" / "themes.toml"
    themes.write_text(themes.read_text(encoding="utf-8")
                      + '\n[jealousy]\nsummary = "jealousy"\ntriggers = ["i am jealous"]\n', encoding="utf-8")
    message = error_of("en", prompts)
    assert "unknown theme id [jealousy]" in message
    assert line_named(message, "prompts/en/themes.toml") == line_of(themes, "[jealousy]")


def test_unknown_command_id(prompts):
    commands = prompts / "nl" / "commands.toml"
    commands.write_text(commands.read_text(encoding="utf-8")
                        + '\n[louder]\ntriggers = ["harder"]\n', encoding="utf-8")
    message = error_of("nl", prompts)
    assert "unknown command id [louder]" in message
    assert line_named(message, "prompts/nl/commands.toml") == line_of(commands, "[louder]")


def test_empty_trigger_list(prompts):
    themes = prompts / "en" / "themes.toml"
    text = themes.read_text(encoding="utf-8")
    start = text.index("triggers = [", text.index("[protest]"))
    end = text.index("\n]\n", start)
    themes.write_text(text[:start] + "triggers = []" + text[end + 2:], encoding="utf-8")
    message = error_of("en", prompts)
    assert "[protest]" in message and "'triggers'" in message and "0 entries" in message
    header = line_of(themes, "[protest]")
    assert line_named(message, "prompts/en/themes.toml") == line_of(themes, "triggers = []", after=header)


def test_empty_reply_list(prompts):
    replies = prompts / "nl" / "replies.toml"
    text = replies.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^fallback = \[.*?^\]", "fallback = []", text, count=1)
    replies.write_text(text, encoding="utf-8")
    message = error_of("nl", prompts)
    assert "'fallback'" in message
    assert line_named(message, "prompts/nl/replies.toml") == line_of(replies, "fallback = []")


def test_duplicate_trigger(prompts):
    themes = prompts / "en" / "themes.toml"
    text = themes.read_text(encoding="utf-8")
    first = '    "i yell at him",\n'
    assert first in text
    # The same words, in other capitals and spacing: still a duplicate.
    themes.write_text(text.replace(first, first + '    "I yell at  him",\n', 1), encoding="utf-8")
    message = error_of("en", prompts)
    assert "duplicate" in message and "[protest]" in message
    line = line_named(message, "prompts/en/themes.toml")
    original = line_of(themes, '"i yell at him"')
    assert line in (original, original + 1)


def test_duplicate_command_trigger(prompts):
    commands = prompts / "nl" / "commands.toml"
    text = commands.read_text(encoding="utf-8")
    first = '    "pauze",\n'
    commands.write_text(text.replace(first, first + first, 1), encoding="utf-8")
    message = error_of("nl", prompts)
    assert "duplicate" in message and "'pauze'" in message
    line = line_named(message, "prompts/nl/commands.toml")
    assert line in (line_of(commands, '"pauze"'), line_of(commands, '"pauze"') + 1)


def test_missing_language_folder(prompts):
    shutil.rmtree(prompts / "nl")
    message = error_of("nl", prompts)
    assert str(prompts / "nl") in message and "'nl'" in message


@pytest.mark.parametrize("name", ["themes", "commands", "replies", "language"])
def test_missing_file(prompts, name):
    (prompts / "en" / f"{name}.toml").unlink()
    message = error_of("en", prompts)
    assert f"prompts/en/{name}.toml" in message and "missing" in message


def test_toml_syntax_error(prompts):
    commands = prompts / "en" / "commands.toml"
    lines = commands.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("[pause]"))
    lines.insert(at + 1, 'triggers = ["hold on"')  # no closing bracket
    commands.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = error_of("en", prompts)
    assert "TOML syntax error" in message
    # tomllib points at the broken line or the one where it gave up just after it.
    assert line_named(message, "prompts/en/commands.toml") in (at + 2, at + 3)


def test_syntax_error_through_haven_prompts(prompts, monkeypatch):
    """HAVEN_PROMPTS points Haven at another prompts/ folder; errors name that copy's file."""
    language = prompts / "nl" / "language.toml"
    language.write_text(language.read_text(encoding="utf-8") + '\n"oops = 1\n', encoding="utf-8")
    monkeypatch.setenv("HAVEN_PROMPTS", str(prompts))
    message = error_of("nl")
    assert "TOML syntax error" in message
    assert line_named(message, "prompts/nl/language.toml") >= len(language.read_text().splitlines()) - 1
