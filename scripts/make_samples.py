"""Regenerate the demo recordings in audio/samples/ with espeak-ng.

    python scripts/make_samples.py

Each file is a short stretch of someone venting: utterances with pauses between them,
16 kHz mono WAV. The file name starts with the language (en_, nl_), which `haven demo`
uses. The texts are here, not in prompts/, because they are what a person says, not
what Haven says.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "tests")]

from assistant.audio import write_wav  # noqa: E402
from speech import conversation  # noqa: E402

SAMPLES = {
    "en_1_dinner.wav": [
        ("He was on his phone all through dinner again. I don't think I matter to him at all.", "en-us"),
        ("And when I try to talk about us, he goes quiet and walks out of the room. I can't reach him.", "en-us"),
    ],
    "en_2_again.wav": [
        ("It's the same fight again and again. The more I push, the more she pulls away.", "en-gb"),
        ("Okay. That's enough for today. Goodbye.", "en-gb"),
    ],
    # Not "hij zit de hele avond op zijn telefoon": whisper heard espeak's Dutch as "hij zet ...
    # op mijn telefoon" (as if he had put something on her phone), and Haven gave the
    # domestic-violence reply to the first thing a Dutch user hears.
    "nl_1_avond.wav": [
        ("Vanavond keek hij weer alleen naar de televisie. Het voelt alsof ik er niet toe doe.", "nl"),
        ("Als ik iets zeg, zegt hij niets meer en loopt hij de kamer uit. Ik kan hem gewoon niet bereiken.", "nl"),
    ],
}


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "audio" / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    for name, parts in SAMPLES.items():
        # Long enough pauses for Haven's reply to finish before the person goes on.
        audio, spans = conversation(parts, gap=9.0)
        write_wav(folder / name, audio)
        print(f"{name}: {len(audio) / 16000:.1f} s, utterances at " + ", ".join(f"{a:.1f}-{b:.1f}" for a, b in spans))


if __name__ == "__main__":
    main()
