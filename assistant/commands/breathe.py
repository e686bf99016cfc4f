"""`haven breathe`: a guided breathing session, on the speakers or (--output) to a WAV.

Both go through the one scheduler (breathing.Guide) on a silent clock: in real time
for the speakers, as fast as possible for the WAV. The session honours config.toml
(voices and language) like every other command.
"""

from __future__ import annotations

import sys

from rich.markup import escape

from assistant.guards import check_output
from assistant.breathing import BreathingSession, Guide, cycles_for, load_patterns, load_texts, load_tones, play
from assistant.devices import default_device, find_device
from assistant.errors import HavenError
from assistant.library import LANGUAGES, interface
from assistant.settings import SAMPLE_RATE, settings_for
from assistant.sink import SpeakerSink, TimelineSink
from assistant.source import SilentSource
from assistant.ui import BarAnimation, JsonView, TextView
from assistant.voice import Voice


def run(args) -> int:
    settings = settings_for(args)
    language = settings.language if settings.language in LANGUAGES else "en"  # auto: nothing to detect it from
    cycles, minutes = args.cycles, args.minutes
    if cycles is not None and minutes is not None:
        raise HavenError("give --cycles or --minutes, not both")
    patterns = load_patterns()
    pattern = patterns.find(args.pattern)
    n, capped = cycles_for(pattern, cycles, minutes)
    load_texts(language, patterns=patterns)
    tones = load_tones()  # a missing file fails before the slow part
    if args.output is not None:
        check_output(args.output, force=args.force)
    words = interface(language)
    view = JsonView() if args.json else TextView(words=words)
    if capped:
        sys.stderr.write(f"haven: {pattern.name} is {n} cycles at most; ask for more with --cycles\n")
    sink = None if args.output else _speakers(settings.output_device)  # opened first: it settles while clips render
    try:
        voice = Voice(language, settings.rate, voices=settings.voices())
        try:
            session = BreathingSession(pattern, voice, language, cycles=n, tones=tones)
        finally:
            voice.close()
        if args.output:
            source = SilentSource(session.duration_s, paced=False)
            sink = TimelineSink(int(round(session.duration_s * SAMPLE_RATE)), args.output)
            _play(session, source, sink, view)
            if not args.json:
                view.console.print("[dim]" + escape(words.text(
                    "breathe.written", pattern=pattern.name, cycles=_cycles(words, n),
                    seconds=f"{session.duration_s:.0f}", output=args.output)) + "[/dim]")
            return 0
        source = SilentSource(paced=True)
        sink.clock = source.clock
        animation, emit = None, view
        if not args.json and sys.stdout.isatty():
            view.console.print("[dim]" + escape(words.text(
                "breathe.header", pattern=pattern.name, description=words.get(f"patterns.{pattern.name}",
                                                                               pattern.description),
                cycles=_cycles(words, n), duration=_minutes(words, session.duration_s))) + "[/dim]")
            if session.intro_text:  # spoken before the first breath: shown too, not a silent screen
                view.console.print(escape(session.intro_text))
            animation = BarAnimation(view.console)
            emit = lambda event: None  # noqa: E731  the bar shows each phase
        _play(session, source, sink, emit, animation)
        if animation is not None and session.close_text:
            view.console.print(escape(session.close_text))
        return 0
    except BaseException:
        if sink is not None:
            sink.abandon()  # Ctrl-C or SIGTERM: the sound stops at once
        raise


def _speakers(output_device) -> SpeakerSink:
    device = find_device(output_device, "output")
    if device is None and default_device("output") is None:
        raise HavenError("no speakers found; use --output FILE to write the session as a WAV")
    return SpeakerSink(device)


def _play(session: BreathingSession, source, sink, emit, animation=None) -> None:
    source.open()
    if animation is not None:
        animation.start(session, source.clock.time_of(0))
    try:
        play(Guide(session, 0), source, sink, emit, animation.step if animation is not None else None)
    finally:
        if animation is not None:
            animation.stop()
    sink.finish()


def _minutes(words, seconds: float) -> str:
    return words.text("breathe.seconds", n=f"{seconds:.0f}") if seconds < 90 else \
        words.text("breathe.minutes", n=f"{seconds / 60:.0f}")


def _cycles(words, n: int) -> str:
    return words.text("breathe.cycle" if n == 1 else "breathe.cycles", n=n)
