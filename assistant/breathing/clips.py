"""The sound of a breathing session: soft tones from audio/tones/ with the cue words after
them, and every clip rendered before the first breath.

A cue clip is cut (with a short fade) so that it always ends before the next phase,
so nothing queues behind it and no lateness can build up, however slow the voice.
"""

from __future__ import annotations

import math
import random
import threading
import wave
from pathlib import Path

import numpy as np

from assistant.audio import from_pcm16
from assistant.breathing.guide import Guide
from assistant.breathing.patterns import PHASES, Pattern, load_patterns, load_texts
from assistant.breathing.plan import CLOSE_GAP_S, LEAD_S, Step, cycles_for, plan
from assistant.errors import HavenError
from assistant.events import Cue
from assistant.resources import tones_dir
from assistant.settings import SAMPLE_RATE
from assistant.sink import TimelineSink

INTRO_GAP_S = 1.0  # silence between the end of the intro and the first breath
TAIL_S = 0.5  # silence at the end of a written session
VOICE_DELAY_S = 0.2  # the cue words start this long after the tone
GUARD_S = 0.2  # a cue clip ends at least this long before the next phase
FADE_S = 0.04  # fade-out where a clip is cut
CUE_RATE = 140  # words a minute: slower than conversation
MAX_CUE_RATE = 190  # words too long for a short phase are said faster, up to this, before being cut
SPEECH_RATE = 150  # intro and close
CUE_GAIN = 0.9
CLOSE_GAIN = 0.75  # a quiet close


def load_tones(folder: Path | None = None) -> dict[str, np.ndarray]:
    """The phase-change tones (inhale, hold, exhale) from audio/tones/."""
    folder = folder or tones_dir()
    tones = {}
    for phase in PHASES:
        path = folder / f"{phase}.wav"
        try:
            with wave.open(str(path)) as w:
                if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
                    raise HavenError(f"{path}: not a 16 kHz mono 16-bit WAV; regenerate the tones with: "
                                     "python scripts/make_tones.py")
                tones[phase] = from_pcm16(w.readframes(w.getnframes()))
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


class BreathingSession:
    """One guided session: the plan and every clip, rendered before the first breath.

    pattern: a Pattern or a name; voice: an assistant.voice.Voice (only used here, in
    the constructor), or None for a silent session (--no-speak: the cues are still
    kept, and reported, on time); cycles or minutes as for plan(). intro/close: speak
    them or not (a listening session says its own words before the breathing).
    """

    def __init__(self, pattern: Pattern | str | None, voice, language: str = "en", *,
                 cycles: int | None = None, minutes: float | None = None,
                 prompts_dir: Path | None = None, intro: bool = True, close: bool = True,
                 cue_rate: int = CUE_RATE, speech_rate: int = SPEECH_RATE,
                 rng: random.Random | None = None, tones: dict[str, np.ndarray] | None = None):
        patterns = load_patterns(prompts_dir)
        self.pattern = pattern if isinstance(pattern, Pattern) else patterns.find(pattern)  # None: the default
        self.language = language
        self.texts = load_texts(language, prompts_dir, patterns)
        self.cycles, self.capped = cycles_for(self.pattern, cycles, minutes)
        tones = tones if tones is not None or voice is None else load_tones()
        rng = rng or random.Random()

        speak = voice is not None
        self.intro_text = self.texts.intro_for(self.pattern.name, rng) if intro and speak else None
        self.intro_clip = _render(voice, self.intro_text, language, speech_rate) if self.intro_text else None
        # One clip per distinct cue: the tone of its phase, then the words.
        self._cue_clips: dict[tuple[str, str], np.ndarray] = {}
        for phase in self.pattern.phases if speak else ():
            key = (phase.id, phase.cue)
            if key not in self._cue_clips:
                words = self._words(voice, self.texts.cues[phase.cue], language, cue_rate, phase.seconds)
                self._cue_clips[key] = self._compose(tones[phase.id], words)
        self.close_text = self.texts.close_line(rng) if close and speak else None
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

    def cue_clip(self, step: Step) -> np.ndarray | None:
        """The tone and words for a step, cut to end before the next phase (None when silent)."""
        clip = self._cue_clips.get((step.phase, step.cue))
        return None if clip is None else _fit(clip, step.duration_s)

    def label(self, step: Step) -> str:
        """The cue words, for the screen."""
        return self.texts.cues[step.cue]

    def cues(self, offset_s: float = 0.0) -> list[Cue]:
        """The cue events, at_s on the session timeline (plus offset_s)."""
        return [s.event(offset_s) for s in self.steps]

    def clips(self) -> list[tuple[float, np.ndarray | None, Step | None]]:
        """Every clip with its start on the session timeline; step is None for the intro and close."""
        out: list[tuple[float, np.ndarray | None, Step | None]] = []
        if self.intro_clip is not None:
            out.append((0.0, self.intro_clip, None))
        out += [(s.at_s, self.cue_clip(s), s) for s in self.steps]
        if self.close_clip is not None:
            out.append((self.close_at_s, self.close_clip, None))
        return out

    def render_timeline(self) -> tuple[np.ndarray, list[Cue]]:
        """The whole session as 16 kHz samples, and its cue events (at_s from the start),
        laid out by the same scheduler that plays it live (Guide)."""
        sink = TimelineSink(int(round(self.duration_s * SAMPLE_RATE)))
        cues: list[Cue] = []
        guide = Guide(self, 0)
        guide.tick(guide.end_sample(), sink, cues.append)
        return sink.render(), cues
