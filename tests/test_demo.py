"""`haven demo`, the quick start's first command, on the bundled recordings: the real
model, the real voice, the real files."""

from __future__ import annotations

import wave

from conftest import events, run_haven


def test_the_demo_answers_every_recording_and_raises_no_alarm(tmp_path):
    """Nothing in the recordings is a crisis or a danger: an alarm here would be the first
    thing a new user hears (the Dutch one once got the domestic-violence reply, because
    whisper heard "op zijn telefoon" as "op mijn telefoon")."""
    out = tmp_path / "demo.wav"
    result = run_haven("demo", "--json", "--output", str(out))
    assert result.returncode == 0, result.stderr
    seen = events(result.stdout)
    replies = [e for e in seen if e["event"] == "reply"]
    assert len(replies) == 6 and all(r["reply"] for r in replies), [r["transcript"] for r in replies]
    assert [r["kind"] for r in replies if r["kind"] in ("crisis", "unsafe", "check")] == [], \
        [(r["transcript"], r["kind"]) for r in replies]
    assert [e["language"] for e in seen if e["event"] == "listening"] == ["en", "en", "nl"]
    assert any(r["kind"] == "command" and r["command"] == "stop" for r in replies)  # en_2 ends with goodbye
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() > 60  # the three recordings, with Haven's voice mixed in
