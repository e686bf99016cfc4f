"""Devices by name under PulseAudio (and PipeWire, which speaks the same protocol): on the
virtual sound card, `haven devices` lists the card's microphones and speakers by their
server names, and those names, given as flags or in config.toml, choose where Haven
listens and speaks."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from assistant.audio import read_recording
from conftest import run_haven
from soundcard import SoundCard
from test_live import Haven, first_loud, record, stop_recording, wav

pytestmark = [pytest.mark.skipif(not SoundCard.available(), reason="needs PulseAudio (make test installs it)"),
              pytest.mark.slow, pytest.mark.soundcard]


def test_devices_lists_the_servers_microphones_and_speakers_by_name(card):
    listed = run_haven("devices", env=card.env)
    assert listed.returncode == 0, listed.stderr
    text = listed.stdout
    mics, speakers = text.index("Microphones"), text.index("Speakers")
    assert mics < text.index("vmic_in.monitor") < speakers and text.index("  vspeaker  ", speakers) > speakers
    as_json = json.loads(run_haven("devices", "--json", env=card.env).stdout)
    server = {(d["server"], d["name"]) for d in as_json if d["index"] is None}
    assert {("input", "vmic_in.monitor"), ("input", "vspeaker.monitor"), ("output", "vspeaker"),
            ("output", "vmic_in")} <= server


def test_a_name_that_is_not_there_is_one_line_naming_the_ones_that_are(card):
    result = run_haven("listen", "--input-device", "usb-headset-that-is-not-here", env=card.env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "usb-headset-that-is-not-here" in line and "vmic_in.monitor" in line


def test_named_devices_choose_where_haven_listens_and_speaks(card, tmp_path):
    """The card's defaults are vmic_in.monitor (microphone) and vspeaker (speakers); here
    Haven is told the other way round, the microphone in config.toml and the speakers
    by flag, so it can only hear and be heard if the names took effect."""
    config = tmp_path / "config.toml"
    config.write_text('input_device = "vspeaker.monitor"\n')
    said = wav(tmp_path, "said.wav", ["He forgot my birthday again and didn't even say sorry."], lead=0.3, tail=0.3)
    haven = Haven(card, "--output-device", "vmic_in", env={"HAVEN_CONFIG": str(config)})
    try:
        haven.wait_for("listening")
        out = tmp_path / "reply.wav"
        rec = record(card, out, "vmic_in.monitor")
        card.play_into_mic(said, device="vspeaker").wait()  # into the chosen microphone only
        reply = haven.wait_for("reply")
        time.sleep(reply["reply_end_s"] - reply["reply_start_s"] + 1.0 if reply["reply_end_s"] else 6)
        stop_recording(rec)
    finally:
        haven.interrupt()
    assert "birthday" in reply["transcript"].lower()
    heard = read_recording(out)
    assert first_loud(heard) is not None, "nothing was played on the chosen output"
    assert np.abs(heard).max() > 0.05
