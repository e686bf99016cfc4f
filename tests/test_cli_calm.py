"""The command line as a newcomer meets it (issue 16): --version, a suggestion after a typo,
help text for every option, an error for an option the command cannot use, and every
command reading the same config.toml."""

from __future__ import annotations

import argparse

import pytest

from assistant import __version__
from assistant.cli import build_parser
from conftest import assert_one_line_error, haven_here


def test_version():
    result = haven_here("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"haven {__version__}"


@pytest.mark.parametrize("args,meant,help_of", [
    (["lisen"], "listen", "haven --help"),
    (["breath"], "breathe", "haven --help"),
    (["journal", "forgt", "1"], "forget", "haven journal --help"),
])
def test_a_typo_gets_a_suggestion(args, meant, help_of):
    assert_one_line_error(haven_here(*args), f"did you mean '{meant}'?", help_of)


def test_no_command_says_where_to_start():
    assert_one_line_error(haven_here(), "haven listen", "haven demo")


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _subparsers(sub)


def test_every_option_has_help_text():
    parser = build_parser()
    missing = [f"{name} {a.option_strings or a.dest}" for name, sub in [("haven", parser), *_subparsers(parser)]
               for a in sub._actions if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert missing == []


@pytest.mark.parametrize("args,option,command", [
    (["breathe", "--model", "nonsense"], "--model", "haven breathe"),
    (["breathe", "--pause", "99"], "--pause", "haven breathe"),
    (["breathe", "--input-device", "x"], "--input-device", "haven breathe"),
    (["reflect", "--model", "base", "hi"], "--model", "haven reflect"),
    (["devices", "--language", "nl"], "--language", "haven devices"),
    (["journal", "list", "--all"], "--all", "haven journal list"),
])
def test_an_option_the_command_cannot_use_is_an_error(args, option, command):
    assert_one_line_error(haven_here(*args), option, f"'{command} --help'")


def test_output_without_a_recording_is_an_error_not_silence():
    assert_one_line_error(haven_here("listen", "--output", "x.wav"), "--output", "--input FILE")
    assert_one_line_error(haven_here("reflect", "--conversation", "hi"), "--conversation", "--batch")


def test_breathe_honours_the_config(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('language = "nl"\nrate = 120\n')
    monkeypatch.setenv("HAVEN_CONFIG", str(config))
    out = tmp_path / "b.wav"
    result = haven_here("breathe", "--cycles", "1", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "adem in" in result.stdout and "geschreven naar" in result.stdout


def test_a_bad_voice_in_the_config_is_fixed_in_the_config(tmp_path, monkeypatch):
    """Real espeak-ng: the fix names the config line and how to list voices, not apt-get."""
    from assistant.errors import VoiceError
    from assistant.voice import Voice

    config = tmp_path / "config.toml"
    monkeypatch.setenv("HAVEN_CONFIG", str(config))
    voice = Voice("en", voices={"en": "doesnotexist"})
    try:
        with pytest.raises(VoiceError) as e:
            voice.render("Hello.")
    finally:
        voice.close()
    message = str(e.value)
    assert "voice_en" in message and str(config) in message and "espeak-ng --voices=en" in message
    assert "apt-get" not in message
