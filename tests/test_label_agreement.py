"""The labellers' agreement (benchmarks/label_agreement.py): the second labels are usable
data, and kappa is Cohen's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import label_agreement  # noqa: E402

from assistant.library import COMMANDS, THEMES  # noqa: E402

KNOWN = {"reflection": set(THEMES), "command": set(COMMANDS), "crisis": {"-"}, "unsafe": {"-"}, "fallback": {"-"}}


def test_kappa_is_cohens():
    assert label_agreement.kappa(list("aabb"), list("aabb")) == 1.0
    # Seen agreement 0.5, chance agreement 0.5 (each labeller says a and b half the time): kappa 0.
    assert label_agreement.kappa(list("abab"), list("aabb")) == pytest.approx(0.0)
    # Seen 0.75, chance 0.5: kappa 0.5.
    assert label_agreement.kappa(list("aaab"), list("aabb")) == pytest.approx(0.5)


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "data" / "labels").glob("*.tsv")), ids=lambda p: p.stem)
def test_every_second_label_is_a_public_id_of_a_row_of_its_set(path):
    kinds, labels = label_agreement.labellings(path)  # stops with file:line on a text not in its set
    assert len(kinds) >= 200
    for labelling in labels:
        for kind_label in labelling:
            kind, label = kind_label.split(":")
            assert label in KNOWN[kind], kind_label
