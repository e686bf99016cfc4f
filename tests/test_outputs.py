"""--output never destroys anything: not the person's recording, not a device, not an
existing file unless --force; an unwritable folder fails before the model loads; what a
killed run left behind is cleaned up. Real files, the real command line."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from assistant.sink import partial_name
from conftest import assert_one_line_error, haven_here


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def no_model_load(monkeypatch):
    """A tripwire (a test double): the check must come before the slow model load."""
    from assistant.pipeline import Stages

    def tripped(*a, **k):
        raise AssertionError("the model was loaded before --output was checked")

    monkeypatch.setattr(Stages, "load", tripped)


def test_output_equal_to_input_is_refused(talk, no_model_load):
    before = _md5(talk)
    for spelling in (talk, talk.parent / "." / talk.name):
        for force in ((), ("--force",)):
            assert_one_line_error(haven_here("listen", "--input", talk, "--output", spelling, *force),
                                  "is the recording given with --input")
    assert _md5(talk) == before


def test_output_through_a_link_to_the_input_is_refused(talk, tmp_path, no_model_load):
    link = tmp_path / "link.wav"
    link.symlink_to(talk)
    assert_one_line_error(haven_here("listen", "--input", talk, "--output", link, "--force"), "--input")
    assert link.is_symlink()


def test_existing_file_is_kept_without_force(talk, tmp_path, no_model_load):
    keep = tmp_path / "keep.txt"
    keep.write_text("my notes")
    assert_one_line_error(haven_here("listen", "--input", talk, "--output", keep), "exists", "--force")
    assert keep.read_text() == "my notes"


def test_existing_file_is_replaced_with_force(tmp_path):
    out = tmp_path / "b.wav"
    out.write_text("old")
    assert haven_here("breathe", "--cycles", "1", "--output", out, "--json", "--force").returncode == 0
    assert out.read_bytes()[:4] == b"RIFF"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # a record of what Haven said: the owner's alone


def test_special_files_are_refused(talk, tmp_path, no_model_load):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_one_line_error(haven_here("listen", "--input", talk, "--output", fifo, "--force"), "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    if os.geteuid() == 0:  # a copy of /dev/null, as the audit made it (root only)
        null = tmp_path / "null"
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        assert_one_line_error(haven_here("listen", "--input", talk, "--output", null, "--force"),
                              "not a regular file")
        assert stat.S_ISCHR(os.stat(null).st_mode)


def test_empty_output_name(talk, tmp_path, monkeypatch, no_model_load):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(haven_here("listen", "--input", talk, "--output", ""), "--output needs a file name")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_fails_before_the_model_loads(talk, no_model_load):
    # /proc takes no new files, even for root: a folder that exists and cannot be written.
    assert_one_line_error(haven_here("listen", "--input", talk, "--output", "/proc/replies.wav"),
                          "not writable")
    assert not os.path.exists("/proc/replies.wav")


def test_stale_partial_of_a_killed_run_is_cleaned(tmp_path):
    out = tmp_path / "b.wav"
    dead = 2 ** 22 + 1  # above Linux's pid_max: no such process
    stale, live = tmp_path / partial_name(out.name, dead), tmp_path / partial_name(out.name, 1)
    stale.write_bytes(b"RIFF half")
    live.write_bytes(b"RIFF being written by a running process")
    assert haven_here("breathe", "--cycles", "1", "--output", out, "--json").returncode == 0
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, live.name])


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_output_on_a_disk_that_fills_up(tmp_path):
    """A real full disk (a 64 KB tmpfs): one line, exit 2, no partial file left."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = haven_here("breathe", "--cycles", "1", "--output", disk / "b.wav", "--json")
        assert_one_line_error(result, "cannot write", "No space left", "free some space")
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)])
