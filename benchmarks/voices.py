"""The two English voices side by side: end-point to the first sample of the reply, and how
well whisper understands each one.

    python benchmarks/voices.py               # 2 clips per length (3, 6, 12 s), 2 runs
    python benchmarks/voices.py --runs 4 --clips 4

Each clip goes through the real Session in file mode (benchmarks/latency.py's clips
and run_clip: Silero, faster-whisper base incremental, the responder), once with
espeak-ng (the default) and once with the natural voice (Piper's joe, voice_en =
"natural"), interleaved so the machine's noise hits both alike. Printed: medians and
95th percentiles of voice→first audio and of the total (the budget: a median of 150 ms
in English), the time to render a whole reply, and the word error rate of each voice
as whisper hears it. Machines are shared and noisy: read medians, not single numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT.parent), str(ROOT.parent / "tests"), str(ROOT)]

from latency import BUDGET_MS, cpu_name, make_clips, pct, run_clip  # noqa: E402
from speech import word_errors  # noqa: E402

VOICES = {"espeak-ng": None, "natural": "natural"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="passes over all clips (default 2)")
    parser.add_argument("--clips", type=int, default=2, help="clips per length of 3, 6 and 12 s (default 2)")
    args = parser.parse_args(argv)

    from assistant import natural_voice
    from assistant.models import resolve_model
    from assistant.pipeline import Stages
    from assistant.responder import Conversation, Responder
    from assistant.transcriber import Transcriber
    from assistant.voice import Voice

    if not natural_voice.available():
        sys.exit('the natural voice is not installed: .venv/bin/pip install -e ".[natural]"')
    transcriber = Transcriber(resolve_model("base"), "en")
    transcriber.warm_up()
    responder = Responder("en")
    voices = {}
    for name, chosen in VOICES.items():
        started = time.perf_counter()
        voice = Voice("en", voices={"en": chosen} if chosen else None)
        voice.start()
        voice.render("Hello.")
        voices[name] = (voice, (time.perf_counter() - started) * 1000)
    stages = Stages(transcriber, responder, None, 0.0)

    totals = {name: [] for name in VOICES}
    first = {name: [] for name in VOICES}
    whole = {name: [] for name in VOICES}
    replies: list[str] = []
    for run in range(args.runs):
        for clip in make_clips(["en"], args.clips, shift=run):
            for name, (voice, _) in voices.items():
                result = run_clip(dataclasses.replace(stages, voice=voice), clip, True, run)
                for t in result.timings:
                    totals[name].append(t["total"])
                    first[name].append(t["voice_first_audio"])
                    whole[name].append(t["voice"])
            replies.append(responder.respond(clip.text, Conversation(), "en").reply)

    print(f"English, {len(totals['espeak-ng'])} replies per voice; model base; {cpu_name()}; "
          f"{platform.python_version()}")
    print(f"{'':24}{'espeak-ng':>22}{'natural':>22}")
    print(f"{'':24}{'median   p95':>22}{'median   p95':>22}")
    for label, table in (("voice→first audio ms", first), ("TOTAL end-point→audio", totals),
                         ("(whole reply render)", whole)):
        cells = "".join(f"{statistics.median(v):>14.0f}{pct(v, 95):>8.0f}" for v in table.values())
        print(f"{label:24}{cells}")
    print(f"{'voice ready (load) ms':24}" + "".join(f"{ms:>14.0f}{'':>8}" for _, ms in voices.values()))
    print(f"budget: median ≤ {BUDGET_MS['en']} ms end-point→audio")

    # How well whisper understands each voice, on the replies Haven gave.
    for name, (voice, _) in voices.items():
        edits = words = 0
        for text in replies:
            e, n = word_errors(text, transcriber.transcribe(voice.render(text), "en").text)
            edits, words = edits + e, words + n
        print(f"word error rate, {name:9}: {edits / max(words, 1):.1%} over {words} words")
    for voice, _ in voices.values():
        voice.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
