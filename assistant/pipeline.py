"""The pipeline, read top to bottom: source → endpointer → transcriber → responder → voice → sink.

    stages = Stages.load(settings, speak=True)                   # the slow part, once
    run(FileSource("talk.wav"), stages, TimelineSink(...), emit, settings, InlineASR(stages.transcriber))
    run(MicSource(device, echo), stages, SpeakerSink(...), emit, settings, ThreadASR(stages.transcriber))

`run` is the one loop for `haven listen` (microphone), `listen --input`, `demo`, the
tests and the benchmarks. Live and file mode differ only in the source, the sink and
the ASR runner passed in; frames, states, barge-in, breathing, the journal (a wrapped
emit) and how an interrupt ends the session are the same code.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from assistant.errors import exit_code, raise_if_stopped
from assistant.events import Event, Listening
from assistant.session import Session, SessionSettings
from assistant.settings import Settings


@dataclass
class Stages:
    """The loaded stages: the expensive part of start-up, done once."""

    transcriber: object
    responder: object
    voice: object | None
    startup_ms: float

    @classmethod
    def load(cls, settings: Settings, speak: bool = True) -> "Stages":
        from assistant.meaning import shared_meaning
        from assistant.models import resolve_model
        from assistant.responder import Responder, check_prompts
        from assistant.transcriber import Transcriber
        from assistant.voice import Voice

        started = time.perf_counter()
        language = settings.language
        voice = Voice(language if language != "auto" else "en", settings.rate, voices=settings.voices()) \
            if speak else None
        try:
            if voice is not None:
                voice.start()  # the worker process starts while the model loads
            # Whisper is loaded first, alone (its imports hold the GIL), and warmed on a thread
            # (native code, the GIL let go) while the sentence encoder loads on another and the
            # prompts and safety rules compile here (both pure Python). Its warm-up is then over
            # before the encoder's tokenizer peaks: peak memory about 30 MB lower than with all
            # three loads started at once, start-up the same (benchmarks/latency.py). A bad
            # prompts file still stops Haven in about a second.
            transcriber = Transcriber(resolve_model(settings.model), language)
            warm = _in_thread(transcriber.warm_up)
            meaning = _in_thread(shared_meaning)
            check_prompts(region=settings.region)
            warm.result()
            responder = Responder(language, region=settings.region,
                                  meaning=meaning.result())  # a ModelError here stops Haven
            if voice is not None:
                voice.render("Hello.")  # also checks the voice exists
                if language in ("nl", "auto"):
                    voice.render("Hallo.", "nl")
        except BaseException:
            if voice is not None:
                voice.close()  # no worker process left behind by a bad model or prompts
            raise
        return cls(transcriber, responder, voice, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        if self.voice is not None:
            self.voice.close()


def _in_thread(job) -> Future:
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load")
    try:
        return pool.submit(job)
    finally:
        pool.shutdown(wait=False)


def session_settings(settings: Settings, speak: bool, **more) -> SessionSettings:
    return SessionSettings(language=settings.language, pause=settings.pause, rate=settings.rate, speak=speak, **more)


def run(source, stages: Stages, sink, emit: Callable[[Event], None], settings: SessionSettings, asr,
        output: str | None = None) -> Session:
    """Feed the source through a Session until it ends; returns the session.

    The source's sample count is the session clock. Ctrl-C or SIGTERM (a
    KeyboardInterrupt) ends the session through Session.end, then goes on up;
    any other error leaves no half-written output behind.
    """
    session = Session(settings, stages.responder, stages.voice, sink, emit, asr,
                      gate=source.echo.is_echo if getattr(source, "echo", None) else None)
    level = getattr(emit, "level", None)  # the live view's meter
    try:
        source.open()
        emit(Listening(language=settings.language, model=stages.transcriber.resolved.name,
                       input=source.name, startup_ms=round(stages.startup_ms, 1)))
        session.start()
        for frames in source:
            session.feed(frames)
            raise_if_stopped()  # a signal's exception lost on the way still ends the session here
            if sink is not None:
                sink.advance(session.clock)
            if level is not None and len(frames):
                level(float((frames ** 2).mean() ** 0.5))
            if session.stopped:
                break
        session.finish()  # the end of the input (or "stop" was said: then it does nothing)
        if sink is not None:
            sink.finish()
    except KeyboardInterrupt as e:
        if sink is not None:
            sink.abandon()
        session.end("interrupt" if exit_code(e) == 130 else "terminate")  # SIGTERM or SIGHUP
        session.done(None)
        raise
    except BaseException:
        if sink is not None:
            sink.abandon()
        raise
    finally:
        source.close()
        asr.close()
    session.done(output)
    return session
