"""`haven listen`: the microphone and speakers, or a recording (--input) and a WAV (--output)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

from assistant.devices import find_device
from assistant.errors import HavenError
from assistant.guards import check_output
from assistant.library import LANGUAGES, language_pack
from assistant.pipeline import Stages, run as run_pipeline, session_settings
from assistant.settings import SAMPLE_RATE, settings_for
from assistant.ui import view_for


def run(args) -> int:
    if args.output and args.input is None:
        raise HavenError("--output writes Haven's voice on a recording's timeline, so it needs --input FILE; "
                         "live, Haven speaks through the speakers")
    settings = settings_for(args)
    speak = not args.no_speak
    in_dev = find_device(settings.input_device, "input")
    out_dev = find_device(settings.output_device, "output")
    check_session_texts(LANGUAGES if settings.language == "auto" else (settings.language,))
    emit = view_for(args, live=args.input is None, language=settings.language, journal=args.journal)
    source, sink, output = _source_and_sink(args, in_dev, out_dev, speak)  # bad input fails before the slow part
    book = open_journal(args.input and Path(args.input).name, settings.language) if args.journal else None
    stages = None
    try:
        with emit if hasattr(emit, "__enter__") else nullcontext():
            stages = Stages.load(settings, speak)
            asr = _asr(args.input is None, stages.transcriber)
            out = _keeping_numbers(book.wrap(emit) if book else emit, stages.responder, settings.language)
            session = run_pipeline(source, stages, sink, out, session_settings(settings, speak), asr, output)
        if args.input is not None and session.stopped:
            _note_unheard(session.clock, len(source))
    finally:
        if book is not None:
            close_journal(book)
        if stages is not None:
            stages.close()
    return 0


def _keeping_numbers(emit, responder, language: str):
    """emit, and after a safety reply the helplines as the last lines on screen (cli prints
    them after everything else, Ctrl-C's one line included)."""
    from assistant.events import Summary
    from assistant.helplines import show_last

    def out(event) -> None:
        emit(event)
        if isinstance(event, Summary) and event.helplines:
            show_last(responder.aftercare.screen(event.helplines, language if language != "auto" else "en"))

    if hasattr(emit, "level"):
        out.level = emit.level  # the live view's meter
    return out


def check_session_texts(languages) -> None:
    """Everything a session can reach in prompts/, loaded and checked at start: the replies
    (summary, breathing offer...) and the breathing patterns and their words ("help me breathe")."""
    from assistant.breathing import load_patterns, load_texts

    patterns = load_patterns()
    for language in languages:
        language_pack(language)
        load_texts(language, patterns=patterns)


def _note_unheard(clock: int, length: int) -> None:
    """"Stop" said inside a recording ends it as it would live; the rest is not silently dropped."""
    left = (length - clock) / SAMPLE_RATE
    if left >= 1.0:
        sys.stderr.write(f"haven: note: \"stop\" was heard at {clock / SAMPLE_RATE:.1f} s, so the last "
                         f"{left:.1f} s of the recording were not listened to\n")


def _source_and_sink(args, in_dev, out_dev, speak: bool):
    """What live and file mode differ in (with _asr): where the audio comes from and goes."""
    from assistant.source import FileSource, MicSource
    from assistant.sink import SpeakerSink, TimelineSink

    if args.input is not None:
        source = FileSource(args.input)
        if args.output is not None:
            check_output(args.output, args.input, args.force)
        # With --output the WAV is written as the session goes (flat memory for hours).
        return source, TimelineSink(len(source), args.output), args.output
    from assistant.echo import EchoGuard

    echo = EchoGuard()
    source = MicSource(in_dev, echo)  # no microphone: a clear error before the slow load
    return source, (SpeakerSink(out_dev, echo=echo, clock=source.clock) if speak else None), None


def _asr(live: bool, transcriber):
    from assistant.transcriber import InlineASR, ThreadASR

    return ThreadASR(transcriber) if live else InlineASR(transcriber)


def open_journal(recording: str | None, language: str):
    """The journal of this session, its headings in the session's language."""
    from assistant.journal import Journal
    from assistant.library import interface

    words = interface(language)
    return Journal.open(words.text("journal.recording", name=recording) if recording
                        else words.text("journal.microphone"), language)


def close_journal(book) -> None:
    book.close()
    if book.path is not None:
        sys.stderr.write(f"Journal kept in {book.path} (readable by you alone; see: haven journal list)\n")
