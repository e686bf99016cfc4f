"""The sound server dies mid-session: Haven says so in one line, closes the journal and
exits 2, instead of waiting forever. A real PulseAudio (the virtual card), really killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.audio import write_wav
from conftest import ROOT
from speech import conversation
from soundcard import SoundCard

pytestmark = [pytest.mark.skipif(not SoundCard.available(), reason="needs PulseAudio (make test installs it)"),
              pytest.mark.slow, pytest.mark.soundcard]


@pytest.mark.parametrize("speak", [(), ("--no-speak",)], ids=["speakers", "no-speak"])
def test_sound_server_death_ends_the_session_cleanly(tmp_path, model, speak):
    card = SoundCard(tmp_path / "pulse").start()
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "listen", "--json", "--journal", *speak],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, **card.env, "PYTHONPATH": str(ROOT), "HAVEN_DATA_DIR": str(data)})
    said = tmp_path / "said.wav"
    write_wav(said, conversation(["I feel like nobody listens to me at home."])[0])
    try:
        for line in proc.stdout:
            if '"listening"' in line:
                card.play_into_mic(said).wait()
            if '"reply"' in line:  # one exchange in the journal, then the server goes
                break
        pid = int((Path(card.env["PULSE_RUNTIME_PATH"]) / "pid").read_text())
        os.kill(pid, signal.SIGKILL)  # the sound server dies, as when it crashes
        proc.wait(timeout=60)  # a hang fails here (it used to wait forever)
    finally:
        if proc.poll() is None:
            proc.kill()
        card.stop()
    err = proc.stderr.read()
    # Haven's own lines (PortAudio's C code may print its internals before them).
    lines = [line for line in err.splitlines() if line.startswith(("haven:", "Journal kept"))]
    assert proc.returncode == 2, err
    assert len(lines) == 2 and "no sound" in lines[1] and "Journal kept" in lines[0], err
    [journal] = (data / "journal").glob("*.md")
    assert "Session ended" in journal.read_text()  # closed, with its end line
