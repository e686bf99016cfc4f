"""The words on the screen (prompts/LANG/interface.toml), the views that use them, and
quiet.py, which keeps native libraries' lines off the screen. No model, no sound card."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap

import pytest
from rich.console import Console

from assistant.errors import PromptsError
from assistant.events import Cue, Done, Listening, ReplyEvent, State, Summary
from assistant.library import INTERFACE, LANGUAGES, interface, load_interface
from assistant.resources import prompts_dir
from assistant.ui import LiveView, TextView
from conftest import ROOT


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_text(language):
    words = load_interface(language)
    for header, keys in INTERFACE.items():
        for key, wanted in keys.items():
            if wanted is not None:
                assert words.texts[f"{header}.{key}"].strip()


def _broken(tmp_path, language, old, new):
    root = tmp_path / "prompts"
    shutil.copytree(prompts_dir(), root)
    path = root / language / "interface.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return root


@pytest.mark.parametrize("old,new,message", [
    ('hint = ', 'hnit = ', "unknown text 'hnit'"),
    ('breath = "{phase}: {seconds} s (breath {cycle})"', 'breath = "{phase}: {secs} s"', "must contain {cycle}, {seconds}"),
    ('title = "Haven"', 'title = 3', "needs a non-empty text 'title'"),
    ('[phases]', '[fases]', "unknown table 'fases'"),
])
def test_a_mistake_names_the_file_and_line(tmp_path, old, new, message):
    root = _broken(tmp_path, "en", old, new)
    with pytest.raises(PromptsError) as e:
        load_interface("en", root)
    assert "prompts/en/interface.toml:" in str(e.value) and message in str(e.value), str(e.value)
    line = int(str(e.value).split("interface.toml:")[1].split(":")[0])
    assert new.split(" ")[0].strip("[]") in (root / "en" / "interface.toml").read_text().splitlines()[line - 1]


def _live(language="en", verbose=False, journal=False) -> tuple[LiveView, Console]:
    console = Console(file=io.StringIO(), width=120, force_terminal=False, record=True)
    return LiveView(console=console, words=interface(language), verbose=verbose, journal=journal), console


def _screen(view: LiveView) -> str:
    view.console.print(view._render())
    return view.console.export_text(clear=True)


def _reply(**kw) -> ReplyEvent:
    return ReplyEvent(transcript="He forgot my birthday.", kind="reflection", theme="unseen", score=131.0,
                      reply="That sounds lonely.", timings_ms={"total": 184}, **kw)


def test_the_panel_shows_plain_words_and_ids_only_when_verbose():
    view, _ = _live()
    assert "getting ready" in _screen(view) and "loading the speech model" in _screen(view)
    view(Listening())
    view(_reply())
    screen = _screen(view)
    assert "I heard" in screen and "He forgot my birthday." in screen and "That sounds lonely." in screen
    for internal in ("reflection", "unseen", "131", "184"):
        assert internal not in screen
    verbose, _ = _live(verbose=True)
    verbose(_reply())
    assert "reflection / unseen (score 131, reply after 184 ms)" in _screen(verbose)


def test_the_state_line_follows_the_state_machine_and_breathing_leaves_no_trace():
    view, _ = _live()
    view(Listening())
    view(State(state="breathing"))
    view(Cue(phase="hold", duration_s=4, cycle=2))
    screen = _screen(view)
    assert "breathing together" in screen and "hold: 4 s (breath 2)" in screen
    view(State(state="speaking"))  # the check-in after breathing
    screen = _screen(view)
    assert "speaking" in screen and "hold: 4 s" not in screen
    view(State(state="listening"))
    view(State(state="paused"))
    screen = _screen(view)
    assert "paused, quiet until you say 'go on'" in screen and "Say 'go on'" in screen
    view(State(state="listening"))
    assert "Talk whenever you like" in _screen(view)
    view(Summary(text="Take care."))
    view(Done())
    screen = _screen(view)
    assert "the session has ended" in screen and "Session ended." in screen


def test_a_dutch_session_shows_dutch():
    view, _ = _live("nl", journal=True)
    view(Listening(language="nl"))
    view(State(state="breathing"))
    view(Cue(phase="inhale", duration_s=4, cycle=1))
    screen = _screen(view)
    assert "samen ademen" in screen and "adem in: 4 s (ademhaling 1)" in screen
    assert "Praat wanneer je wilt" in screen and "privédagboek" in screen
    for english in ("listening", "breathing", "I heard", "journal", "Talk"):
        assert english not in screen, english


def test_the_account_of_a_recording_is_plain_unless_verbose():
    console = Console(file=io.StringIO(), width=200, record=True)
    view = TextView(console=console, words=interface("en"))
    view(_reply())
    text = console.export_text()
    assert "I heard: He forgot my birthday." in text and "Haven: That sounds lonely." in text
    assert "unseen" not in text and "score" not in text
    console = Console(file=io.StringIO(), width=200, record=True)
    TextView(console=console, words=interface("nl"), verbose=True)(_reply())
    text = console.export_text()
    assert "Ik hoorde: He forgot" in text and "reflection / unseen" in text


QUIET = textwrap.dedent("""
    import ctypes, sys
    from assistant.quiet import quiet_screen
    alsa = ctypes.CDLL("libasound.so.2")
    def open_missing():
        alsa.snd_pcm_open(ctypes.byref(ctypes.c_void_p()), b"no_such_pcm", 0, 0)
    if sys.argv[1] == "sound opened":
        from assistant.devices import sounddevice
        sounddevice()
        open_missing()
    elif sys.argv[1] == "quiet":
        with quiet_screen():
            open_missing()
            ctypes.CDLL(None).write(2, b"native noise\\n", 13)
            sys.stderr.write("haven: our own line\\n")
    else:
        open_missing()
""")


@pytest.mark.skipif(not __import__("ctypes.util").util.find_library("asound"), reason="needs alsa-lib")
def test_native_lines_stay_off_the_screen_and_havens_own_still_show():
    def stderr(mode):
        return subprocess.run([sys.executable, "-c", QUIET, mode], cwd=ROOT, capture_output=True, text=True,
                              check=True).stderr

    assert "ALSA lib" in stderr("loud")  # what alsa-lib prints when nothing stops it
    quiet = stderr("quiet")
    assert "ALSA lib" not in quiet and "native noise" not in quiet
    assert "haven: our own line" in quiet
    # Once PortAudio is in use, alsa-lib says nothing even before a screen is drawn.
    assert "ALSA lib" not in stderr("sound opened")
