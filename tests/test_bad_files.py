"""Files Haven reads that are unreadable or not what they should be: exit 2 and one line
that names the file, never an "unexpected error"; and a batch with a bad line keeps the
lines before it. Real files, the real command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

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


def _without_file_permission_override(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """haven as root, but with the capabilities that let root ignore file permissions dropped,
    so that a folder or file mode 000 is really unreadable (as for any other user)."""
    drop = "-dac_override,-dac_read_search"
    return subprocess.run(["setpriv", "--bounding-set", drop, "--inh-caps", drop, sys.executable, "-m", "assistant",
                           *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv to make permissions apply to root")


@needs_root
def test_unreadable_input_folder_and_file(tmp_path):
    from assistant.audio import write_wav
    from speech import speak

    locked = tmp_path / "locked"
    locked.mkdir()
    write_wav(locked / "talk.wav", speak("hello"))
    write_wav(tmp_path / "secret.wav", speak("hello"))
    os.chmod(tmp_path / "secret.wav", 0)
    os.chmod(locked, 0)
    try:
        assert_one_line_error(_without_file_permission_override("listen", "--input", locked / "talk.wav"),
                              "cannot be opened", "Permission denied")
        assert_one_line_error(_without_file_permission_override("listen", "--input", tmp_path / "secret.wav"),
                              "cannot be read", "permissions")
    finally:
        os.chmod(locked, 0o755)


@needs_root
def test_unreadable_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('language = "nl"\n')
    os.chmod(config, 0)
    assert_one_line_error(_without_file_permission_override("reflect", "hello", env={"HAVEN_CONFIG": str(config)}),
                          "config.toml", "cannot be read")
