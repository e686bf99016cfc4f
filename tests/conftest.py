"""Shared fixtures: real model, real voice, real speech. Loaded once per test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))  # latency.word_errors


@pytest.fixture(scope="session")
def model():
    from assistant.models import resolve_model

    return resolve_model("base")


@pytest.fixture(scope="session")
def transcriber(model):
    from assistant.transcriber import Transcriber

    t = Transcriber(model, "en")
    t.warm_up()
    return t


@pytest.fixture(scope="session")
def voice():
    from assistant.voice import Voice

    v = Voice("en")
    yield v
    v.close()


@pytest.fixture(scope="session")
def responder():
    from assistant.responder import Responder

    return Responder("en")


def run_haven(*args, input: str | None = None, env: dict | None = None, guard: bool = False,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real command line, as a person would (optionally under the network guard)."""
    entry = [str(ROOT / "tests" / "netguard.py")] if guard else ["-m", "assistant"]
    return subprocess.run(
        [sys.executable, *entry, *args], input=input, capture_output=True, text=True,
        timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def assert_one_line_error(result, *words) -> str:
    """Exit 2, one line on stderr that contains the words, no traceback; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after lowercasing and dropping punctuation: the benchmark's count,
    so tests and benchmarks judge transcripts alike."""
    from latency import word_errors

    edits, words = word_errors(reference, hypothesis)
    return edits / max(1, words)
