"""What the person sees: a readable account in the terminal, or JSON lines.

Both views take the same events (assistant.events); --json writes nothing else to
stdout, so a program can read it line by line.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Callable

from rich.console import Console
from rich.markup import escape

from assistant.events import Cue, Done, Event, Interrupted, Listening, ReplyEvent, Said, State, Summary
from assistant.helplines import wrap

_KIND_STYLE = {"crisis": "bold red", "unsafe": "bold red", "command": "cyan", "reflection": "green", "fallback": "yellow"}


def view_for(args, live: bool = False):
    """--json: JSON lines; a terminal while talking live: the LiveView; else a readable account."""
    if getattr(args, "json", False):
        return JsonView()
    if live and sys.stdout.isatty():
        return LiveView()
    return TextView()


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
                c.print(f"           [bold]Haven:[/bold] {escape(wrap(event.reply, c.width - 18, 18))}")
            elif event.mode == "paused":
                c.print("           [dim](paused: Haven stays quiet)[/dim]")
            elif event.mode == "breathing":
                c.print("           [dim](breathing: Haven keeps the rhythm)[/dim]")
        elif isinstance(event, Said):
            c.print(f"\n[dim]{event.at_s:6.1f} s[/dim]  [bold]Haven:[/bold] {escape(wrap(event.text, c.width - 16, 16))}")
        elif isinstance(event, Interrupted):
            c.print(f"[dim]{event.at_s:6.1f} s  (you spoke; Haven stopped talking)[/dim]")
        elif isinstance(event, Cue):
            c.print(f"[dim]{event.at_s:6.1f} s[/dim]  breathing: {event.phase} for {event.duration_s:g} s (cycle {event.cycle})")
        elif isinstance(event, Summary):
            c.print(f"\n[bold]Summary:[/bold] {escape(wrap(event.text, c.width - 9, 9))}")
        elif isinstance(event, Done):
            tail = f"; Haven's voice written to {escape(event.output)}" if event.output else ""
            c.print(f"\n[dim]{event.utterances} utterances, {event.replies} replies{tail}[/dim]")
        elif isinstance(event, State):
            pass  # the live view shows states; an account of a recording does not need them


class LiveView:
    """The terminal while talking: state, a live input level, the last exchange; no flicker.

    rich's Live redraws one panel in place at a fixed rate; events and levels only
    change the fields it draws from.
    """

    STATES = {"listening": "green", "hearing": "cyan", "thinking": "yellow", "speaking": "magenta",
              "breathing": "blue", "paused": "dim"}

    def __init__(self, console: Console | None = None):
        from rich.live import Live

        self.console = console or Console(highlight=False)
        self.state = "starting"
        self.level_value = 0.0
        self.heard = ""
        self.reply = ""
        self.label = ""
        self.note = "Loading the speech model..."
        self._live = Live(self._render(), console=self.console, refresh_per_second=12, transient=False,
                          get_renderable=self._render)

    def __enter__(self):
        self._live.__enter__()
        return self

    def __exit__(self, *exc):
        self._live.__exit__(*exc)

    def level(self, rms: float) -> None:
        self.level_value = rms

    def _render(self):
        from rich.panel import Panel
        from rich.table import Table

        # dBFS from -60 to 0 as a 30-cell bar.
        db = 20 * math.log10(max(self.level_value, 1e-6))
        cells = int(max(0.0, min(1.0, (db + 60) / 60)) * 30)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", width=8)
        grid.add_column()
        style = self.STATES.get(self.state, "white")
        grid.add_row("state", f"[{style}]{self.state}[/{style}]")
        grid.add_row("level", f"[green]{'█' * cells}[/green][dim]{'·' * (30 - cells)}[/dim]")
        grid.add_row("heard", escape(self.heard) or "[dim]...[/dim]")
        grid.add_row("", f"[dim]{escape(self.label)}[/dim]")
        grid.add_row("Haven", escape(wrap(self.reply, self.console.width - 14)))  # a number never wraps
        return Panel(grid, title="Haven", subtitle=escape(self.note), border_style=style)

    def __call__(self, event: Event) -> None:
        if isinstance(event, Listening):
            self.state, self.note = "listening", "Talk whenever you like. Say 'stop' or press Ctrl-C to end."
        elif isinstance(event, State):
            self.state = event.state
        elif isinstance(event, ReplyEvent):
            self.heard = event.transcript
            self.label = f"{event.kind}{' / ' + (event.theme or event.command) if (event.theme or event.command) else ''}"
            self.reply = event.reply or ("(paused)" if event.mode == "paused" else "")
        elif isinstance(event, Said):
            self.reply = event.text
        elif isinstance(event, Interrupted):
            self.note = "You spoke, so Haven stopped talking."
        elif isinstance(event, Cue):
            self.state, self.note = "breathing", f"{event.phase} for {event.duration_s:g} s (cycle {event.cycle})"
        elif isinstance(event, Summary):
            self.reply, self.note = event.text, "Session ended."


class BarAnimation:
    """A bar that fills while breathing in, stays while holding, and empties while breathing out.

    Drawn by rich.live in its own refresh thread from the clock, so drawing never
    delays a cue. Shows the cue words, the bar, the seconds left in the phase and the cycle.
    """

    WIDTH = 32

    def __init__(self, console, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.clock = clock
        self._live = None
        self._session = None  # a breathing.BreathingSession
        self._t0 = 0.0
        self._step = None  # the breathing.Step under way
        self._levels: dict[int, tuple[float, float]] = {}

    def start(self, session, t0: float) -> None:
        from rich.live import Live

        self._session, self._t0 = session, t0
        self._levels = _levels(session.steps)
        self._live = Live(self, console=self.console, refresh_per_second=12, transient=True)
        self._live.start()

    def step(self, step) -> None:
        self._step = step

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self) -> str:
        step, session = self._step, self._session
        if step is None or session is None:
            return ""
        elapsed = self.clock() - self._t0 - step.at_s
        frac = min(1.0, max(0.0, elapsed / step.duration_s))
        a, b = self._levels[id(step)]
        level = a + (b - a) * frac
        filled = int(round(level * self.WIDTH))
        left = max(1, math.ceil(step.duration_s - elapsed - 1e-6))
        label = session.label(step)
        return (f"{label:<30.30} {'█' * filled}{'░' * (self.WIDTH - filled)} {left:2d}"
                f"   {step.cycle}/{session.cycles}")

    def __rich__(self):
        from rich.text import Text

        return Text(self.line())


def _levels(steps: list) -> dict[int, tuple[float, float]]:
    """How full the lungs are at the start and end of each step (0 empty, 1 full).

    A run of inhales (the sigh's top-up) fills the bar in proportion to their time.
    """
    out: dict[int, tuple[float, float]] = {}
    level = 0.0
    for i, step in enumerate(steps):
        if step.phase == "inhale":
            run = step.duration_s
            for nxt in steps[i + 1:]:
                if nxt.phase != "inhale":
                    break
                run += nxt.duration_s
            end = level + (1.0 - level) * step.duration_s / run
        elif step.phase == "exhale":
            end = 0.0
        else:
            end = level
        out[id(step)] = (level, end)
        level = end
    return out
