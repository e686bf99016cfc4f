"""Files Haven reads that are unreadable or not what they should be: exit 2 and one line
that names the file, never an "unexpected error"; and a batch with a bad line keeps the
lines before it. Real files, the real command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import ROOT, assert_one_line_error, haven_here


def test_config_that_is_a_folder(tmp_path, monkeypatch):
    (tmp_path / "config.toml").mkdir()
    monkeypatch.setenv("HAVEN_CONFIG", str(tmp_path / "config.toml"))
    assert_one_line_error(haven_here("reflect", "hello"), "config.toml", "is a folder")


def test_config_with_a_bom_is_read(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_bytes(b'\xef\xbb\xbflanguage = "nl"\n')
    monkeypatch.setenv("HAVEN_CONFIG", str(tmp_path / "config.toml"))
    result = haven_here("reflect", "--json", "hij luistert nooit naar mij")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["language"] == "nl"


def test_prompts_file_that_is_a_folder(tmp_path, monkeypatch):
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "en" / "commands.toml").unlink()
    (prompts / "en" / "commands.toml").mkdir()
    monkeypatch.setenv("HAVEN_PROMPTS", str(prompts))
    assert_one_line_error(haven_here("reflect", "hello"), "commands.toml", "cannot be read")


def _batch(data: bytes, *args) -> subprocess.CompletedProcess:
    """reflect --batch in its own process, under a strict UTF-8 locale (a real desktop's)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "assistant", "reflect", "--batch", *args], input=data,
                          capture_output=True, env=env, cwd=ROOT)


def test_batch_with_a_line_that_is_not_utf8_keeps_the_lines_before_it():
    data = "he never listens to me\nshe forgot my birthday again\n".encode() + b"caf\xe9 with him\nlast line\n"
    result = _batch(data, "--json")
    answered = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [a["text"] for a in answered] == ["he never listens to me", "she forgot my birthday again"]
    result.stderr = result.stderr.decode()
    assert_one_line_error(result, "line 3", "not UTF-8")
