"""Two sessions started in the same second: numbered in the order they began, so that
`haven journal forget 1` deletes the older one. Real journals written by Journal."""

from __future__ import annotations

import json

from conftest import haven_here


def test_same_second_sessions_are_numbered_in_order(tmp_path, monkeypatch):
    from assistant.journal import Journal, ensure_journal_dir

    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    folder = ensure_journal_dir()
    started = 1_780_000_000.0
    paths = []
    for source in ("first", "second"):  # the same start second: the second gets the -2 name
        book = Journal(folder, source, started=started)
        book._create()
        book.close()
        paths.append(book.path)
    assert paths[1].name.endswith("-2.md")
    listed = [json.loads(line) for line in haven_here("journal", "list", "--json").stdout.splitlines()]
    assert [e["file"] for e in listed] == [str(p) for p in paths]
    assert haven_here("journal", "forget", "1", "--yes").returncode == 0
    assert not paths[0].exists() and paths[1].exists()
