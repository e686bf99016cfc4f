"""`haven listen`: the microphone and speakers, or a recording (--input) and a WAV (--output)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

from assistant.audio import check_writable
from assistant.devices import find_device
from assistant.errors import HavenError
from assistant.pipeline import Stages, run as run_pipeline, session_settings
from assistant.settings import settings_for
from assistant.ui import view_for


def run(args) -> int:
    if args.output and args.input is None:
        raise HavenError("--output writes Haven's voice on a recording's timeline, so it needs --input FILE; "
                         "live, Haven speaks through the speakers")
    settings = settings_for(args)
    speak = not args.no_speak
    in_dev = find_device(settings.input_device, "input")
    out_dev = find_device(settings.output_device, "output")
    emit = view_for(args, live=args.input is None, language=settings.language, journal=args.journal)
    source, sink, output = _source_and_sink(args, in_dev, out_dev, speak)  # bad input fails before the slow part
    book = open_journal(args.input and Path(args.input).name, settings.language) if args.journal else None
    stages = None
    try:
        with emit if hasattr(emit, "__enter__") else nullcontext():
            stages = Stages.load(settings, speak)
            asr = _asr(args.input is None, stages.transcriber)
            run_pipeline(source, stages, sink, book.wrap(emit) if book else emit,
                         session_settings(settings, speak), asr, output)
    finally:
        if book is not None:
            close_journal(book)
        if stages is not None:
            stages.close()
    return 0


def _source_and_sink(args, in_dev, out_dev, speak: bool):
    """What live and file mode differ in (with _asr): where the audio comes from and goes."""
    from assistant.source import FileSource, MicSource
    from assistant.sink import SpeakerSink, TimelineSink

    if args.input is not None:
        source = FileSource(args.input)
        if args.output:
            check_writable(args.output)
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
