"""Speak sentences with espeak-ng and keep what Haven's speech model hears.

The understanding layer is trained and measured on what whisper actually writes,
not only on clean text: one misheard word ("sleeping bills", "meer even") must not
hide a crisis. This script reads a kind<TAB>label<TAB>text file, speaks each text
with one of three espeak-ng voices (in turn), transcribes it with the same model and
settings as `haven listen` (base, beam 5), and writes

    kind<TAB>label<TAB>heard<TAB>text<TAB>alternatives

to the output file (the fourth column is the sentence that was spoken; the fifth, whisper's
other readings with their gaps, which Haven's safety check also reads: readings.py). It appends
and skips rows already done, so a long run can be stopped and started again.

    python scripts/asr_roundtrip.py training/en/safety.tsv training/en/safety_heard.tsv --language en
    python scripts/asr_roundtrip.py tests/data/holdout3_en.tsv tests/data/heard/holdout3_en.tsv --language en
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "tests"):  # tests/speech.py: espeak speech
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from assistant.readings import format_readings  # noqa: E402
from assistant.models import resolve_model  # noqa: E402
from assistant.transcriber import Transcriber  # noqa: E402
from speech import VOICES, speak  # noqa: E402


def read_rows(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return rows


def done_texts(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line.split("\t")[3] for line in path.read_text(encoding="utf-8").splitlines()
            if line.count("\t") >= 3 and not line.startswith("#")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--language", choices=("en", "nl"), required=True)
    ap.add_argument("--kinds", nargs="+", help="only rows of these kinds")
    ap.add_argument("--limit", type=int, help="at most this many rows (a seeded sample)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    rows = read_rows(args.input)
    if args.kinds:
        rows = [r for r in rows if r[0] in args.kinds]
    if args.limit and len(rows) > args.limit:
        rows = random.Random(args.seed).sample(rows, args.limit)
    have = done_texts(args.output)
    todo = [r for r in rows if r[2] not in have]
    print(f"{len(rows)} rows, {len(rows) - len(todo)} already heard, {len(todo)} to go", flush=True)
    if not todo:
        return 0

    transcriber = Transcriber(resolve_model("base"), args.language)
    transcriber.warm_up()
    voices = VOICES[args.language]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with args.output.open("a", encoding="utf-8") as out:
        for i, (kind, label, text) in enumerate(todo):
            # The voice follows the text, not the position, so a resumed run speaks alike.
            voice = voices[sum(map(ord, text)) % len(voices)]
            got = transcriber.transcribe(speak(text.lstrip("-~ "), voice), args.language)
            heard = " ".join(got.text.split()) or "-"
            others = format_readings(got.alternatives)
            out.write(f"{kind}\t{label}\t{heard}\t{text}\t{others}\n")
            out.flush()
            if (i + 1) % 50 == 0:
                rate = (time.perf_counter() - started) / (i + 1)
                print(f"  {i + 1}/{len(todo)}  {rate:.2f} s a row, {rate * (len(todo) - i - 1) / 60:.0f} min left",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
