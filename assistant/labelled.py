"""Labelled utterances in TSV files: the training data (training/) and the evaluation
sets (tests/data) share one format, kind<TAB>label<TAB>text[<TAB>more], with # comments,
and this one reader (scripts/build_heads.py, benchmarks/*_eval.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator


def read_labelled(path: Path) -> Iterator[list[str]]:
    """Each data line's stripped columns (at least three); a shorter line stops with file:line."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < 3:
            raise SystemExit(f"{path}:{n}: expected kind<TAB>label<TAB>text")
        yield parts
