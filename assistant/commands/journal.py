"""`haven journal list | show N | forget N | forget --all`: the sessions kept with --journal."""

from __future__ import annotations

import json
import sys

from assistant import journal
from assistant.errors import HavenError


def run(args) -> int:
    """`haven journal list | show N | forget N | forget --all`."""
    action = args.journal_command
    if action in (None, "list"):
        found = journal.entries()
        if getattr(args, "json", False):
            for e in found:
                print(json.dumps(e.fields(), ensure_ascii=False))
            return 0
        if not found:
            print(f"The journal is empty ({journal.journal_dir()}). Sessions are kept only with: haven listen --journal")
            return 0
        for e in found:
            themes = ", ".join(e.themes[:3]) + (", …" if len(e.themes) > 3 else "")
            status = "" if e.finished else "  (ended abruptly)"
            print(f"{e.number:3d}  {e.started[:16]}  {journal.count(e.utterances, 'utterance'):>13}  {themes}{status}".rstrip())
        return 0
    if action == "show":
        sys.stdout.write(journal.show(args.number))
        return 0
    if action == "forget":
        if args.all == (args.number is not None):
            raise HavenError("say which entry to forget: haven journal forget N, or haven journal forget --all")
        if args.all:
            n = journal.forget_all()
            print(f"Forgot {journal.count(n, 'journal entry', 'journal entries')}." if n else "The journal was already empty.")
        else:
            e = journal.forget(args.number)
            print(f"Forgot journal entry {e.number} ({e.started[:16]}).")
        return 0
    raise HavenError(f"unknown journal command '{action}'; use list, show N, forget N or forget --all")
