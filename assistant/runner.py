"""What each `haven` command does, wired from the stages. cli.py parses; this runs."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.audio import SAMPLE_RATE, check_writable, read_recording
from assistant.errors import HavenError
from assistant.events import Listening
from assistant.ui import JsonView, TextView


def settings_for(args):
    """The saved settings with this command's flags on top."""
    from assistant.config import load_settings, with_flags

    return with_flags(load_settings(), args)


def _language(args) -> str:
    return settings_for(args).language


def _view(args):
    return JsonView() if getattr(args, "json", False) else TextView()


@dataclass
class Pipeline:
    """The loaded stages: the expensive part of start-up, done once."""

    transcriber: object
    responder: object
    voice: object | None
    startup_ms: float

    @classmethod
    def load(cls, language: str, model: str | None, speak: bool, settings=None) -> "Pipeline":
        from assistant.models import resolve_model
        from assistant.responder import Responder
        from assistant.transcriber import Transcriber
        from assistant.voice import Voice

        started = time.perf_counter()
        voices = {k: v for k, v in (("en", getattr(settings, "voice_en", None)),
                                    ("nl", getattr(settings, "voice_nl", None))) if v}
        voice = Voice(language if language != "auto" else "en", getattr(settings, "rate", None),
                      voices=voices) if speak else None
        if voice is not None:
            voice.start()  # the worker process starts while the model loads
        responder = Responder(language)  # bad prompts fail before the slow model load
        transcriber = Transcriber(resolve_model(model), language)
        transcriber.warm_up()
        if voice is not None:
            voice.render("Hello.")  # also checks the voice exists
            if language in ("nl", "auto"):
                voice.render("Hallo.", "nl")
        return cls(transcriber, responder, voice, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        if self.voice is not None:
            self.voice.close()


def listen_file(path: str, language: str, model: str | None, output: str | None, speak: bool,
                pause: float | None, emit, pipeline: Pipeline | None = None, settings=None, journal: bool = False):
    """The whole loop over one recording; returns the session and the output timeline.

    With journal, every event also goes to a Journal (closed however the loop ends).
    Ctrl-C or SIGTERM (a KeyboardInterrupt) ends it like "stop": the summary, then re-raised.
    """
    from assistant.session import FRAME, Session, SessionSettings
    from assistant.sink import TimelineSink

    audio = read_recording(path)  # bad input fails before the slow part
    if output:
        check_writable(output)
    book = _open_journal(f"recording {Path(path).name}") if journal else None  # a bad data folder fails early
    emit = book.wrap(emit) if book else emit
    own = pipeline is None
    try:
        pipeline = pipeline or Pipeline.load(language, model, speak, settings)
        session_settings = SessionSettings(language=language, speak=speak, **({"pause": pause} if pause else {}),
                                           **({"rate": settings.rate} if settings else {}))
        # With --output the WAV is written as the session goes (flat memory for hours).
        sink = TimelineSink(len(audio), output)
        session = Session(session_settings, pipeline.transcriber, pipeline.responder,
                          pipeline.voice if speak else None, sink, emit)
        emit(Listening(language=language, model=pipeline.transcriber.resolved.name, input=str(path),
                       startup_ms=round(pipeline.startup_ms, 1)))
        try:
            for i in range(0, len(audio), FRAME):
                session.feed(audio[i:i + FRAME])
                sink.advance(session.endpointer.clock)
                if session.stopped:
                    break
            session.finish()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: end cleanly, with the summary
            sink.abandon()
            session.end_by_interrupt()
            session.done(None)
            raise
        except Exception:
            sink.abandon()  # no half-written output left behind
            raise
        sink.close()
        session.done(output)
        return session, sink, audio
    finally:
        if book is not None:
            _close_journal(book)
        if own and pipeline is not None:
            pipeline.close()


def _open_journal(source: str):
    from assistant.journal import Journal

    return Journal.open(source)


def _close_journal(book) -> None:
    book.close()
    if book.path is not None:
        sys.stderr.write(f"Journal kept in {book.path} (readable by you alone; see: haven journal list)\n")


def cmd_journal(args) -> int:
    from assistant.journal import cmd_journal as run

    return run(args)


def cmd_listen(args) -> int:
    if args.pause is not None and not 0.3 <= args.pause <= 10:
        raise HavenError(f"--pause {args.pause} is out of range; use 0.3 to 10 seconds")
    settings = settings_for(args)
    if args.input_device is not None or args.output_device is not None:
        from assistant.devices import find_device

        find_device(args.input_device, "input")
        find_device(args.output_device, "output")
    if args.input is None:
        from assistant.live import listen_live

        return listen_live(args)
    listen_file(args.input, settings.language, settings.model, args.output, not args.no_speak, settings.pause,
                _view(args), settings=settings, journal=getattr(args, "journal", False))
    return 0


def cmd_reflect(args) -> int:
    from assistant.responder import Conversation, Responder

    language = _language(args)
    responder = Responder(language)
    if args.batch:
        lines = (line.strip() for line in sys.stdin)
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
            print(f"[{reply.kind}{' / ' + label if label else ''}] {reply.reply}", flush=True)
    return 0


def demo_recordings() -> list[Path]:
    folder = Path(__file__).resolve().parent.parent / "audio" / "samples"
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise HavenError(f"no sample recordings in {folder}; regenerate them with: python scripts/make_samples.py")
    return files


def cmd_demo(args) -> int:
    """Each bundled recording through the real loop; the conversation is played or written."""
    import numpy as np

    from assistant.audio import write_wav
    from assistant.devices import default_device

    view = _view(args)
    speakers = None if args.output else default_device("output")
    output = args.output or (None if speakers else "haven-demo.wav")
    if output:
        check_writable(output)
    settings = settings_for(args)
    pipeline = Pipeline.load("auto" if args.language is None else args.language, settings.model, True, settings)
    mixes = []
    try:
        for path in demo_recordings():
            language = args.language or path.name.split("_")[0]
            if language not in ("en", "nl"):
                language = "en"
            pipeline.responder.language = language
            _session, sink, audio = listen_file(str(path), language, settings.model, None, True, settings.pause,
                                                view, pipeline, settings)
            # What a listener hears: the person (a little quieter) and Haven, on one timeline.
            replies = sink.render()
            mix = np.zeros(max(len(audio), len(replies)) + SAMPLE_RATE // 2, dtype=np.float32)
            mix[:len(audio)] += 0.7 * audio
            mix[:len(replies)] += replies
            mixes.append(np.clip(mix, -1, 1))
            if speakers:
                from assistant.sink import SpeakerSink

                out = SpeakerSink(args.output_device)
                out.play(mixes[-1])
                out.wait()
                out.close()
    finally:
        pipeline.close()
    if output:
        write_wav(output, np.concatenate(mixes))
        msg = f"No speakers found, so the demo was written to {output}; play it with any audio player." if not args.output \
            else f"The demo was written to {output}."
        (sys.stderr if args.json else sys.stdout).write(msg + "\n")
    return 0


def cmd_devices(args) -> int:
    from assistant.devices import list_devices

    devices = list_devices()
    if args.json:
        print(json.dumps(devices))
        return 0
    if not devices:
        print("No audio devices found. Is a sound server running? (see 'haven doctor')")
    for d in devices:
        kinds = ", ".join(k for k, n in (("in", d["inputs"]), ("out", d["outputs"])) if n)
        print(f"{d['index']:3d}  {d['name']}  ({kinds}, {d['default_rate']:.0f} Hz)")
    return 0


def cmd_doctor(args) -> int:
    from assistant.doctor import run_doctor

    return run_doctor(args)


def cmd_breathe(args) -> int:
    from assistant.breathing import run_breathe

    return run_breathe(args)
