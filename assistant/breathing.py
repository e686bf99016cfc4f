"""Guided breathing: patterns as data, a schedule, pre-rendered cues, playback on time.

The patterns live in prompts/breathing.toml (language-neutral: phases and seconds),
the words in prompts/LANG/breathing.toml. A session is planned up front as a list of
Steps (phase, at_s, duration_s, cycle) on the session's own timeline, where 0 is the
start of the spoken intro. Every clip is rendered before the first breath: the intro,
one clip per distinct cue (a soft tone from audio/tones/ with the cue words after it),
and the close. Then:

- render_timeline() places the clips at their times in one array (for --output, or
  for a file-mode session that puts them on its own timeline);
- play_live() launches each clip on a SpeakerSink at its time on time.monotonic(),
  whatever happened before: a cue clip is cut so that it always ends before the next
  phase, so nothing queues behind it and no lateness can build up.

    patterns = load_patterns()
    session = BreathingSession(patterns["box"], voice, "en", cycles=2)
    samples, cues = session.render_timeline()                  # file
    session.play_live(sink, emit, should_stop=stop.is_set)      # speakers
"""

from __future__ import annotations

import math
import random
import re
import signal
import sys
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.audio import SAMPLE_RATE, check_writable, write_wav
from assistant.errors import HavenError, PromptsError
from assistant.events import Cue, Event
from assistant.library import LANGUAGES, TomlFile, default_prompts_dir

PHASES = ("inhale", "hold", "exhale")
TONES_DIR = Path(__file__).resolve().parent.parent / "audio" / "tones"

MIN_PHASE_S = 1.0
MAX_PHASE_S = 60.0
MAX_CYCLES = 200
MAX_MINUTES = 60.0

INTRO_GAP_S = 1.0  # silence between the end of the intro and the first breath
LEAD_S = 0.5  # the first breath without an intro
CLOSE_GAP_S = 0.8  # after the last phase, before the close
TAIL_S = 0.5  # silence at the end of a written session
VOICE_DELAY_S = 0.2  # the cue words start this long after the tone
GUARD_S = 0.2  # a cue clip ends at least this long before the next phase
FADE_S = 0.04  # fade-out where a clip is cut
CUE_RATE = 140  # words a minute: slower than conversation
MAX_CUE_RATE = 190  # words too long for a short phase are said faster, up to this, before being cut
SPEECH_RATE = 150  # intro and close
CUE_GAIN = 0.9
CLOSE_GAIN = 0.75  # a quiet close
POLL_S = 0.02  # how often play_live looks at should_stop while it waits


# ---------------------------------------------------------------------------
# Patterns


@dataclass(frozen=True)
class Phase:
    id: str
    """inhale, hold or exhale."""
    seconds: float
    cue: str
    """The key of its words in the language's [cues] (the top-up of the sigh has its own)."""


@dataclass(frozen=True)
class Pattern:
    name: str
    description: str
    phases: tuple[Phase, ...]
    cycles: int
    """Cycles when nobody says how many."""
    max_cycles: int | None = None
    """--minutes gives at most this many; only an explicit cycle count gives more."""
    aliases: tuple[str, ...] = ()

    @property
    def cycle_s(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def cue_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.cue for p in self.phases))


class Patterns(dict):
    """name -> Pattern, in file order, with the default pattern's name in .default."""

    default: str = ""

    def find(self, name: str | None) -> Pattern:
        """A pattern by name or alias (any case); HavenError listing the patterns if unknown."""
        if name is None:
            return self[self.default]
        wanted = name.strip().lower()
        for pattern in self.values():
            if wanted == pattern.name.lower() or wanted in (a.lower() for a in pattern.aliases):
                return pattern
        raise HavenError(f"unknown breathing pattern '{name}'; choose one of: {', '.join(self)}")


def _phase_line(f: TomlFile, header: str, index: int) -> int | None:
    """The line of the index-th inline table in a pattern's phases list."""
    start = f.line_of(header, "phases")
    if start is None:
        return None
    count = -1
    lines = f.text.splitlines()
    for i in range(start - 1, len(lines)):
        count += lines[i].count("{")
        if count >= index:
            return i + 1
    return start


def _key_error(f: TomlFile, message: str, header: str | None, key: str) -> PromptsError:
    """An error pointing at the line `key = ...` (after the table header, if given)."""
    lines = f.text.splitlines()
    start = (f.line_of(header) or 1) - 1 if header else 0
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return PromptsError(f"{f.shown}:{i + 1}: {message}")
    return f.error(message, *((header,) if header else ()))


def _header(f: TomlFile, name: str) -> str:
    quoted = f'["{name}"]'
    return quoted if quoted in f.text else f"[{name}]"


_PATTERN_KEYS = {"description", "phases", "cycles", "max_cycles", "aliases"}


def _load_pattern(f: TomlFile, name: str, table: dict) -> Pattern:
    header = _header(f, name)
    where = f"[{name}]"
    for key in table:
        if key not in _PATTERN_KEYS:
            raise _key_error(f, f"{where} has an unknown key '{key}'; known keys: {', '.join(sorted(_PATTERN_KEYS))}",
                             header, key)
    description = f.string(table, "description", header=name)
    phases_raw = table.get("phases")
    if not isinstance(phases_raw, list) or not phases_raw:
        raise f.error(f"{where} needs a list 'phases' of {{ id = ..., seconds = ... }}", header)
    phases = []
    for i, raw in enumerate(phases_raw):
        line = _phase_line(f, header, i)
        here = f"{f.shown}{f':{line}' if line else ''}: {where} phase {i + 1}"
        if not isinstance(raw, dict):
            raise PromptsError(f"{here} must be a table like {{ id = \"inhale\", seconds = 4 }}")
        unknown = set(raw) - {"id", "seconds", "cue"}
        if unknown:
            raise PromptsError(f"{here} has an unknown key '{sorted(unknown)[0]}'; use id, seconds and cue")
        pid = raw.get("id")
        if pid not in PHASES:
            raise PromptsError(f"{here} has id {pid!r}; use one of: {', '.join(PHASES)}")
        seconds = raw.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not MIN_PHASE_S <= seconds <= MAX_PHASE_S:
            raise PromptsError(f"{here} needs seconds between {MIN_PHASE_S:g} and {MAX_PHASE_S:g}, not {seconds!r}")
        cue = raw.get("cue", pid)
        if not isinstance(cue, str) or not cue.strip():
            raise PromptsError(f"{here}: cue must be a key of [cues] in the language files")
        phases.append(Phase(pid, float(seconds), cue.strip()))
    cycles = table.get("cycles")
    if isinstance(cycles, bool) or not isinstance(cycles, int) or not 1 <= cycles <= MAX_CYCLES:
        raise _key_error(f, f"{where} needs 'cycles', a whole number from 1 to {MAX_CYCLES}", header, "cycles")
    max_cycles = table.get("max_cycles")
    if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(max_cycles, int)
                                   or not cycles <= max_cycles <= MAX_CYCLES):
        raise _key_error(f, f"{where} 'max_cycles' must be a whole number, at least 'cycles' ({cycles})",
                         header, "max_cycles")
    aliases = tuple(f.strings(table, "aliases", header=name, minimum=0)) if "aliases" in table else ()
    return Pattern(name, description, tuple(phases), cycles, max_cycles, aliases)


_patterns_cache: dict[Path, Patterns] = {}


def load_patterns(prompts_dir: Path | None = None) -> Patterns:
    """The patterns in prompts/breathing.toml, checked; PromptsError names the file and line."""
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    key = root.resolve()
    if key in _patterns_cache:
        return _patterns_cache[key]
    f = TomlFile(root / "breathing.toml", root)
    patterns = Patterns()
    for name, value in f.data.items():
        if name == "default":
            continue
        if not isinstance(value, dict):
            raise _key_error(f, f"'{name}' must be a pattern table [{name}]; only 'default' is a plain key", None, name)
        patterns[name] = _load_pattern(f, name, value)
    if not patterns:
        raise f.error("has no patterns; add a table such as [box] with phases and cycles")
    seen: dict[str, str] = {}
    for p in patterns.values():
        for n in (p.name, *p.aliases):
            if n.lower() in seen and seen[n.lower()] != p.name:
                raise f.error(f"the name '{n}' is used by both [{seen[n.lower()]}] and [{p.name}]", f'"{n}"')
            seen[n.lower()] = p.name
    default = f.data.get("default", next(iter(patterns)))
    if default not in patterns:
        raise _key_error(f, f"default = {default!r} is not a pattern; choose one of: {', '.join(patterns)}",
                         None, "default")
    patterns.default = default
    _patterns_cache[key] = patterns
    return patterns


# ---------------------------------------------------------------------------
# The words


@dataclass
class BreathingTexts:
    """What Haven says in one language; every list has at least one line."""

    language: str
    intro: dict[str, list[str]]
    """Per pattern name, or 'generic'."""
    cues: dict[str, str]
    close: list[str]
    check_in: list[str]

    def intro_for(self, pattern: str, rng: random.Random | None = None) -> str | None:
        lines = self.intro.get(pattern) or self.intro.get("generic")
        return (rng or random).choice(lines) if lines else None

    def close_line(self, rng: random.Random | None = None) -> str:
        return (rng or random).choice(self.close)

    def check_in_line(self, rng: random.Random | None = None) -> str:
        """A short question for after a session (the listening session says it)."""
        return (rng or random).choice(self.check_in)


_texts_cache: dict[tuple[str, Path], BreathingTexts] = {}


def load_texts(language: str, prompts_dir: Path | None = None, patterns: Patterns | None = None) -> BreathingTexts:
    """prompts/LANG/breathing.toml, checked against the patterns (every cue has words)."""
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    key = (language, root.resolve())
    if key in _texts_cache:
        return _texts_cache[key]
    if language not in LANGUAGES:
        raise HavenError(f"no breathing prompts for language '{language}'; use {' or '.join(LANGUAGES)}")
    patterns = patterns if patterns is not None else load_patterns(root)
    f = TomlFile(root / language / "breathing.toml", root)
    for k in f.data:
        if k not in ("intro", "cues", "close", "check_in"):
            raise f.error(f"unknown key '{k}'; this file has [intro], [cues], close and check_in", k)
    intro_table = f.table("intro")
    intro = {}
    for name in intro_table:
        if name != "generic" and name not in patterns:
            raise f.error(f"[intro] has a line for '{name}', which is not a pattern; "
                          f"use generic or one of: {', '.join(patterns)}", "[intro]", name)
        intro[name] = f.strings(intro_table, name, header="intro")
    missing = [p for p in patterns if p not in intro]
    if missing and "generic" not in intro:
        raise f.error(f"[intro] has no line for {', '.join(missing)}; add them or a generic line", "[intro]")
    cues_table = f.table("cues")
    needed = list(dict.fromkeys(k for p in patterns.values() for k in p.cue_keys))
    for k in needed:
        if k not in cues_table:
            users = ", ".join(p.name for p in patterns.values() if k in p.cue_keys)
            raise f.error(f"[cues] is missing '{k}' (used by {users})", "[cues]")
    cues = {}
    for k in cues_table:
        if k not in needed:
            raise f.error(f"[cues] has '{k}', which no pattern uses; cues in use: {', '.join(needed)}", "[cues]", k)
        cues[k] = f.string(cues_table, k, header="cues")
    texts = BreathingTexts(
        language=language, intro=intro, cues=cues,
        close=f.strings(f.data, "close"), check_in=f.strings(f.data, "check_in"),
    )
    _texts_cache[key] = texts
    return texts


# ---------------------------------------------------------------------------
# The schedule


@dataclass(frozen=True)
class Step:
    """One phase on the session's timeline."""

    phase: str
    at_s: float
    duration_s: float
    cycle: int
    cue: str = ""
    """The key of its words in [cues]."""

    @property
    def end_s(self) -> float:
        return round(self.at_s + self.duration_s, 3)

    def event(self, offset_s: float = 0.0) -> Cue:
        return Cue(phase=self.phase, at_s=round(self.at_s + offset_s, 3), duration_s=self.duration_s, cycle=self.cycle)


def cycles_for(pattern: Pattern, cycles: int | None = None, minutes: float | None = None) -> tuple[int, bool]:
    """How many cycles, and whether --minutes was held back by the pattern's max_cycles."""
    if cycles is not None and minutes is not None:
        raise HavenError("give --cycles or --minutes, not both")
    if cycles is not None:
        if isinstance(cycles, bool) or int(cycles) != cycles or not 1 <= cycles <= MAX_CYCLES:
            raise HavenError(f"--cycles {cycles} is out of range; use 1 to {MAX_CYCLES}")
        return int(cycles), False
    if minutes is not None:
        if not (minutes > 0 and minutes <= MAX_MINUTES):  # also catches nan
            raise HavenError(f"--minutes {minutes:g} is out of range; use more than 0 and at most {MAX_MINUTES:g}")
        n = max(1, round(minutes * 60 / pattern.cycle_s))
        if pattern.max_cycles is not None and n > pattern.max_cycles:
            return pattern.max_cycles, True
        return min(n, MAX_CYCLES), False
    return pattern.cycles, False


def plan(pattern: Pattern, cycles: int | None = None, minutes: float | None = None,
         offset_s: float = 0.0) -> list[Step]:
    """Every phase of the session in order, starting at offset_s (the end of the intro)."""
    n, _capped = cycles_for(pattern, cycles, minutes)
    steps = []
    t = float(offset_s)
    for cycle in range(1, n + 1):
        for phase in pattern.phases:
            steps.append(Step(phase.id, round(t, 3), phase.seconds, cycle, phase.cue))
            t += phase.seconds
    return steps


# ---------------------------------------------------------------------------
# Sound


def load_tones(folder: Path | None = None) -> dict[str, np.ndarray]:
    """The phase-change tones (inhale, hold, exhale) from audio/tones/."""
    folder = folder or TONES_DIR
    tones = {}
    for phase in PHASES:
        path = folder / f"{phase}.wav"
        try:
            with wave.open(str(path)) as w:
                if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
                    raise HavenError(f"{path}: not a 16 kHz mono 16-bit WAV; regenerate the tones with: "
                                     "python scripts/make_tones.py")
                tones[phase] = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        except FileNotFoundError:
            raise HavenError(f"{path}: the breathing tone is missing; regenerate the tones with: "
                             "python scripts/make_tones.py") from None
        except (wave.Error, EOFError) as e:
            raise HavenError(f"{path}: not a readable WAV ({e}); regenerate the tones with: "
                             "python scripts/make_tones.py") from None
    return tones


def _trim_silence(x: np.ndarray, floor: float = 2e-3, keep_s: float = 0.05) -> np.ndarray:
    """Drop the voice's trailing (and leading) near-silence, so cue words start and end crisply."""
    loud = np.flatnonzero(np.abs(x) > floor)
    if len(loud) == 0:
        return x[:0]
    keep = int(keep_s * SAMPLE_RATE)
    return x[max(0, loud[0] - keep // 5):loud[-1] + keep]


def _fit(clip: np.ndarray, seconds: float) -> np.ndarray:
    """The clip cut (with a short fade) so that it ends GUARD_S before a phase of `seconds`."""
    limit = max(0, int(round((seconds - GUARD_S) * SAMPLE_RATE)))
    if len(clip) <= limit:
        return clip
    out = clip[:limit].copy()
    fade = min(len(out), int(FADE_S * SAMPLE_RATE))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


_render_cache: dict[tuple[str, str, int], np.ndarray] = {}
_render_lock = threading.Lock()


def _render(voice, text: str, language: str, rate: int) -> np.ndarray:
    """Voice.render, once per text in a process (sessions repeat their words)."""
    key = (text, language, int(rate))
    with _render_lock:
        if key not in _render_cache:
            _render_cache[key] = _trim_silence(voice.render(text, language, int(rate)).astype(np.float32))
        return _render_cache[key]


class NullSink:
    """A sink that plays nothing but notes when each clip was launched (benchmarks, tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.launched: list[tuple[float, int]] = []  # (clock time, samples)
        self.cuts = 0

    def play(self, samples: np.ndarray, at=None) -> None:
        self.launched.append((self.clock(), len(samples)))

    def playing(self, at=None) -> bool:
        if not self.launched:
            return False
        t, n = self.launched[-1]
        return self.clock() < t + n / SAMPLE_RATE

    def cut(self, at=None) -> None:
        self.cuts += 1
        if self.launched:
            t, _n = self.launched[-1]
            self.launched[-1] = (t, int((self.clock() - t) * SAMPLE_RATE))

    def wait(self, timeout=None) -> None:
        pass


@dataclass
class LiveResult:
    """What play_live did: whether it ran to the end, and when each cue was launched."""

    completed: bool
    launches: list[tuple[Step, float]] = field(default_factory=list)
    """(step, seconds after its scheduled time at which sink.play was called)."""

    @property
    def lateness_ms(self) -> list[float]:
        return [late * 1000 for _step, late in self.launches]


class BreathingSession:
    """One guided session: the plan and every clip, rendered before the first breath.

    pattern: a Pattern or a name; voice: an assistant.voice.Voice (only used here, in
    the constructor); cycles or minutes as for plan(). intro/close: speak them or not
    (a listening session may say its own words around the breathing).
    """

    def __init__(self, pattern: Pattern | str, voice, language: str = "en", *,
                 cycles: int | None = None, minutes: float | None = None,
                 prompts_dir: Path | None = None, intro: bool = True, close: bool = True,
                 cue_rate: int = CUE_RATE, speech_rate: int = SPEECH_RATE,
                 rng: random.Random | None = None, tones: dict[str, np.ndarray] | None = None):
        patterns = load_patterns(prompts_dir)
        self.pattern = patterns.find(pattern) if isinstance(pattern, str) else pattern
        self.language = language
        self.texts = load_texts(language, prompts_dir, patterns)
        self.cycles, self.capped = cycles_for(self.pattern, cycles, minutes)
        tones = tones if tones is not None else load_tones()
        rng = rng or random.Random()

        self.intro_text = self.texts.intro_for(self.pattern.name, rng) if intro else None
        self.intro_clip = _render(voice, self.intro_text, language, speech_rate) if self.intro_text else None
        # One clip per distinct cue: the tone of its phase, then the words.
        self._cue_clips: dict[tuple[str, str], np.ndarray] = {}
        for phase in self.pattern.phases:
            key = (phase.id, phase.cue)
            if key not in self._cue_clips:
                words = self._words(voice, self.texts.cues[phase.cue], language, cue_rate, phase.seconds)
                self._cue_clips[key] = self._compose(tones[phase.id], words)
        self.close_text = self.texts.close_line(rng) if close else None
        self.close_clip = (CLOSE_GAIN * _render(voice, self.close_text, language, speech_rate)
                           if self.close_text else None)

        if self.intro_clip is not None:
            start = round(len(self.intro_clip) / SAMPLE_RATE + INTRO_GAP_S, 3)
        else:
            start = LEAD_S
        self.steps = plan(self.pattern, self.cycles, offset_s=start)
        self.close_at_s = round(self.steps[-1].end_s + CLOSE_GAP_S, 3) if self.close_clip is not None \
            else self.steps[-1].end_s
        close_len = len(self.close_clip) / SAMPLE_RATE if self.close_clip is not None else 0.0
        self.duration_s = round(self.close_at_s + close_len + TAIL_S, 3)

    @staticmethod
    def _words(voice, text: str, language: str, rate: int, seconds: float) -> np.ndarray:
        """The cue words at `rate`, or said a little faster if they would not fit the phase."""
        room = seconds - GUARD_S - VOICE_DELAY_S
        words = _render(voice, text, language, rate)
        if len(words) / SAMPLE_RATE > room > 0 and rate < MAX_CUE_RATE:
            faster = min(MAX_CUE_RATE, int(math.ceil(rate * len(words) / SAMPLE_RATE / room * 1.05)))
            words = _render(voice, text, language, faster)
        return words

    @staticmethod
    def _compose(tone: np.ndarray, words: np.ndarray) -> np.ndarray:
        at = int(VOICE_DELAY_S * SAMPLE_RATE)
        clip = np.zeros(max(len(tone), at + len(words)), dtype=np.float32)
        clip[:len(tone)] += tone
        clip[at:at + len(words)] += CUE_GAIN * words
        return clip

    def cue_clip(self, step: Step) -> np.ndarray:
        """The tone and words for a step, cut to end before the next phase."""
        return _fit(self._cue_clips[(step.phase, step.cue)], step.duration_s)

    def label(self, step: Step) -> str:
        """The cue words, for the screen."""
        return self.texts.cues[step.cue]

    def cues(self, offset_s: float = 0.0) -> list[Cue]:
        """The cue events, at_s on the session timeline (plus offset_s)."""
        return [s.event(offset_s) for s in self.steps]

    def clips(self) -> list[tuple[float, np.ndarray, Step | None]]:
        """Every clip with its start on the session timeline; step is None for the intro and close."""
        out: list[tuple[float, np.ndarray, Step | None]] = []
        if self.intro_clip is not None:
            out.append((0.0, self.intro_clip, None))
        out += [(s.at_s, self.cue_clip(s), s) for s in self.steps]
        if self.close_clip is not None:
            out.append((self.close_at_s, self.close_clip, None))
        return out

    def render_timeline(self) -> tuple[np.ndarray, list[Cue]]:
        """The whole session as 16 kHz samples, and its cue events (at_s from the start)."""
        out = np.zeros(int(round(self.duration_s * SAMPLE_RATE)), dtype=np.float32)
        for at_s, clip, _step in self.clips():
            i = int(round(at_s * SAMPLE_RATE))
            end = min(len(out), i + len(clip))
            out[i:end] += clip[:end - i]
        return np.clip(out, -1.0, 1.0), self.cues()

    def play_live(self, sink, emit: Callable[[Event], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, animation=None,
                  clock: Callable[[], float] = time.monotonic) -> LiveResult:
        """Play the session on `sink` in real time, each clip launched at its time on clock().

        emit gets each Cue as it is launched; should_stop is polled at least every 20 ms
        and stops the session (the sound is cut) within one phase; animation, if given,
        is told the start time and each step (see BarAnimation).
        """
        emit = emit or (lambda event: None)
        should_stop = should_stop or (lambda: False)
        result = LiveResult(completed=False)
        clips = self.clips()
        t0 = clock()
        if animation is not None:
            animation.start(self, t0)
        try:
            for at_s, clip, step in clips:
                if not _wait_until(t0 + at_s, should_stop, clock):
                    sink.cut()
                    return result
                late = clock() - (t0 + at_s)
                sink.play(clip)
                if step is not None:
                    result.launches.append((step, late))
                    if animation is not None:
                        animation.step(step)
                    emit(step.event())
            if animation is not None:
                animation.step(None)
            while sink.playing():  # the close
                if should_stop():
                    sink.cut()
                    return result
                time.sleep(POLL_S)
            sink.wait(timeout=0)  # let the device play out its buffer
            result.completed = True
            return result
        finally:
            if animation is not None:
                animation.stop()


def _wait_until(target: float, should_stop: Callable[[], bool], clock: Callable[[], float]) -> bool:
    """Sleep until clock() reaches target; False as soon as should_stop() says so."""
    while True:
        remaining = target - clock()
        if remaining <= 0:
            return True
        if should_stop():
            return False
        time.sleep(min(remaining, POLL_S))


# ---------------------------------------------------------------------------
# The terminal animation


class BarAnimation:
    """A bar that fills while breathing in, stays while holding, and empties while breathing out.

    Drawn by rich.live in its own refresh thread from the clock, so drawing never
    delays a cue. Shows the cue words, the bar, the seconds left in the phase and the cycle.
    """

    WIDTH = 32

    def __init__(self, console, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.clock = clock
        self._live = None
        self._session: BreathingSession | None = None
        self._t0 = 0.0
        self._step: Step | None = None
        self._levels: dict[int, tuple[float, float]] = {}

    def start(self, session: BreathingSession, t0: float) -> None:
        from rich.live import Live

        self._session, self._t0 = session, t0
        self._levels = _levels(session.steps)
        self._live = Live(self, console=self.console, refresh_per_second=12, transient=True)
        self._live.start()

    def step(self, step: Step | None) -> None:
        self._step = step

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self) -> str:
        step, session = self._step, self._session
        if step is None or session is None:
            return ""
        elapsed = self.clock() - self._t0 - step.at_s
        frac = min(1.0, max(0.0, elapsed / step.duration_s))
        a, b = self._levels[id(step)]
        level = a + (b - a) * frac
        filled = int(round(level * self.WIDTH))
        left = max(1, math.ceil(step.duration_s - elapsed - 1e-6))
        label = session.label(step)
        return (f"{label:<30.30} {'█' * filled}{'░' * (self.WIDTH - filled)} {left:2d}"
                f"   {step.cycle}/{session.cycles}")

    def __rich__(self):
        from rich.text import Text

        return Text(self.line())


def _levels(steps: list[Step]) -> dict[int, tuple[float, float]]:
    """How full the lungs are at the start and end of each step (0 empty, 1 full).

    A run of inhales (the sigh's top-up) fills the bar in proportion to their time.
    """
    out: dict[int, tuple[float, float]] = {}
    level = 0.0
    for i, step in enumerate(steps):
        if step.phase == "inhale":
            run = step.duration_s
            for nxt in steps[i + 1:]:
                if nxt.phase != "inhale":
                    break
                run += nxt.duration_s
            end = level + (1.0 - level) * step.duration_s / run
        elif step.phase == "exhale":
            end = 0.0
        else:
            end = level
        out[id(step)] = (level, end)
        level = end
    return out


# ---------------------------------------------------------------------------
# The command


def run_breathe(args) -> int:
    """`haven breathe`: to a WAV with --output, else on the speakers."""
    from assistant.ui import JsonView, TextView

    language = getattr(args, "language", None)
    language = language if language in LANGUAGES else "en"  # auto: nothing to detect the language from
    cycles, minutes = getattr(args, "cycles", None), getattr(args, "minutes", None)
    if cycles is not None and minutes is not None:
        raise HavenError("give --cycles or --minutes, not both")
    patterns = load_patterns()
    pattern = patterns.find(getattr(args, "pattern", None))
    n, capped = cycles_for(pattern, cycles, minutes)
    load_texts(language, patterns=patterns)
    tones = load_tones()  # a missing file fails before the slow part
    output = getattr(args, "output", None)
    if output:
        check_writable(output)
    as_json = bool(getattr(args, "json", False))
    view = JsonView() if as_json else TextView()
    if capped:
        sys.stderr.write(f"haven: {pattern.name} is {n} cycles at most; ask for more with --cycles\n")

    from assistant.voice import Voice

    if output:
        voice = Voice(language)
        try:
            session = BreathingSession(pattern, voice, language, cycles=n, tones=tones)
        finally:
            voice.close()
        samples, cues = session.render_timeline()
        write_wav(output, samples)
        for cue in cues:
            view(cue)
        if not as_json:
            view.console.print(f"[dim]{pattern.name}, {_cycles(n)}: {session.duration_s:.0f} s "
                               f"written to {output}[/dim]")
        return 0
    return _breathe_live(getattr(args, "output_device", None), as_json, pattern, n, language, tones, view)


def _breathe_live(output_device, as_json: bool, pattern: Pattern, cycles: int, language: str, tones, view) -> int:
    from assistant.devices import default_device, find_device
    from assistant.sink import SpeakerSink
    from assistant.voice import Voice

    device = find_device(output_device, "output")
    if device is None and default_device("output") is None:
        raise HavenError("no speakers found; use --output FILE to write the session as a WAV")
    sink = SpeakerSink(device)  # opened first: it settles while the clips render
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        voice = Voice(language)
        try:
            session = BreathingSession(pattern, voice, language, cycles=cycles, tones=tones)
        finally:
            voice.close()
        animation = None
        emit = view
        if not as_json and sys.stdout.isatty():
            view.console.print(f"[dim]{pattern.name}: {pattern.description}. {_cycles(cycles)}, about "
                               f"{_minutes(session.duration_s)}. Ctrl-C stops.[/dim]")
            animation = BarAnimation(view.console)
            emit = lambda event: None  # noqa: E731  the bar shows each phase
        try:
            result = session.play_live(sink, emit, stop.is_set, animation)
        except KeyboardInterrupt:
            sink.cut()
            return 130
        return 0 if result.completed else 143
    finally:
        sink.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _cycles(n: int) -> str:
    return f"{n} cycle{'' if n == 1 else 's'}"
