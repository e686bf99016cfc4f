"""A journal on a disk that fills up: an entry is whole or not there, an empty journal is
not left behind, and a folder that cannot be written fails before the session. A real
full disk: a small tmpfs mounted for the test (root only; skipped elsewhere)."""

from __future__ import annotations

import os
import subprocess

import pytest

from assistant.events import Done, ReplyEvent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    monkeypatch.setenv("HAVEN_DATA_DIR", str(disk / "haven"))
    yield disk
    subprocess.run(["umount", str(disk)])


def _fill(disk, leave: int = 0) -> None:
    """Fill the disk, then free `leave` bytes."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\1" * 1024):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(disk / "filler", max(0, os.path.getsize(disk / "filler") - leave))


def _reply(n: int) -> ReplyEvent:
    return ReplyEvent(transcript=f"utterance {n}: " + "he never listens to me " * 20, reply="I hear you. " * 20,
                      end_s=float(n))


def _entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_full_from_the_start_leaves_no_empty_journal(small_disk, capsys):
    from assistant.journal import Journal, entries

    book = Journal.open("test")
    _fill(small_disk)
    book.record(_reply(1))
    book.record(Done())
    book.close()
    assert book.path is None and entries() == []
    [line] = capsys.readouterr().err.splitlines()
    assert "nothing was kept" in line


def test_full_mid_session_keeps_whole_entries_only(small_disk, capsys):
    from assistant.journal import Journal, entries

    book = Journal.open("test")
    _fill(small_disk, leave=4096 * 2)  # room for the header and a few entries, not for all
    for n in range(1, 40):
        book.record(_reply(n))
    book.close()
    text = book.path.read_text()
    kept = _entries(text)
    assert 1 <= len(kept) < 39
    assert text.endswith("\n\n") and text.rstrip().splitlines()[-1].startswith("- **When:**")  # no torn entry
    assert entries()[0].utterances == len(kept)
    assert "the entries before this one are kept" in capsys.readouterr().err


def test_read_only_journal_folder_fails_before_the_session(small_disk):
    from assistant.errors import HavenError
    from assistant.journal import Journal

    Journal.open("first")  # the folder exists
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(HavenError, match="cannot keep a journal"):
        Journal.open("second")
