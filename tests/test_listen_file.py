"""`haven listen --input`: the real pipeline over real speech. One run through the real
command line (JSON, --output, exit code); the rest in-process through the same
pipeline.run (conftest.listen_in_process), which is what the command runs."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, read_recording, write_wav
from speech import conversation
from conftest import events, listen_in_process, run_haven, wer

PARTS = [
    ("He was on his phone all through dinner again, and I don't think I matter to him at all.", "en-us"),
    ("When I try to talk about us, he goes quiet and walks out of the room. I can't reach him.", "en-gb"),
]
EXPECTED = [("reflection", "unseen"), ("reflection", "unreachable")]


@pytest.fixture(scope="module")
def two_utterances(tmp_path_factory):
    folder = tmp_path_factory.mktemp("listen")
    audio, spans = conversation(PARTS, gap=9.0)
    path = folder / "two.wav"
    write_wav(path, audio)
    return path, audio, spans


@pytest.fixture(scope="module")
def listened(two_utterances):
    path, audio, spans = two_utterances
    out = path.parent / "replies.wav"
    result = run_haven("listen", "--input", str(path), "--json", "--output", str(out))
    assert result.returncode == 0, result.stderr
    return events(result.stdout), out


def test_two_utterances_give_two_faithful_replies(two_utterances, listened):
    _, _, spans = two_utterances
    evs, _ = listened
    assert evs[0]["event"] == "listening"
    replies = [e for e in evs if e["event"] == "reply"]
    assert len(replies) == 2
    for reply, (text, _), (start, end), (kind, theme) in zip(replies, PARTS, spans, EXPECTED):
        assert wer(text, reply["transcript"]) < 0.2, reply["transcript"]
        assert (reply["kind"], reply["theme"]) == (kind, theme)
        # The utterance sits where it was spoken (pre-roll and VAD smoothing allowed).
        assert abs(reply["start_s"] - start) < 0.5 and abs(reply["end_s"] - end) < 0.5
        for field in ("text", "language", "command", "reply", "score", "timings_ms"):
            assert field in reply
        assert {"transcribe", "respond", "voice", "total"} <= set(reply["timings_ms"])
        # Live, the reply could not start before the end-point decision (end + pause).
        assert reply["reply_start_s"] >= reply["end_s"] + 1.0
        assert reply["reply_start_s"] <= reply["end_s"] + 1.2 + 3.0
    assert evs[-1]["event"] == "done" and evs[-1]["replies"] == 2


def test_reply_wav_holds_the_replies_at_their_place(two_utterances, listened, transcriber):
    _, audio, _ = two_utterances
    evs, out = listened
    spoken = read_recording(out)
    assert len(spoken) >= len(audio)  # sample-aligned with the input, replies may run past its end
    replies = [e for e in evs if e["event"] == "reply"]
    first = int(replies[0]["reply_start_s"] * SAMPLE_RATE)
    assert np.abs(spoken[: first - 800]).max() < 0.01, "sound before the first reply"
    for reply in replies:
        a, b = int(reply["reply_start_s"] * SAMPLE_RATE), int(reply["reply_end_s"] * SAMPLE_RATE)
        # The reply starts right at its place: loud within 100 ms of it, quiet just before.
        assert np.abs(spoken[a: a + 1600]).max() > 0.05
        heard = transcriber.transcribe(spoken[a:b], "en").text
        assert wer(reply["reply"], heard) < 0.3, (reply["reply"], heard)


def test_no_speak_gives_replies_without_voice(two_utterances, stages):
    _, audio, _ = two_utterances
    evs, _ = listen_in_process(stages, audio, speak=False)
    replies = [e for e in evs if e["event"] == "reply"]
    assert len(replies) == 2
    assert all(r["reply_start_s"] is None and r["reply"] for r in replies)


@pytest.mark.slow
def test_readable_account_without_json(two_utterances):
    path, _, _ = two_utterances
    result = run_haven("listen", "--input", str(path), "--no-speak")
    assert result.returncode == 0, result.stderr
    assert "I heard:" in result.stdout and "Haven:" in result.stdout
    assert not result.stdout.lstrip().startswith("{")
    # Plain words for the person: no ids, kinds or scores (those are for --verbose and --json).
    for internal in ("unseen", "reflection", "fallback", "score", "crisis"):
        assert internal not in result.stdout, internal
    verbose = run_haven("listen", "--input", str(path), "--no-speak", "--verbose")
    assert "reflection / unseen" in verbose.stdout and "score" in verbose.stdout


def test_silence_and_noise_give_no_reply(stages):
    rng = np.random.default_rng(1)
    audio = np.concatenate([
        np.zeros(4 * SAMPLE_RATE, np.float32),
        rng.normal(0, 10 ** (-30 / 20), 4 * SAMPLE_RATE).astype(np.float32),  # white noise, -30 dBFS
        np.zeros(2 * SAMPLE_RATE, np.float32),
    ])
    evs, _ = listen_in_process(stages, audio, speak=False)
    assert [e for e in evs if e["event"] == "reply"] == []


def test_other_formats_and_rates(tmp_path, stages):
    """A recording made elsewhere: 44.1 kHz stereo, compressed; decoded by the FileSource."""
    import av

    from assistant.source import FileSource

    audio, spans = conversation([PARTS[0]], lead=1.0)
    stereo = np.stack([audio, audio])
    from assistant.audio import resample

    for ext, codec, rate in (("flac", "flac", 44_100), ("ogg", "libopus", 48_000), ("mp3", "libmp3lame", 44_100)):
        hi = np.stack([resample(ch, SAMPLE_RATE, rate) for ch in stereo])
        path = tmp_path / f"speech.{ext}"
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=rate, layout="stereo")
            fmt = stream.codec_context.format.name if stream.codec_context.format else "s16"
            frame = av.AudioFrame.from_ndarray(
                (hi * 32767).astype(np.int16).T.reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate = rate
            resampler = av.AudioResampler(format=fmt, layout="stereo", rate=rate, frame_size=stream.codec_context.frame_size or None)
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        decoded = FileSource(path).audio
        assert abs(len(decoded) - len(audio)) < 0.1 * SAMPLE_RATE, ext  # 16 kHz mono, the same length
        evs, _ = listen_in_process(stages, decoded, speak=False)
        replies = [e for e in evs if e["event"] == "reply"]
        assert len(replies) == 1, ext
        assert wer(PARTS[0][0], replies[0]["transcript"]) < 0.2, (ext, replies[0]["transcript"])
        assert abs(replies[0]["start_s"] - spans[0][0]) < 0.6, ext


def test_barge_in_on_a_recording_cuts_the_reply_there(stages):
    """Speech during a reply stops it, later sentences included, and the next reply does not wait."""
    audio, _ = conversation([PARTS[0], ("And he never even says sorry to me.", "en-us")], gap=3.0, tail=10)
    evs, spoken = listen_in_process(stages, audio)
    first, second = [e for e in evs if e["event"] == "reply"]
    cut = next(e for e in evs if e["event"] == "interrupted")
    assert first["reply_start_s"] < cut["at_s"] < first["reply_end_s"]
    quiet = spoken[int((cut["at_s"] + 0.05) * SAMPLE_RATE): int((second["reply_start_s"] - 0.05) * SAMPLE_RATE)]
    assert len(quiet) and np.abs(quiet).max() < 0.01, "the cut reply went on"
    assert second["reply_start_s"] <= second["end_s"] + 1.2 + 1.0
