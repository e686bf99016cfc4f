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
from assistant.library import Interface, interface
from assistant.quiet import quiet_screen


def view_for(args, live: bool = False, language: str | None = None, journal: bool = False):
    """--json: JSON lines; a terminal while talking live: the LiveView; else a readable account.

    language: the session's, for the words on screen (auto shows English); journal: say
    on screen that this session is being kept.
    """
    if getattr(args, "json", False):
        return JsonView()
    words, verbose = interface(language), getattr(args, "verbose", False)
    if live and sys.stdout.isatty():
        return LiveView(words=words, verbose=verbose, journal=journal)
    return TextView(words=words, verbose=verbose, journal=journal)


def _taken_as(event: ReplyEvent) -> str:
    """What an utterance was taken for, in the ids of --json: only for --verbose."""
    label = event.theme or event.command
    return (f"{event.kind}{' / ' + label if label else ''} "
            f"(score {event.score:.0f}, reply after {event.timings_ms.get('total', 0):.0f} ms)")


class JsonView:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(event.to_json() + "\n")
        self.stream.flush()


class TextView:
    """One readable block per reply: when, what was heard, the answer, in plain words
    (with --verbose also what it was taken for, the score and the time)."""

    def __init__(self, console: Console | None = None, words: Interface | None = None, verbose: bool = False,
                 journal: bool = False):
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.words = words or interface("en")
        self.verbose = verbose
        self.journal = journal

    def __call__(self, event: Event) -> None:
        c, w = self.console, self.words.text
        if isinstance(event, Listening):
            line = w("account.ready", input=event.input, seconds=f"{event.startup_ms / 1000:.1f}")
            if self.verbose:
                line += f" ({event.language}, model {event.model})"
            c.print(f"[dim]{escape(line)}[/dim]")
            if self.journal:
                c.print(f"[dim]{escape(w('panel.journal'))}[/dim]")
        elif isinstance(event, ReplyEvent):
            c.print(f"\n[dim]{event.start_s:6.1f}–{event.end_s:.1f} s[/dim]  "
                    f"[bold]{escape(w('account.heard'))}:[/bold] {escape(event.transcript)}")
            if self.verbose:
                c.print(f"           [dim]{escape(_taken_as(event))}[/dim]")
            if event.reply:
                c.print(f"           [bold]{escape(w('account.reply'))}:[/bold] {escape(wrap(event.reply, c.width - 18, 18))}")
            elif event.mode in ("paused", "breathing"):
                c.print(f"           [dim]{escape(w('account.' + event.mode))}[/dim]")
        elif isinstance(event, Said):
            c.print(f"\n[dim]{event.at_s:6.1f} s[/dim]  [bold]{escape(w('account.reply'))}:[/bold] "
                    f"{escape(wrap(event.text, c.width - 16, 16))}")
        elif isinstance(event, Interrupted):
            c.print(f"[dim]{event.at_s:6.1f} s  {escape(w('account.interrupted'))}[/dim]")
        elif isinstance(event, Cue):
            c.print(f"[dim]{event.at_s:6.1f} s[/dim]  {escape(breath_line(self.words, event))}")
        elif isinstance(event, Summary):
            c.print(f"\n[bold]{escape(w('account.summary'))}:[/bold] {escape(wrap(event.text, c.width - 9, 9))}")
        elif isinstance(event, Done):
            line = w("account.done", utterances=event.utterances, replies=event.replies)
            if event.output:
                line += " " + w("account.written", output=event.output)
            c.print(f"\n[dim]{escape(line)}[/dim]")
        elif isinstance(event, State):
            pass  # the live view shows states; an account of a recording does not need them


def breath_line(words: Interface, cue: Cue) -> str:
    return words.text("panel.breath", phase=words.get(f"phases.{cue.phase}", cue.phase),
                      seconds=f"{cue.duration_s:g}", cycle=cue.cycle)


class LiveView:
    """The terminal while talking: what Haven is doing, a live input level, the last exchange.

    The state line shows only what the session's state machine last said (State
    events), so it is never ahead of or behind the sound; breathing's line shows only
    while the state is breathing. rich's Live redraws one panel in place at a fixed
    rate; events and levels only change the fields it draws from. While the panel is
    up, native libraries' stderr is kept off the screen (quiet.py). The panel is up
    from the first moment, with a spinner while the model loads.
    """

    STATES = {"ended": "white", "starting": "cyan", "listening": "green", "hearing": "cyan", "thinking": "yellow",
              "speaking": "magenta", "breathing": "blue", "paused": "dim", "ending": "white"}

    def __init__(self, console: Console | None = None, words: Interface | None = None, verbose: bool = False,
                 journal: bool = False):
        from rich.live import Live
        from rich.spinner import Spinner

        self.console = console or Console(highlight=False)
        self.words = words or interface("en")
        self.verbose = verbose
        self.journal = journal
        self.state = "starting"
        self.level_value = 0.0
        self.heard = ""
        self.reply = ""
        self.label = ""  # what the utterance was taken for: --verbose only
        self.breath = ""  # the breathing phase under way, shown while breathing
        self.note = self.words.text("panel.loading")
        self._spinner = Spinner("dots", style="cyan")
        self._quiet = None
        self._live = Live(self._render(), console=self.console, refresh_per_second=12, transient=False,
                          get_renderable=self._render)

    def __enter__(self):
        self._quiet = quiet_screen()
        self._quiet.__enter__()
        try:
            self._live.__enter__()
        except BaseException:
            self._quiet.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._live.__exit__(*exc)
        finally:
            self._quiet.__exit__(*exc)

    def level(self, rms: float) -> None:
        self.level_value = rms

    def _render(self):
        from rich.panel import Panel
        from rich.table import Table

        w = self.words.text
        # dBFS from -60 to 0 as a 30-cell bar.
        db = 20 * math.log10(max(self.level_value, 1e-6))
        cells = int(max(0.0, min(1.0, (db + 60) / 60)) * 30)
        labels = [w(f"panel.{k}") for k in ("state", "level", "heard", "reply")]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", width=max(len(x) for x in labels))
        grid.add_column()
        style = self.STATES.get(self.state, "white")
        state = f"[{style}]{escape(self.words.get('states.' + self.state, self.state))}[/{style}]"
        if self.state == "starting":
            from rich.columns import Columns

            state = Columns([self._spinner, state])
        grid.add_row(labels[0], state)
        if self.state == "breathing" and self.breath:
            grid.add_row("", f"[blue]{escape(self.breath)}[/blue]")
        grid.add_row(labels[1], f"[green]{'█' * cells}[/green][dim]{'·' * (30 - cells)}[/dim]")
        grid.add_row(labels[2], escape(self.heard) or "[dim]...[/dim]")
        if self.verbose and self.label:
            grid.add_row("", f"[dim]{escape(self.label)}[/dim]")
        grid.add_row(labels[3], escape(wrap(self.reply, self.console.width - 14)))  # a number never wraps
        if self.journal:
            grid.add_row("", f"[dim]{escape(w('panel.journal'))}[/dim]")
        return Panel(grid, title=escape(w("panel.title")), subtitle=escape(self.note), border_style=style)

    def __call__(self, event: Event) -> None:
        w = self.words.text
        if isinstance(event, Listening):
            self.state, self.note = "listening", w("panel.hint")
        elif isinstance(event, State):
            self.state = event.state
            if event.state != "breathing":
                self.breath = ""  # breathing has ended (or paused): its phase line goes
            if event.state == "paused":
                self.note = w("panel.paused")
            elif self.note == w("panel.paused"):
                self.note = w("panel.hint")
        elif isinstance(event, ReplyEvent):
            self.heard = event.transcript
            self.label = _taken_as(event)
            self.reply = event.reply or (w("account.paused") if event.mode == "paused" else "")
        elif isinstance(event, Said):
            self.reply = event.text
        elif isinstance(event, Interrupted):
            self.note = w("panel.interrupted")
        elif isinstance(event, Cue):
            self.breath = breath_line(self.words, event)
        elif isinstance(event, Summary):
            self.reply, self.note = event.text, w("panel.ended")
        elif isinstance(event, Done):
            self.state = "ended"  # not "saying goodbye" on the screen left behind


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
        self._quiet = quiet_screen()  # alsa-lib's lines would split the bar
        self._quiet.__enter__()
        self._live = Live(self, console=self.console, refresh_per_second=12, transient=True)
        self._live.start()

    def step(self, step) -> None:
        self._step = step

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._quiet.__exit__(None, None, None)

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
