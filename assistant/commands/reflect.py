"""`haven reflect TEXT` / `haven reflect --batch`: text in, reply out, no audio."""

from __future__ import annotations

import json
import sys

from assistant.errors import HavenError
from assistant.responder import Conversation, Responder
from assistant.settings import settings_for


def run(args) -> int:
    if args.conversation and not args.batch:
        raise HavenError("--conversation goes with --batch (the lines of one conversation, from stdin)")
    settings = settings_for(args)
    language = settings.language
    responder = Responder(language, region=settings.region)
    if args.batch:
        lines = (line.strip() for line in _stdin_lines())
    else:
        text = " ".join(args.text).strip()
        if not text:
            raise HavenError("nothing to reflect on; give the text, e.g. haven reflect \"he never listens\", or use --batch")
        lines = iter([text])
    conv = Conversation()
    for line in lines:
        if not line:
            continue
        if not args.conversation:
            conv = Conversation()
        reply = responder.respond(line, conv, language)
        if args.json:
            print(json.dumps(reply.fields(), ensure_ascii=False), flush=True)
        else:
            label = reply.theme or reply.command or ""
            # Plain words for the person typing; what it was taken for only on request.
            prefix = f"[{reply.kind}{' / ' + label if label else ''}] " if args.verbose else ""
            print(f"{prefix}{reply.reply}", flush=True)
    return 0


def _stdin_lines():
    """stdin a line at a time, each decoded on its own: a line that is not UTF-8 stops the batch
    with one line naming it, after every line before it has been answered."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # already text (stdin replaced in-process)
        yield from sys.stdin
        return
    for number, line in enumerate(raw, 1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HavenError(f"line {number} of the input is not UTF-8 text (byte {e.start + 1}); the lines "
                             f"before it were answered; save the text as UTF-8 and give line {number} on") from None
