"""Shared fixtures: real model, real voice, real speech, loaded once per test run; and the
real pipeline run in-process (listen_in_process), so most file-mode behaviour is tested
without starting `haven` in a subprocess. The command line itself keeps one test per
clause of its contract (exit codes, one-line errors, signals, JSON on stdout).

Markers: slow (loads the model or starts `haven`), soundcard (the virtual PulseAudio card).
`pytest -m "not slow"` runs the in-process behaviour and the text engine in under a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# The helplines follow the locale (en_GB -> Samaritans): tests run without a country in
# it, so the language's home region (US, NL) applies unless a test sets one.
for _key in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_key, None)
os.environ["LANG"] = "C.UTF-8"

# Tests that use these fixtures load the real model or voice: marked slow automatically.
SLOW_FIXTURES = {"model", "transcriber", "voice", "stages", "listened", "card", "home"}
SOUNDCARD_FIXTURES = {"card"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & used:
            item.add_marker(pytest.mark.slow)
        if SOUNDCARD_FIXTURES & used:
            item.add_marker(pytest.mark.soundcard)


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """The virtual PulseAudio sound card (tests/soundcard.py), one per test module."""
    from soundcard import SoundCard

    c = SoundCard(tmp_path_factory.mktemp("pulse")).start()
    yield c
    c.stop()


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


@pytest.fixture(scope="session")
def stages(transcriber, voice, responder):
    """The loaded stages of `haven listen`, shared by every in-process run."""
    from assistant.pipeline import Stages

    return Stages(transcriber, responder, voice, 0.0)


def listen_in_process(stages, audio, output=None, speak: bool = True, **settings):
    """`haven listen --input` over in-memory audio, in this process: the same pipeline.run,
    FileSource's frames, TimelineSink and InlineASR. Returns (events as JSON dicts, the
    output timeline as samples)."""
    from assistant.pipeline import run
    from assistant.session import SessionSettings
    from assistant.sink import TimelineSink
    from assistant.source import ArraySource
    from assistant.transcriber import InlineASR

    seen: list = []
    sink = TimelineSink(len(audio), output)
    run(ArraySource(audio), stages, sink, lambda e: seen.append(json.loads(e.to_json())),
        SessionSettings(speak=speak, **settings), InlineASR(stages.transcriber), output)
    return seen, (None if output else sink.render())


def run_haven(*args, input: str | None = None, env: dict | None = None, guard: bool = False,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real command line, as a person would (optionally under the network guard).
    Tests that call it are slow (a fresh process: imports, and often the model)."""
    entry = [str(ROOT / "tests" / "netguard.py")] if guard else ["-m", "assistant"]
    return subprocess.run(
        [sys.executable, *entry, *args], input=input, capture_output=True, text=True,
        timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def haven_here(*args, input: str | None = None) -> subprocess.CompletedProcess:
    """The command line in this process (cli.main): the same parsing, output and exit code
    as run_haven, without starting an interpreter. For what does not need a process of its
    own (signals, a sound server, a network guard, a private HOME do)."""
    import contextlib
    import io

    from assistant.cli import main

    out, err, stdin = io.StringIO(), io.StringIO(), sys.stdin
    try:
        sys.stdin = io.StringIO(input or "")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse
                code = e.code
    finally:
        sys.stdin = stdin
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture
def prompts_copy(tmp_path) -> Path:
    """A copy of prompts/ to break on purpose (the loaders' file-and-line errors)."""
    import shutil

    target = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", target)
    return target


def edit_file(path: Path, old: str, new: str) -> int:
    """Replace the first occurrence; returns the 1-based line where the new text starts."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    index = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:index].count("\n") + 1


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
    from speech import word_errors

    edits, words = word_errors(reference, hypothesis)
    return edits / max(1, words)


@pytest.fixture(scope="session")
def talk(tmp_path_factory):
    """One short spoken sentence as a WAV file: the input of the command-line tests."""
    from assistant.audio import write_wav
    from speech import conversation

    path = tmp_path_factory.mktemp("talk") / "talk.wav"
    write_wav(path, conversation(["I feel like nobody listens to me at home."])[0])
    return path
