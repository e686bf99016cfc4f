"""Bad input: exit code 2 and one line on stderr that says what to do; never a traceback.

Through the command line: in-process (cli.main) where the error comes before anything
slow, a subprocess where the model or the sound devices are involved."""

from __future__ import annotations

import os

import pytest

from conftest import assert_one_line_error, haven_here, listen_in_process, run_haven


def test_missing_file(tmp_path):
    assert_one_line_error(haven_here("listen", "--input", str(tmp_path / "nope.wav")), "no such file")


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    assert_one_line_error(haven_here("listen", "--input", str(tmp_path / "empty.wav")), "empty")


def test_corrupt_file(tmp_path):
    (tmp_path / "noise.wav").write_bytes(os.urandom(4000))
    assert_one_line_error(haven_here("listen", "--input", str(tmp_path / "noise.wav")), "cannot decode")


def test_text_file_named_wav(tmp_path):
    (tmp_path / "notes.wav").write_text("these are my notes, not audio\n" * 20)
    assert_one_line_error(haven_here("listen", "--input", str(tmp_path / "notes.wav")), "cannot decode")


def test_truncated_file_keeps_what_is_there(talk, tmp_path, stages):
    """A recording cut off mid-word: what was recorded is still heard, nothing is lost."""
    from assistant.source import FileSource

    data = talk.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    evs, _ = listen_in_process(stages, FileSource(cut).audio, speak=False)
    replies = [e for e in evs if e["event"] == "reply"]
    assert len(replies) == 1 and "nobody" in replies[0]["transcript"].lower()


def test_header_only_wav(talk, tmp_path):
    cut = tmp_path / "header.wav"
    cut.write_bytes(talk.read_bytes()[:44])
    assert_one_line_error(haven_here("listen", "--input", str(cut)), str(cut))


def test_unknown_language(talk):
    assert_one_line_error(haven_here("listen", "--input", str(talk), "--language", "fr"), "language")


@pytest.mark.slow
def test_model_folder_without_model(talk, tmp_path):
    line = assert_one_line_error(run_haven("listen", "--input", str(talk), "--model", str(tmp_path)), "model.bin")
    assert str(tmp_path) in line


@pytest.mark.slow
def test_unknown_model_name(talk):
    assert_one_line_error(run_haven("listen", "--input", str(talk), "--model", "huge"), "unknown model", "base")


def test_output_that_cannot_be_written(talk, tmp_path):
    assert_one_line_error(
        haven_here("listen", "--input", str(talk), "--output", str(tmp_path / "no" / "such" / "dir.wav")),
        "does not exist")
    assert_one_line_error(haven_here("listen", "--input", str(talk), "--output", str(tmp_path)), "folder")


@pytest.mark.slow
def test_unknown_input_device(talk):
    assert_one_line_error(
        run_haven("listen", "--input", str(talk), "--input-device", "Imaginary Mic 3000"),
        "Imaginary Mic 3000", "haven devices")


def test_bad_pause(talk):
    assert_one_line_error(haven_here("listen", "--input", str(talk), "--pause", "0"), "--pause")


def test_reflect_needs_text():
    assert_one_line_error(haven_here("reflect"), "nothing to reflect")


def test_unknown_command():
    assert_one_line_error(haven_here("sing"), "there is no command 'sing'", "listen")
