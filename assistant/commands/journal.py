"""`haven journal list | show N | forget N | forget --all`: the sessions kept with --journal."""

from __future__ import annotations

import json
import sys

from assistant import journal
from assistant.errors import HavenError
from assistant.settings import load_settings


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
        language = load_settings().language
        for e in found:
            meanings = [journal.meaning(t, language) for t in e.themes]  # plain words; ids with --json
            themes = "; ".join(meanings[:3]) + ("; …" if len(meanings) > 3 else "")
            status = "" if e.finished else "  (ended abruptly)"
            print(f"{e.number:3d}  {e.started[:16]}  {journal.count(e.utterances, 'utterance'):>13}  {themes}{status}".rstrip())
        return 0
    if action == "show":
        sys.stdout.write(journal.show(args.number))
        return 0
    if action == "forget":
        if args.all == (args.number is not None):
            raise HavenError("say which entry to forget: haven journal forget N, or haven journal forget --all")
        what = (f"all {journal.count(len(journal.entries()), 'journal entry', 'journal entries')}" if args.all
                else f"journal entry {journal.pick(args.number).number} ({journal.pick(args.number).started[:16]})")
        if not _confirmed(f"Forget {what}? This cannot be undone.", args.yes):
            print("Nothing was forgotten.")
            return 0
        if args.all:
            n = journal.forget_all()
            print(f"Forgot {journal.count(n, 'journal entry', 'journal entries')}." if n else "The journal was already empty.")
        else:
            e = journal.forget(args.number)
            print(f"Forgot journal entry {e.number} ({e.started[:16]}).")
        return 0
    raise HavenError(f"unknown journal command '{action}'; use list, show N, forget N or forget --all")


def _confirmed(question: str, yes: bool) -> bool:
    """--yes, or a "y" typed at the terminal; with no terminal to ask at, a one-line error."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise HavenError("forgetting cannot be undone, so Haven asks first; add --yes to forget without asking")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes", "j", "ja")
