"""Guided breathing: patterns as data, a plan, pre-rendered cues, and one scheduler.

    patterns.py  the patterns and their words (prompts/breathing.toml, prompts/LANG/breathing.toml)
    plan.py      every phase of a session in order, on its own timeline
    clips.py     the sound: tones and cue words, every clip rendered before the first breath
    guide.py     the one scheduler that plays a session on a sample clock, for every path

    patterns = load_patterns()
    session = BreathingSession(patterns["box"], voice, "en", cycles=2)
    samples, cues = session.render_timeline()      # a WAV
    play(Guide(session, 0), SilentSource(), SpeakerSink(clock=...), emit)   # the speakers
"""

from assistant.breathing.clips import (  # noqa: F401
    CUE_RATE, GUARD_S, BreathingSession, load_tones,
)
from assistant.breathing.guide import LOOKAHEAD, Guide, play  # noqa: F401
from assistant.breathing.patterns import (  # noqa: F401
    PHASES, BreathingTexts, Pattern, Patterns, Phase, load_patterns, load_texts,
)
from assistant.breathing.plan import Step, cycles_for, plan  # noqa: F401
