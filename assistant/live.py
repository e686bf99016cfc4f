"""`haven listen` on the microphone: the same Session as for a recording, on a live clock.

The microphone's sample count is the session clock, so events carry the same
meaning as in file mode. Transcription runs on a worker thread (ThreadASR) so the
endpointer keeps listening, which is what makes barge-in and early transcription work.
"""

from __future__ import annotations

import signal
import sys
from contextlib import nullcontext

from assistant.devices import find_device
from assistant.echo import EchoGuard
from assistant.events import Listening, State
from assistant.microphone import Microphone


def listen_live(args) -> int:
    from assistant.cli import on_sigterm
    from assistant.runner import Pipeline, _close_journal, _open_journal, _view, settings_for
    from assistant.session import Session, SessionSettings, ThreadASR
    from assistant.sink import SpeakerSink

    saved = settings_for(args)
    language = saved.language
    speak = not args.no_speak
    emit = _view(args)
    if not args.json and sys.stdout.isatty():
        from assistant.ui import LiveView

        emit = LiveView()
    in_dev = find_device(args.input_device, "input")
    out_dev = find_device(args.output_device, "output")
    mic = Microphone(in_dev)  # no microphone: a clear error before the slow load
    book = _open_journal("the microphone") if getattr(args, "journal", False) else None  # also before the slow load
    echo = EchoGuard()
    sink = SpeakerSink(out_dev, echo=echo) if speak else None
    pipeline = Pipeline.load(language, saved.model, speak, saved)
    settings = SessionSettings(language=language, speak=speak, pause=saved.pause, rate=saved.rate)
    asr = ThreadASR(pipeline.transcriber)
    session = Session(settings, pipeline.transcriber, pipeline.responder, pipeline.voice, sink,
                      book.wrap(emit) if book else emit, asr=asr)
    session.endpointer.gate = echo.is_echo

    # SIGTERM ends like Ctrl-C: cleanly, with the summary.
    signal.signal(signal.SIGTERM, on_sigterm)  # raises Terminated, a KeyboardInterrupt that exits 143
    interrupted = False
    level = getattr(emit, "level", None)
    was_playing = False
    try:
        view_context = emit if hasattr(emit, "__enter__") else nullcontext()
        view_context.__enter__()
        mic.start()
        emit(Listening(language=language, model=pipeline.transcriber.resolved.name,
                       input="microphone", startup_ms=round(pipeline.startup_ms, 1)))
        emit(State(state="listening"))
        while not session.stopped:
            got = mic.read(0.5)
            if got is None:
                continue
            captured, frames = got
            echo.heard(session.endpointer.received, captured, frames)
            session.feed(frames)
            if level is not None:
                level(float((frames ** 2).mean() ** 0.5) if len(frames) else 0.0)
            playing = sink is not None and sink.playing()
            if was_playing and not playing and not session.paused:
                emit(State(state="listening", at_s=round(session.now_s, 3)))
            was_playing = playing
        if sink is not None:
            sink.wait(timeout=60)  # let the goodbye finish
    except KeyboardInterrupt as e:
        interrupted = getattr(e, "exit_code", 130)  # 130 Ctrl-C, 143 SIGTERM
        session.end_by_interrupt()
    finally:
        view_context.__exit__(None, None, None)
        if book is not None:
            _close_journal(book)
        mic.close()
        if sink is not None:
            sink.close()
        asr.close()
        pipeline.close()
    session.done()
    return interrupted or 0
