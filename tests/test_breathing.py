"""Guided breathing: patterns as data, the real voice, real files, a real (virtual) sound card.

Timing is checked from the outside: the onset of every cue is found in the audio by
its energy rising out of the silence before it, and compared with the cue events.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.settings import SAMPLE_RATE
from assistant.errors import HavenError, PromptsError
from conftest import ROOT, events, haven_here, run_haven

PATTERNS = ("box", "4-7-8", "resonance", "sigh")
SEQUENCES = {
    "box": ["inhale", "hold", "exhale", "hold"],
    "4-7-8": ["inhale", "hold", "exhale"],
    "resonance": ["inhale", "exhale"],
    "sigh": ["inhale", "inhale", "exhale"],
}
TOLERANCE_S = 0.050


# --------------------------------------------------------------------------- helpers


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def onsets(x: np.ndarray, rate: int = SAMPLE_RATE, threshold: float = 0.02, silence_s: float = 0.15) -> np.ndarray:
    """Times (s) where the sound rises above threshold after at least silence_s of quiet."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if len(loud) == 0:
        return np.zeros(0)
    gaps = np.diff(loud) > silence_s * rate
    starts = np.concatenate([loud[:1], loud[1:][gaps]])
    return starts / rate


def match(expected: list[float], found: np.ndarray) -> list[float]:
    """For each expected time, found minus expected for the nearest onset."""
    return [float(found[np.argmin(np.abs(found - t))] - t) for t in expected]


def cue_events(stdout: str) -> list[dict]:
    evs = events(stdout)
    assert all(e["event"] == "cue" for e in evs), evs
    return evs


def assert_one_line_error(result, *words) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def copy_prompts(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", root)
    return root


# --------------------------------------------------------------------------- patterns as data


def test_patterns_are_the_issues():
    from assistant.breathing import load_patterns

    patterns = load_patterns()
    assert list(patterns) == list(PATTERNS) and patterns.default == "box"
    seconds = {name: [p.seconds for p in patterns[name].phases] for name in PATTERNS}
    assert seconds["box"] == [4, 4, 4, 4]
    assert seconds["4-7-8"] == [4, 7, 8] and patterns["4-7-8"].cycles == 4 == patterns["4-7-8"].max_cycles
    assert seconds["resonance"] == [5, 5]  # 6 breaths a minute
    sigh = patterns["sigh"].phases
    assert [p.id for p in sigh] == SEQUENCES["sigh"]
    assert sigh[1].seconds < sigh[0].seconds < sigh[2].seconds  # a short top-up, a long breath out
    assert sigh[1].cue != sigh[0].cue  # the top-up has its own words
    for name in PATTERNS:
        assert [p.id for p in patterns[name].phases] == SEQUENCES[name]
        assert patterns[name].description


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_cue_has_words_in_each_language(language):
    from assistant.breathing import load_patterns, load_texts

    patterns = load_patterns()
    texts = load_texts(language, patterns=patterns)
    for p in patterns.values():
        assert texts.intro_for(p.name)
        for key in p.cue_keys:
            assert texts.cues[key].strip()
    assert texts.close and texts.check_in


def test_dutch_words_are_dutch_and_use_je():
    from assistant.breathing import load_texts

    en, nl = load_texts("en"), load_texts("nl")
    for key in en.cues:
        assert en.cues[key].lower() != nl.cues[key].lower()
    assert nl.cues["inhale"].lower().startswith("adem in") and nl.cues["exhale"].lower().startswith("adem uit")
    assert "beetje" in nl.cues["top_up"].lower()
    spoken = " ".join([*nl.cues.values(), *nl.close, *nl.check_in, *sum(nl.intro.values(), [])]).lower()
    assert " je " in f" {spoken} " and " u " not in f" {spoken} " and " uw " not in f" {spoken} "


def test_plan_is_the_pattern_laid_end_to_end():
    from assistant.breathing import load_patterns, plan

    box = load_patterns()["box"]
    steps = plan(box, cycles=2, offset_s=3.5)
    assert [s.phase for s in steps] == SEQUENCES["box"] * 2
    assert [s.at_s for s in steps] == [3.5 + 4 * i for i in range(8)]
    assert [s.cycle for s in steps] == [1] * 4 + [2] * 4
    assert all(s.duration_s == 4 for s in steps)
    assert len(plan(box)) == 4 * box.cycles


def test_cycles_minutes_and_the_478_limit():
    from assistant.breathing import cycles_for, load_patterns

    p = load_patterns()
    assert cycles_for(p["4-7-8"]) == (4, False)  # at most 4 unless asked for more
    assert cycles_for(p["4-7-8"], cycles=6) == (6, False)  # asked for more
    assert cycles_for(p["4-7-8"], minutes=5) == (4, True)
    assert cycles_for(p["resonance"], minutes=5) == (30, False)  # 6 breaths a minute
    assert cycles_for(p["box"], minutes=1) == (4, False)
    with pytest.raises(HavenError, match="not both"):
        cycles_for(p["box"], cycles=2, minutes=1)
    for bad in ({"cycles": 0}, {"cycles": 10_000}, {"minutes": 0}, {"minutes": -1}, {"minutes": float("nan")}):
        with pytest.raises(HavenError, match="out of range"):
            cycles_for(p["box"], **bad)


def test_pattern_found_by_alias_and_case():
    from assistant.breathing import load_patterns

    p = load_patterns()
    assert p.find("478").name == "4-7-8" and p.find("BOX").name == "box" and p.find(None).name == "box"
    with pytest.raises(HavenError) as e:
        p.find("zen")
    assert all(name in str(e.value) for name in PATTERNS)


@pytest.mark.parametrize("edit, words", [
    (('{ id = "hold", seconds = 7 }', '{ id = "pause", seconds = 7 }'), ["'pause'", "inhale, hold, exhale"]),
    (('{ id = "exhale", seconds = 8 }', '{ id = "exhale", seconds = 0.2 }'), ["[4-7-8] phase 3", "seconds"]),
    (("cycles = 6\n", "cycles = 0\n"), ["[resonance]", "cycles"]),
    (('default = "box"', 'default = "square-ish"'), ["square-ish", "box, 4-7-8"]),
    (("max_cycles = 4", "max_cycels = 4"), ["unknown key 'max_cycels'"]),
])
def test_bad_patterns_file_names_file_and_line(tmp_path, edit, words):
    from assistant.breathing import load_patterns

    root = copy_prompts(tmp_path)
    f = root / "breathing.toml"
    text = f.read_text()
    assert edit[0] in text
    text = text.replace(edit[0], edit[1], 1)
    f.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if edit[1].strip() in t)
    with pytest.raises(PromptsError) as e:
        load_patterns(root)
    assert str(e.value).startswith(f"prompts/breathing.toml:{line}: "), (str(e.value), line)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_a_cue_without_words_names_the_language_file(tmp_path):
    from assistant.breathing import load_patterns, load_texts

    root = copy_prompts(tmp_path)
    f = root / "breathing.toml"
    f.write_text(f.read_text().replace('cue = "top_up"', 'cue = "sip"'))
    missing = r"^prompts/en/breathing.toml:\d+: \[cues\] is missing 'sip' \(used by sigh\)"
    with pytest.raises(PromptsError, match=missing):
        load_texts("en", root, load_patterns(root))


def test_bad_language_file_names_file_and_line(tmp_path):
    from assistant.breathing import load_patterns, load_texts

    root = copy_prompts(tmp_path)
    f = root / "nl" / "breathing.toml"
    f.write_text(f.read_text().replace('top_up = "En nog een beetje"\n', ""))
    with pytest.raises(PromptsError, match=r"nl/breathing.toml:\d+: \[cues\] is missing 'top_up' \(used by sigh\)"):
        load_texts("nl", root, load_patterns(root))
    f.write_text(f.read_text().replace("[intro]", "[intro]\nzen = [\"Adem.\"]"))
    with pytest.raises(PromptsError, match=r"nl/breathing.toml:\d+: \[intro\] has a line for 'zen'"):
        load_texts("nl", root, load_patterns(root))


def test_missing_tone_says_how_to_make_it(tmp_path):
    from assistant.breathing import load_tones
    from assistant.resources import tones_dir

    tones = load_tones()
    assert set(tones) == {"inhale", "hold", "exhale"}
    for t in tones.values():
        assert 0.2 <= len(t) / SAMPLE_RATE <= 0.3 and 0.05 < np.abs(t).max() < 0.4  # short and quiet
        assert abs(t[-1]) < 1e-3  # ends softly
    shutil.copy(tones_dir() / "inhale.wav", tmp_path / "inhale.wav")
    with pytest.raises(HavenError, match=r"hold.wav: the breathing tone is missing.*scripts/make_tones.py"):
        load_tones(tmp_path)


# --------------------------------------------------------------------------- the written session


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_written_session_cues_sit_on_their_times(tmp_path, pattern, language):
    out = tmp_path / "breathe.wav"
    cycles = 2 if pattern in ("resonance", "sigh") else 1
    result = haven_here("breathe", "--pattern", pattern, "--cycles", str(cycles), "--language", language,
                       "--output", str(out), "--json")
    assert result.returncode == 0, result.stderr
    cues = cue_events(result.stdout)
    assert [c["phase"] for c in cues] == SEQUENCES[pattern] * cycles
    assert [c["cycle"] for c in cues] == [i for i in range(1, cycles + 1) for _ in SEQUENCES[pattern]]
    for c in cues:
        assert set(c) == {"event", "phase", "at_s", "duration_s", "cycle"}
    for a, b in zip(cues, cues[1:]):  # back to back: each phase starts where the last ended
        assert b["at_s"] == pytest.approx(a["at_s"] + a["duration_s"], abs=1e-3)
    assert cues[0]["at_s"] > 3  # the spoken intro comes first

    audio = read_wav(out)
    found = onsets(audio)
    errors = match([c["at_s"] for c in cues], found)
    assert max(abs(e) for e in errors) <= TOLERANCE_S, errors
    for c in cues:  # each cue rises out of silence, so a listener hears it begin
        i = int(c["at_s"] * SAMPLE_RATE)
        assert np.abs(audio[i - int(0.15 * SAMPLE_RATE):i - int(0.01 * SAMPLE_RATE)]).max() < 0.02
    # Intro before the first cue, the close after the last phase.
    last_end = cues[-1]["at_s"] + cues[-1]["duration_s"]
    assert found[0] < 0.2 and found[-1] > last_end
    assert len(audio) / SAMPLE_RATE > last_end + 1


def test_json_is_cue_lines_only_and_default_pattern(tmp_path):
    out = tmp_path / "b.wav"
    result = haven_here("breathe", "--output", str(out), "--json")
    assert result.returncode == 0, result.stderr
    cues = cue_events(result.stdout)
    assert len(cues) == 4 * 4 and [c["phase"] for c in cues[:4]] == SEQUENCES["box"]
    for line in result.stdout.splitlines():
        json.loads(line)


def test_478_is_four_cycles_unless_asked(tmp_path):
    out = tmp_path / "b.wav"
    default = cue_events(haven_here("breathe", "--pattern", "4-7-8", "--output", str(out), "--json").stdout)
    assert max(c["cycle"] for c in default) == 4
    asked = cue_events(haven_here("breathe", "--pattern", "4-7-8", "--cycles", "6", "--output", str(out),
                                 "--json", "--force").stdout)
    assert max(c["cycle"] for c in asked) == 6
    by_time = haven_here("breathe", "--pattern", "4-7-8", "--minutes", "5", "--output", str(out), "--json",
                         "--force")
    assert by_time.returncode == 0 and max(c["cycle"] for c in cue_events(by_time.stdout)) == 4
    assert "--cycles" in by_time.stderr


def test_minutes_sets_the_length(tmp_path):
    out = tmp_path / "b.wav"
    result = haven_here("breathe", "--pattern", "resonance", "--minutes", "1", "--output", str(out), "--json")
    cues = cue_events(result.stdout)
    assert len(cues) == 12 and cues[-1]["at_s"] + 5 - cues[0]["at_s"] == pytest.approx(60)


def test_text_view_lists_each_phase(tmp_path):
    out = tmp_path / "b.wav"
    result = haven_here("breathe", "--pattern", "resonance", "--cycles", "1", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "breathe in: 5 s" in result.stdout and "breathe out: 5 s" in result.stdout and str(out) in result.stdout
    dutch = haven_here("breathe", "--pattern", "resonance", "--cycles", "1", "--language", "nl", "--output", str(out), "--force")
    assert "adem in: 5 s" in dutch.stdout and "geschreven naar" in dutch.stdout


def test_unknown_pattern_is_exit_2_with_the_list(tmp_path):
    line = assert_one_line_error(haven_here("breathe", "--pattern", "zen", "--output", str(tmp_path / "x.wav")),
                                 "zen")
    for name in PATTERNS:
        assert name in line


def test_cycles_with_minutes_is_bad_usage(tmp_path):
    assert_one_line_error(haven_here("breathe", "--cycles", "2", "--minutes", "1", "--output",
                                    str(tmp_path / "x.wav")), "--cycles", "--minutes")
    assert_one_line_error(haven_here("breathe", "--cycles", "0", "--output", str(tmp_path / "x.wav")), "--cycles")
    assert not (tmp_path / "x.wav").exists() or (tmp_path / "x.wav").stat().st_size == 0


def test_no_speakers_says_use_output(tmp_path):
    result = run_haven("breathe", "--cycles", "1",
                       env={"PULSE_SERVER": f"unix:{tmp_path}/none"})
    if result.returncode == 0:
        pytest.skip("this machine has a real output device")
    assert_one_line_error(result, "--output FILE")


# --------------------------------------------------------------------------- the session API


def test_a_slow_voice_does_not_move_the_cues(voice):
    """However slow the voice, every cue starts on time and ends before the next phase."""
    from assistant.breathing import GUARD_S, BreathingSession

    session = BreathingSession("sigh", voice, "en", cycles=2, cue_rate=45, intro=False)
    samples, cues = session.render_timeline()
    for step in session.steps:
        assert len(session.cue_clip(step)) / SAMPLE_RATE <= step.duration_s - GUARD_S + 1e-3
    errors = match([c.at_s for c in cues], onsets(samples))
    assert max(abs(e) for e in errors) <= 0.01, errors


def test_render_timeline_matches_clips(voice):
    from assistant.breathing import BreathingSession

    s = BreathingSession("resonance", voice, "nl", cycles=1)
    samples, cues = s.render_timeline()
    assert [c.phase for c in cues] == ["inhale", "exhale"] and cues == s.cues()
    assert len(samples) / SAMPLE_RATE == pytest.approx(s.duration_s, abs=1e-3)
    assert s.cues(offset_s=10)[0].at_s == pytest.approx(cues[0].at_s + 10)
    kinds = [step for _at, _clip, step in s.clips()]
    assert kinds[0] is None and kinds[-1] is None and all(k is not None for k in kinds[1:-1])
    assert s.texts.check_in_line() in s.texts.check_in


def _quick_session(voice, cycles=2):
    """A session with 1.5-second phases and no intro, to test the live loop quickly."""
    from assistant.breathing import BreathingSession, Pattern, Phase

    quick = Pattern("quick", "test", (Phase("inhale", 1.5, "inhale"), Phase("exhale", 1.5, "exhale")), cycles)
    return BreathingSession(quick, voice, "en", intro=False, close=False)


def _play(session, source):
    """The breathing session on a silent clock through the one scheduler; what the sink got."""
    from assistant.breathing import Guide, play
    from assistant.sink import NullSink

    sink, emitted = NullSink(), []
    source.open()
    play(Guide(session, 0), source, sink, emitted.append)
    return sink, emitted


def test_cues_are_handed_over_ahead_and_placed_on_their_samples(voice):
    """In real time each clip reaches the sink a little before its time (the lookahead),
    placed on its exact sample: the sink, not the loop's timing, decides when it sounds."""
    from assistant.breathing import LOOKAHEAD
    from assistant.source import SilentSource

    session = _quick_session(voice)
    source = SilentSource(paced=True)
    sink, emitted = _play(session, source)
    assert [e.phase for e in emitted] == ["inhale", "exhale"] * 2
    assert [at for _t, at, _n in sink.launched] == [int(round(s.at_s * SAMPLE_RATE)) for s in session.steps]
    t0 = source.clock.time_of(0)
    early = [s.at_s - (t - t0) for (t, _at, _n), s in zip(sink.launched, session.steps)]
    assert all(0 <= e <= LOOKAHEAD + 0.05 for e in early), early


def test_stopping_the_clock_ends_the_session_at_once(voice):
    from assistant.source import SilentSource

    session = _quick_session(voice, cycles=4)
    source = SilentSource(paced=False)
    emitted: list = []
    real_emit = emitted.append

    def emit(event):
        real_emit(event)
        if len(emitted) == 2:
            source.stop()

    from assistant.breathing import Guide, play
    from assistant.sink import NullSink

    play(Guide(session, 0), source, NullSink(), emit)
    assert len(emitted) == 2


def test_the_wav_and_the_speakers_get_the_same_schedule(voice):
    """--output runs the same scheduler as the speakers, only unpaced."""
    from assistant.source import SilentSource

    session = _quick_session(voice)
    fast, _ = _play(session, SilentSource(session.duration_s, paced=False))
    samples, cues = session.render_timeline()
    assert [at for _t, at, _n in fast.launched] == [int(round(c.at_s * SAMPLE_RATE)) for c in cues]


def test_bar_grows_and_shrinks(voice):
    from rich.console import Console

    from assistant.breathing import BreathingSession
    from assistant.ui import BarAnimation, _levels

    sigh = BreathingSession("sigh", voice, "en", cycles=1, intro=False, close=False)
    levels = [_levels(sigh.steps)[id(s)] for s in sigh.steps]
    assert levels[0][0] == 0 and 0 < levels[0][1] < 1 and levels[1][1] == 1 and levels[2] == (1, 0)

    now = [0.0]
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    bar = BarAnimation(console, clock=lambda: now[0])
    bar.start(sigh, 0.0)
    try:
        first = sigh.steps[0]
        bar.step(first)
        lines = []
        for t in (0.0, first.duration_s / 2, first.duration_s - 0.01):
            now[0] = first.at_s + t
            lines.append(bar.line())
    finally:
        bar.stop()
    fills = [line.count("█") for line in lines]
    assert fills[0] < fills[1] < fills[2]
    assert lines[0].startswith("Breathe in") and " 3 " in lines[0] and "1/1" in lines[0]


def test_dutch_cue_is_heard_as_dutch(voice, transcriber):
    """The Dutch top-up, transcribed by the real model, is Dutch words."""
    from assistant.breathing import BreathingSession

    s = BreathingSession("sigh", voice, "nl", cycles=1, intro=False, close=False)
    top_up = s.cue_clip(s.steps[1])
    text = transcriber.transcribe(top_up, "nl").text.lower()
    assert "beetje" in text or "nog" in text, text


# --------------------------------------------------------------------------- live, on a virtual sound card


@pytest.fixture
def card(tmp_path):
    from soundcard import SoundCard

    if not SoundCard.available():
        pytest.skip("PulseAudio is not installed (scripts/setup.sh --test installs it)")
    c = SoundCard(tmp_path / "pulse").start()
    yield c
    c.stop()


def _haven_live(card, *args) -> subprocess.Popen:
    """haven in its own process, with the card's environment set before sounddevice is imported."""
    import os

    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **card.env},
    )


def _wait_for_data(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 44 + 3200:
            return
        time.sleep(0.02)
    raise AssertionError("the recorder wrote nothing")


@pytest.mark.slow
@pytest.mark.soundcard
def test_live_tones_are_on_schedule(card, tmp_path):
    recording = tmp_path / "speaker.wav"
    recorder = card.record_speaker(recording)
    try:
        _wait_for_data(recording)
        proc = _haven_live(card, "breathe", "--pattern", "box", "--cycles", "1", "--json")
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        time.sleep(0.3)
    finally:
        recorder.terminate()
        recorder.wait(5)
    cues = cue_events(stdout)
    assert [c["phase"] for c in cues] == SEQUENCES["box"]
    audio = read_wav(recording)
    found = onsets(audio)
    assert len(found) > len(cues), found
    # The intro's first sound anchors the recording; the first tone is about at_s after it
    # (a fresh output stream may start the intro a little late, which moves nothing after it).
    first = found[np.argmin(np.abs(found - (found[0] + cues[0]["at_s"])))]
    assert abs(first - found[0] - cues[0]["at_s"]) < 0.5, (found, cues)
    expected = [first + c["at_s"] - cues[0]["at_s"] for c in cues]
    errors = match(expected, found)
    assert max(abs(e) for e in errors) <= TOLERANCE_S, errors
    # Each tone rises out of the silence before it.
    for t in expected:
        i = int(t * SAMPLE_RATE)
        assert np.abs(audio[i - int(0.2 * SAMPLE_RATE):i - int(0.06 * SAMPLE_RATE)]).max() < 0.02


@pytest.mark.slow
@pytest.mark.soundcard
def test_live_session_stops_on_sigterm(card):
    proc = _haven_live(card, "breathe", "--pattern", "resonance", "--cycles", "5", "--json")
    try:
        first = proc.stdout.readline()  # the first cue: the session is under way
        assert first, proc.stderr.read()
        assert json.loads(first)["phase"] == "inhale"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert time.monotonic() - sent < 1.5
        assert proc.returncode == 143, proc.stderr.read()
        assert proc.stdout.read().strip() == ""  # no more cues after the stop
    finally:
        if proc.poll() is None:
            proc.kill()
