"""What the person sees: a readable account in the terminal, or JSON lines.

Both views take the same events (assistant.events); --json writes nothing else to
stdout, so a program can read it line by line.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from assistant.events import Cue, Done, Event, Interrupted, Listening, ReplyEvent, State, Summary

_KIND_STYLE = {"crisis": "bold red", "unsafe": "bold red", "command": "cyan", "reflection": "green", "fallback": "yellow"}


class JsonView:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(event.to_json() + "\n")
        self.stream.flush()


class TextView:
    """One readable block per reply: when, what was heard, what it was taken for, the answer."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False, soft_wrap=True)

    def __call__(self, event: Event) -> None:
        c = self.console
        if isinstance(event, Listening):
            c.print(f"[dim]Listening ({event.language}, model {escape(event.model)}, "
                    f"ready in {event.startup_ms / 1000:.1f} s) to {escape(event.input)}[/dim]")
        elif isinstance(event, ReplyEvent):
            label = event.theme or event.command or ""
            style = _KIND_STYLE.get(event.kind, "white")
            c.print(f"\n[dim]{event.start_s:6.1f}–{event.end_s:.1f} s[/dim]  [bold]heard:[/bold] {escape(event.transcript)}")
            c.print(f"           [{style}]{event.kind}{' / ' + label if label else ''}[/{style}] "
                    f"[dim](score {event.score:.0f}, reply after {event.timings_ms.get('total', 0):.0f} ms)[/dim]")
            if event.reply:
                c.print(f"           [bold]Haven:[/bold] {escape(event.reply)}")
            elif event.mode == "paused":
                c.print("           [dim](paused: Haven stays quiet)[/dim]")
        elif isinstance(event, Interrupted):
            c.print(f"[dim]{event.at_s:6.1f} s  (you spoke; Haven stopped talking)[/dim]")
        elif isinstance(event, Cue):
            c.print(f"[dim]{event.at_s:6.1f} s[/dim]  breathing: {event.phase} for {event.duration_s:g} s (cycle {event.cycle})")
        elif isinstance(event, Summary):
            c.print(f"\n[bold]Summary:[/bold] {escape(event.text)}")
        elif isinstance(event, Done):
            tail = f"; Haven's voice written to {escape(event.output)}" if event.output else ""
            c.print(f"\n[dim]{event.utterances} utterances, {event.replies} replies{tail}[/dim]")
        elif isinstance(event, State):
            pass  # the live view shows states; an account of a recording does not need them
