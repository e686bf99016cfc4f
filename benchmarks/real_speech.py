"""How Haven hears real recorded speech: word error rate of `haven listen`'s model and settings.

espeak-ng's voice (Dutch above all) is far harder for whisper than a person, so the
spoken-sentence numbers of safety_eval.py and responder_eval.py are a pessimistic view
of Dutch through speech. This reads a folder of recordings with their text and prints
what the model heard of each and the word error rate, per file and over all words:

    python benchmarks/real_speech.py DIR --language nl

DIR holds transcripts.tsv (file<TAB>text, a header line allowed) and the recordings it
names. Nothing is written; the recordings are read as `haven listen --input` reads them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.decoding import decode_all  # noqa: E402
from assistant.errors import HavenError  # noqa: E402
from assistant.models import resolve_model  # noqa: E402
from assistant.textnorm import basic_clean, word_error_rate  # noqa: E402
from assistant.transcriber import Transcriber  # noqa: E402


def read_transcripts(folder: Path) -> list[tuple[Path, str]]:
    listing = folder / "transcripts.tsv"
    if not listing.is_file():
        raise SystemExit(f"{listing}: not found; the folder needs transcripts.tsv (file<TAB>text)")
    rows = []
    for n, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) < 2 or parts[0] == "file" or not line.strip():
            continue
        rows.append((folder / parts[0], parts[1].strip()))
    if not rows:
        raise SystemExit(f"{listing}: no file<TAB>text rows")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--language", choices=("en", "nl"), required=True)
    ap.add_argument("--model", default="base")
    args = ap.parse_args(argv)

    rows = read_transcripts(args.folder)
    try:
        transcriber = Transcriber(resolve_model(args.model), args.language)
        transcriber.warm_up()
    except HavenError as e:
        raise SystemExit(str(e)) from None
    errors = words = 0
    rates, seconds = [], []
    for path, text in rows:
        audio = decode_all(path)
        started = time.perf_counter()
        heard = transcriber.transcribe(audio, args.language).text
        seconds.append(time.perf_counter() - started)
        rate = word_error_rate(text, heard)
        n = len(basic_clean(text).split())
        errors, words = errors + rate * n, words + n
        rates.append(rate)
        print(f"{path.name}: WER {rate:5.1%}  said: {text}\n{'':{len(path.name) + 2}}heard:     {heard.strip()}")
    print(f"\n{len(rows)} recordings, {words} words: WER {errors / words:.1%} over all words, "
          f"median per file {statistics.median(rates):.1%}; transcription median {statistics.median(seconds):.2f} s "
          f"({args.model}, {args.language})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
