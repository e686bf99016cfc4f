"""What the person sees: `haven listen` in a real terminal (tmux) on the virtual sound card,
read back with capture-pane at each moment; and the pieces that keep the screen calm.

The screen must always say what is true (the state from the session's state machine),
in plain words (no ids, kinds or scores), in the session's language, with no native
library lines (alsa-lib's "underrun occurred") on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assistant.audio import write_wav
from conftest import ROOT
from soundcard import SoundCard
from speech import VOICES, conversation

INTERNAL = ("reflection", "fallback", "unseen", "crisis", "score", "command /", "ALSA lib")


class Screen:
    """`haven listen` in a detached tmux session of its own (its own server socket)."""

    def __init__(self, card: SoundCard, tmp: Path, *args: str, command: str = "listen", config: str = ""):
        self.socket = f"haven-test-{uuid.uuid4().hex[:8]}"
        (tmp / "config.toml").write_text(config)
        env = {**card.env, "PYTHONPATH": str(ROOT), "HAVEN_DATA_DIR": str(tmp / "data"),
               "HAVEN_CONFIG": str(tmp / "config.toml")}
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        command = f"cd {ROOT} && env {exports} {sys.executable} -m assistant {command} {' '.join(args)}; sleep 60"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "haven", command)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True).stdout

    def text(self) -> str:
        """The visible screen and everything scrolled above it."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "haven")

    def state(self, label: str) -> str:
        """The words on the panel's state line."""
        for line in self.text().splitlines():
            if line.strip("│ ").startswith(label + " "):
                return line.strip("│ ")[len(label):].strip()
        return ""

    def wait_for(self, needle: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never appeared; the screen:\n{self.text()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


pytestmark = [pytest.mark.skipif(not (SoundCard.available() and shutil.which("tmux")),
                                 reason="needs PulseAudio and tmux"),
              pytest.mark.slow, pytest.mark.soundcard]


def _say(card: SoundCard, tmp: Path, name: str, text: str, language: str = "en", voice: str | None = None) -> None:
    audio, _ = conversation([(text, voice or ("en-us" if language == "en" else "nl"))], lead=0.3, tail=0.3)
    path = tmp / name
    write_wav(path, audio)
    card.play_into_mic(path).wait()


def _no_internal_words(screen: str) -> None:
    for word in INTERNAL:
        assert word not in screen, f"{word!r} on the screen:\n{screen}"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_screen_tells_the_truth_in_plain_words(card, tmp_path, language):
    words = {
        "en": dict(loading="getting ready", listening="listening", paused="paused", heard="I heard",
                   state="now", journal="journal of this session", ended="Session ended",
                   talk="He forgot my birthday again and I feel like I don't matter to him.",
                   pause="Wait a moment, please."),
        "nl": dict(loading="even opstarten", listening="luistert", paused="gepauzeerd", heard="Ik hoorde",
                   state="nu", journal="dagboek", ended="Gesprek afgelopen",
                   talk="Hij is mijn verjaardag weer vergeten en ik voel me niet belangrijk.",
                   pause="Een momentje."),  # what whisper hears of espeak-ng nl reliably
    }[language]
    screen = Screen(card, tmp_path, "--language", language, "--journal")
    try:
        # The panel is there from the start, saying that Haven is getting ready.
        first = screen.wait_for(words["loading"], timeout=30)
        assert words["listening"] not in first
        deadline = time.monotonic() + 120
        while screen.state(words["state"]) != words["listening"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert screen.state(words["state"]) == words["listening"]
        assert words["journal"] in screen.text()  # the screen says a journal is being kept

        _say(card, tmp_path, "talk.wav", words["talk"], language)
        # Heard, answered; then back to listening once the voice is done.
        screen.wait_for(f"{words['heard']} ")
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            seen.append(screen.state(words["state"]))
            if seen[-1] == words["listening"] and len(set(seen)) > 1:
                break
            time.sleep(0.1)
        assert seen[-1] == words["listening"], seen

        # Whisper now and then mishears espeak-ng's Dutch: then say it again, in another voice.
        for voice in VOICES[language]:
            _say(card, tmp_path, "pause.wav", words["pause"], language, voice)
            deadline = time.monotonic() + 30
            while not screen.state(words["state"]).startswith(words["paused"]) and time.monotonic() < deadline:
                time.sleep(0.1)
            if screen.state(words["state"]).startswith(words["paused"]):
                break
        # Paused, and it stays so while Haven is silent (not "speaking").
        for _ in range(10):
            assert screen.state(words["state"]).startswith(words["paused"]), screen.text()
            time.sleep(0.3)

        screen.tmux("send-keys", "-t", "haven", "C-c")
        final = screen.wait_for(words["ended"], timeout=30)
        _no_internal_words(final)
        # One panel on the screen: nothing pushed it down and left a stale copy behind.
        assert final.count("╭") == 1, final
        if language == "nl":
            for english in ("listening", "I heard", "Talk whenever"):
                assert english not in final, english
    finally:
        screen.close()


def test_the_breathe_screen_in_the_configured_language(card, tmp_path):
    """`haven breathe` with language = "nl" in config.toml: a Dutch header, the spoken intro
    and closing shown as text, the bar, and no ALSA lines splitting it."""
    from assistant.breathing import load_texts

    texts = load_texts("nl")
    screen = Screen(card, tmp_path, "--pattern", "resonance", "--cycles", "1", command="breathe",
                    config='language = "nl"\n')
    try:
        first = screen.wait_for("Ctrl-C stopt", timeout=60)
        assert "ademhaling, ongeveer" in first and "6 ademhalingen per minuut" in first
        screen.wait_for(texts.intro["resonance"][0][:30], timeout=30)  # the one resonance intro
        bar = screen.wait_for("█", timeout=60)
        assert "adem in" in bar.lower() or "adem uit" in bar.lower()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(c[:15] in screen.text() for c in texts.close):
            time.sleep(0.3)
        final = screen.text()
        assert any(c[:15] in final for c in texts.close), final
        assert "ALSA lib" not in final and "breathe in" not in final
    finally:
        screen.close()
