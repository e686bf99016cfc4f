"""Recordings as they come: decoded as a stream (memory flat whatever the length), absurd
headers refused, and damage said in one warning line, never dropped in silence.
Real files: espeak-ng speech, written as WAV and as FLAC (PyAV's encoder), damaged here."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, write_wav
from assistant.source import FileSource
from conftest import ROOT, assert_one_line_error, haven_here, listen_in_process
from speech import conversation

TEXTS = ["I feel like nobody listens to me at home.", "He is always on his phone."]


@pytest.fixture(scope="module")
def speech():
    audio, _ = conversation(TEXTS, gap=3.0)
    return audio


def _warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("haven: warning:")]


def _wav(path, channels: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(channels, -1, 1) * 32767).astype("<i2").tobytes())


def _flac(path, audio: np.ndarray) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 4096):
            frame = av.AudioFrame.from_ndarray(pcm[i:i + 4096].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_whole_file_is_streamed_in_frames(tmp_path, speech, capsys):
    path = tmp_path / "talk.wav"
    write_wav(path, speech)
    frames = list(FileSource(path))
    assert np.array_equal(np.concatenate(frames), FileSource(path).audio)
    assert len(np.concatenate(frames)) == len(speech) == len(FileSource(path))
    assert _warnings(capsys) == []


def test_truncated_wav_is_said(tmp_path, speech, capsys):
    path = tmp_path / "cut.wav"
    write_wav(path, speech)
    path.write_bytes(path.read_bytes()[: 44 + 2 * SAMPLE_RATE])  # the header still promises all of it
    heard = FileSource(path).audio
    assert len(heard) == SAMPLE_RATE
    [line] = _warnings(capsys)
    assert "cut short" in line and str(path) in line


def test_damaged_flac_frames_keep_their_time_and_are_said(tmp_path, speech, capsys):
    path = tmp_path / "talk.flac"
    _flac(path, speech)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 30000] = np.random.default_rng(0).integers(0, 256, 30000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    heard = FileSource(path).audio
    assert abs(len(heard) - len(speech)) < 0.05 * SAMPLE_RATE  # the timeline is kept, not shortened
    [line] = _warnings(capsys)
    assert "could not be decoded" in line and str(path) in line


def test_anti_phase_stereo_is_heard_and_said(tmp_path, stages, speech, capsys):
    path = tmp_path / "anti.wav"
    _wav(path, np.stack([speech, -speech], axis=1))
    heard = FileSource(path).audio
    assert np.corrcoef(heard, speech)[0, 1] > 0.99  # the left channel, not the silence of the mix
    [line] = _warnings(capsys)
    assert "anti-phase" in line
    evs, _ = listen_in_process(stages, heard, speak=False)
    assert len([e for e in evs if e["event"] == "reply"]) == len(TEXTS)


def test_ordinary_stereo_is_mixed_without_a_warning(tmp_path, speech, capsys):
    path = tmp_path / "stereo.wav"
    _wav(path, np.stack([speech, 0.5 * speech], axis=1))
    heard = FileSource(path).audio
    assert np.allclose(heard, 0.75 * speech, atol=2e-3)
    assert _warnings(capsys) == []


@pytest.mark.parametrize("rate", [1, 4000, 1_000_000])
def test_absurd_sample_rate_in_the_header_is_refused(tmp_path, speech, rate):
    path = tmp_path / f"rate{rate}.wav"
    write_wav(path, speech[:SAMPLE_RATE])
    data = bytearray(path.read_bytes())
    data[24:32] = struct.pack("<II", rate, rate * 2)
    path.write_bytes(bytes(data))
    assert_one_line_error(haven_here("listen", "--input", path), f"{rate} Hz", "damaged")


def test_pipe_and_symlink_loop_say_what_they_are(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert_one_line_error(haven_here("listen", "--input", fifo), "not a regular file")
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    assert_one_line_error(haven_here("listen", "--input", loop), "symbolic links")


@pytest.mark.slow
def test_memory_stays_flat_for_an_hour_long_recording(tmp_path):
    """An hour of 16 kHz audio is 230 MB as float32; decoding it as a stream must not hold it."""
    path = tmp_path / "hour.wav"
    write_wav(path, np.zeros(0, np.float32))
    seconds = 3600
    with open(path, "r+b") as f:  # a sparse hour of silence with an honest header
        f.seek(4)
        f.write(struct.pack("<I", 36 + seconds * SAMPLE_RATE * 2))
        f.seek(40)
        f.write(struct.pack("<I", seconds * SAMPLE_RATE * 2))
        f.truncate(44 + seconds * SAMPLE_RATE * 2)
    code = (
        "import resource, sys; from assistant.source import FileSource\n"
        "s = FileSource(sys.argv[1]); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "n = sum(len(f) for f in s)\n"
        "print(n, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    samples, before_kb, peak_kb = map(int, out)
    assert samples == seconds * SAMPLE_RATE
    assert peak_kb - before_kb < 50_000, f"decoding grew memory by {(peak_kb - before_kb) / 1000:.0f} MB"


@pytest.mark.slow
def test_stop_inside_a_recording_says_what_was_not_heard(tmp_path):
    path = tmp_path / "stop_mid.wav"
    audio, _ = conversation([TEXTS[0], "Stop.", TEXTS[1], "I keep yelling at him to get a reaction."], gap=3.0)
    write_wav(path, audio)
    result = haven_here("listen", "--input", path, "--no-speak", "--json")
    assert result.returncode == 0, result.stderr
    [note] = [line for line in result.stderr.splitlines() if line.startswith("haven: note:")]
    assert '"stop" was heard' in note and "not listened to" in note


def test_audio_after_streaming_is_the_whole_recording(tmp_path, speech):
    path = tmp_path / "talk.wav"
    write_wav(path, speech)
    source = FileSource(path)
    streamed = np.concatenate(list(source))
    assert np.array_equal(source.audio, streamed) and len(streamed) == len(speech)
