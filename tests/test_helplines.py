"""Helplines by region (issue #13): the region from the setting, the locale or the language,
the numbers as the services write them on screen and spelled out for the voice, 112 and
advice for a region Haven does not know, and prompts/helplines.toml checked with file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import HavenError, PromptsError
from assistant.helplines import Directory, choose_region, region_from_locale, wrap
from conftest import assert_one_line_error, edit_file, haven_here

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
REGIONS = ("US", "GB", "IE", "CA", "AU", "NZ", "NL", "BE")


@pytest.fixture(scope="module")
def directory():
    return Directory()


@pytest.mark.parametrize("env,expected", [
    ({"LANG": "en_GB.UTF-8"}, "GB"), ({"LANG": "nl_BE.UTF-8"}, "BE"), ({"LC_ALL": "en_IE.utf8", "LANG": "en_US"}, "IE"),
    ({"LANG": "C.UTF-8"}, None), ({"LANG": "POSIX"}, None), ({}, None), ({"LANG": "en_UK"}, "GB"),
])
def test_region_from_locale(env, expected):
    assert region_from_locale(env) == expected


def test_the_setting_wins_then_the_locale_then_the_language():
    assert choose_region("gb", "nl", {"LANG": "nl_BE.UTF-8"}) == ("GB", "setting")
    assert choose_region(None, "en", {"LANG": "nl_BE.UTF-8"}) == ("BE", "locale")
    assert choose_region(None, "en", {"LANG": "C"}) == ("US", "language")
    assert choose_region(None, "nl", {}) == ("NL", "language")


def test_a_bad_region_is_refused():
    with pytest.raises(HavenError, match="not a two-letter country code"):
        choose_region("Britain", "en", {})


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_has_a_crisis_line_and_an_emergency_number(directory, region):
    lines = directory.get(region)
    assert lines.known and lines.crisis is not None and lines.emergency.number
    for line in lines.lines():
        # As the service writes it (digits, spaces, dashes), and a spoken form without dashes.
        assert re.fullmatch(r"\d[\d \-]*\d", line.number) and "-" not in line.spoken


def test_every_entry_names_its_source():
    import tomllib

    data = tomllib.loads((PROMPTS / "helplines.toml").read_text(encoding="utf-8"))
    for region, lines in data.items():
        for kind, line in lines.items():
            assert line["source"].strip(), (region, kind)


def test_the_services_as_they_write_their_numbers(directory):
    assert directory.get("GB").crisis.number == "116 123" and directory.get("GB").crisis.name == "Samaritans"
    assert directory.get("NL").crisis.number == "0800-0113"
    assert directory.get("BE").crisis.number == "1813"
    assert directory.get("US").crisis.number == "988"
    assert directory.get("CA").abuse is None  # no national line: the emergency number stands in


def test_the_voice_gets_the_spoken_form(directory):
    gb = directory.get("GB")
    assert gb.spoken("Call Samaritans: 116 123. In an emergency, 999.") == \
        "Call Samaritans: 1 1 6, 1 2 3. In an emergency, 9 9 9."
    # The name holds the number too: said the same way (espeak would say "nine hundred eighty-eight").
    assert directory.get("US").spoken("the 988 Lifeline, 988") == "the 9 8 8 Lifeline, 9 8 8"


def test_an_unknown_region_gets_112_only(directory):
    lines = directory.get("DE")
    assert not lines.known and lines.crisis is None and lines.abuse is None
    assert [line.number for line in lines.lines()] == ["112"]


def test_a_number_never_breaks_across_lines():
    text = "Please call Samaritans on 116 123, or the National Domestic Abuse Helpline on 0808 2000 247, any time."
    for width in range(20, 60):
        lines = wrap(text, width, indent=4).splitlines()
        assert "116 123" in " ".join(lines) and "0808 2000 247" in " ".join(lines)
        assert all(line.startswith("    ") for line in lines[1:])
        assert not any(re.search(r"\d$", line) and re.match(r"\s*\d", nxt) for line, nxt in zip(lines, lines[1:]))


# --- through the command line ---

CRISIS = "I don't want to live anymore"


def _reply(*args) -> dict:
    result = haven_here("reflect", "--json", *args, CRISIS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_region_gb_gives_samaritans():
    reply = _reply("--region", "GB")
    assert reply["kind"] == "crisis" and "Samaritans" in reply["reply"] and "116 123" in reply["reply"]
    assert "988" not in reply["reply"] and "999" in reply["reply"]


def test_a_belgian_locale_gives_the_belgian_line(monkeypatch):
    monkeypatch.setenv("LANG", "nl_BE.UTF-8")
    result = haven_here("reflect", "--json", "--language", "nl", "ik wil niet meer leven")
    reply = json.loads(result.stdout)
    assert reply["kind"] == "crisis" and "Zelfmoordlijn 1813" in reply["reply"] and "0800-0113" not in reply["reply"]


def test_the_config_file_region(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('region = "AU"\n', encoding="utf-8")
    monkeypatch.setenv("HAVEN_CONFIG", str(config))
    assert "13 11 14" in _reply()["reply"]


def test_an_unknown_region_gives_112_and_the_advice():
    reply = _reply("--region", "DE")["reply"]
    assert re.findall(r"\d[\d \-]*\d", reply) == ["112", "112"]
    assert "set your region" in reply.lower()
    assert not any(n in reply for n in ("988", "911", "116 123", "0800-0113"))


def test_a_bad_region_flag_is_one_line_and_exit_2():
    assert_one_line_error(haven_here("reflect", "--region", "Britain", "hello"), "two-letter country code")


def test_a_bad_region_in_the_config_names_the_line(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('language = "en"\nregion = "United Kingdom"\n', encoding="utf-8")
    monkeypatch.setenv("HAVEN_CONFIG", str(config))
    line = assert_one_line_error(haven_here("reflect", "hello"), "config.toml:2", "region")
    assert "two-letter" in line


# --- helplines.toml checked with file and line ---

# prompts_copy: the fixture in conftest.py


def test_a_number_that_is_not_one_names_file_and_line(prompts_copy):
    line = edit_file(prompts_copy / "helplines.toml", 'number = "116 123"', 'number = "116 SAMARITANS"')
    with pytest.raises(PromptsError, match=rf"prompts/helplines\.toml:{line}: \[GB\.crisis\] number"):
        Directory(prompts_copy)


def test_a_missing_source_is_refused(prompts_copy):
    edit_file(prompts_copy / "helplines.toml", 'source = "https://www.1712.be/nl/over-1712 (hulplijn', 'sourc = "(hulplijn')
    with pytest.raises(PromptsError, match=r"prompts/helplines\.toml:\d+: \[BE\.abuse\] has an unknown key 'sourc'"):
        Directory(prompts_copy)


def test_a_region_without_an_emergency_number_is_refused(prompts_copy):
    path = prompts_copy / "helplines.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[BE.emergency]")
    path.write_text(text[:start], encoding="utf-8")
    with pytest.raises(PromptsError, match=r"prompts/helplines\.toml:\d+: \[BE\] needs an \[BE\.emergency\] table"):
        Directory(prompts_copy)


def test_doctor_shows_the_region_and_why(monkeypatch):
    from assistant.commands.doctor import _check, _region

    monkeypatch.setenv("LANG", "en_IE.UTF-8")
    shown = _check("region", lambda: _region(None, "en"))
    assert shown["ok"] and shown["detail"].startswith("IE (from the locale)") and "116 123" in shown["detail"]
    unknown = _check("region", lambda: _region("DE", "en"))
    assert not unknown["ok"] and "only 112" in unknown["fix"] and "--region" in unknown["fix"]


@pytest.mark.slow  # a process of its own
def test_the_locale_of_a_real_process():
    from conftest import run_haven

    result = run_haven("reflect", "--json", "--language", "nl", "ik wil niet meer leven", env={"LANG": "nl_BE.UTF-8"})
    assert result.returncode == 0, result.stderr
    assert "1813" in json.loads(result.stdout)["reply"]
