"""`haven demo`: each bundled recording through the real loop; the conversation is played or written."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from assistant.audio import write_wav
from assistant.devices import default_device, find_device
from assistant.guards import check_output
from assistant.errors import HavenError
from assistant.pipeline import Stages, run as run_pipeline, session_settings
from assistant.resources import samples_dir
from assistant.settings import SAMPLE_RATE, settings_for
from assistant.sink import SpeakerSink, TimelineSink
from assistant.source import FileSource
from assistant.transcriber import InlineASR
from assistant.ui import view_for


def recordings() -> list[Path]:
    folder = samples_dir()
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise HavenError(f"no sample recordings in {folder}; regenerate them with: python scripts/make_samples.py")
    return files


def run(args) -> int:
    view = view_for(args, language=args.language or settings_for(args).language)
    speakers = None if args.output else default_device("output")
    output = args.output if args.output is not None else (None if speakers else "haven-demo.wav")
    if output is not None:
        # The default haven-demo.wav is Haven's own file: replaced without asking.
        check_output(output, force=args.force or args.output is None)
    settings = settings_for(args)
    stages = Stages.load(settings if args.language else _with_language(settings, "auto"), True)
    mixes = []
    try:
        for path in recordings():
            language = args.language or path.name.split("_")[0]
            source = FileSource(path)
            source.audio  # decoded whole (short samples): it is mixed in below
            sink = TimelineSink(len(source))
            run_pipeline(source, stages, sink, view, session_settings(_with_language(settings, language), True),
                         InlineASR(stages.transcriber))
            # What a listener hears: the person (a little quieter) and Haven, on one timeline.
            replies = sink.render()
            mix = np.zeros(max(len(source), len(replies)) + SAMPLE_RATE // 2, dtype=np.float32)
            mix[:len(source)] += 0.7 * source.audio
            mix[:len(replies)] += replies
            mixes.append(np.clip(mix, -1, 1))
            if speakers:
                out = SpeakerSink(find_device(settings.output_device, "output"))
                out.play(mixes[-1])
                out.finish()
    finally:
        stages.close()
    if output:
        write_wav(output, np.concatenate(mixes))
        msg = f"No speakers found, so the demo was written to {output}; play it with any audio player." \
            if not args.output else f"The demo was written to {output}."
        (sys.stderr if args.json else sys.stdout).write(msg + "\n")
    return 0


def _with_language(settings, language: str):
    from dataclasses import replace

    return replace(settings, language=language if language in ("en", "nl", "auto") else "en")
