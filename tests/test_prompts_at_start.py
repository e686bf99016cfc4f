"""Everything a session can reach in prompts/ is checked when `haven listen` starts (file
and line named, exit 2), not when the person first says "stop" or shouts. Real copies
of prompts/, edited the way a person editing the texts might; the real command line."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import ROOT, assert_one_line_error, haven_here


class ModelLoadReached(Exception):
    """Raised by the tripwire below: start-up got past every check of the texts."""


@pytest.fixture
def prompts(tmp_path, monkeypatch):
    """A private copy of prompts/, and a tripwire (a test double) in place of the slow model load."""
    from assistant import library
    from assistant.pipeline import Stages

    copy = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", copy)
    monkeypatch.setenv("HAVEN_PROMPTS", str(copy))
    monkeypatch.setattr(library, "_cache", {})

    def tripwire(*a, **k):
        raise ModelLoadReached()

    monkeypatch.setattr(Stages, "load", tripwire)
    return copy


def _drop_list(path, key: str) -> None:
    text = path.read_text()
    path.write_text(re.sub(rf"(?ms)^{key} = \[.*?^\]\n", "", text))


def test_the_shipped_texts_pass(prompts, talk):
    result = haven_here("listen", "--input", talk, "--language", "auto")
    assert "ModelLoadReached" in result.stderr, result.stderr


@pytest.mark.parametrize("key", ["summary_intro", "summary_empty", "breathing_offer"])
def test_a_missing_session_line_is_found_at_start(prompts, talk, key):
    _drop_list(prompts / "en" / "replies.toml", key)
    assert_one_line_error(haven_here("listen", "--input", talk), "prompts/en/replies.toml", f"'{key}'")


def test_an_unknown_placeholder_names_its_line(prompts, talk):
    replies = prompts / "en" / "replies.toml"
    text = replies.read_text()
    replies.write_text(text.replace("{themes}.\",", "{topics}.\",", 1))
    line = 1 + text[:text.index("{themes}.\",")].count("\n")
    assert_one_line_error(haven_here("listen", "--input", talk), f"prompts/en/replies.toml:{line}", "{topics}",
                          "{themes}")


def test_a_stray_brace_names_its_line(prompts, talk):
    replies = prompts / "en" / "replies.toml"
    replies.write_text(replies.read_text().replace("{themes}.\",", "{themes.\",", 1))
    assert_one_line_error(haven_here("listen", "--input", talk), "prompts/en/replies.toml:", "brace")


@pytest.mark.parametrize("file", ["breathing.toml", "nl/breathing.toml"])
def test_missing_breathing_texts_are_found_at_start(prompts, talk, file):
    (prompts / file).unlink()
    assert_one_line_error(haven_here("listen", "--input", talk, "--language", "auto"), file, "missing")


def test_an_empty_entry_names_its_own_line(prompts, talk):
    replies = prompts / "en" / "replies.toml"
    text = replies.read_text()
    replies.write_text(text.replace("fallback = [\n", "fallback = [\n    \"\",\n", 1))
    line = 2 + text[:text.index("fallback = [")].count("\n")
    assert_one_line_error(haven_here("listen", "--input", talk), f"prompts/en/replies.toml:{line}:", "empty entry")
