"""A long session (30 utterances) through the real command line: every one answered, the voice never hangs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from soak import soak  # noqa: E402

pytestmark = pytest.mark.slow  # the real command line, a subprocess each


def test_thirty_utterances_all_answered(tmp_path):
    r = soak(30, tmp_path)
    assert r["exit"] == 0, r["stderr"]
    assert r["replies"] == 30
    assert r["voice_missing"] == 0
    print(f"RSS reply 20: {r['rss_20']:.0f} MB, reply 30: {r['rss_last']:.0f} MB")
