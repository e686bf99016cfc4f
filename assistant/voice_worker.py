"""One pyttsx3 engine with one fixed voice and rate: reads a JSON request a line on stdin.

    python -m assistant.voice_worker VOICE RATE

Answer: one JSON line {"status": ..., "bytes": N, "detail": ...}, then N bytes of WAV.
The voice and rate are set once, at start, and never changed: changing pyttsx3's
properties between renders was measured to be unreliable (now and then a render
kept the old rate, or came out empty), so assistant.voice keeps one worker per
(voice, rate) instead. A BrokenPipe on stdout means Haven went away: exit quietly. Only assistant.voice talks to this process.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

_EMPTY_WAV = 44 + 2 * 2205  # a header and under 0.1 s of sound


def _render(engine, text: str) -> bytes:
    buf = io.BytesIO()
    # After start-up pyttsx3 now and then renders nothing; a second try works.
    for _ in range(3):
        buf = io.BytesIO()
        engine.save_to_file(text, buf)
        engine.runAndWait()
        if len(buf.getvalue()) > _EMPTY_WAV:
            break
    return buf.getvalue()


def _answer(out, status: str, payload: bytes = b"", detail: str = "") -> None:
    out.write(json.dumps({"status": status, "bytes": len(payload), "detail": detail}).encode() + b"\n")
    out.write(payload)
    out.flush()


def main() -> None:
    voice = sys.argv[1]
    out = sys.stdout.buffer
    # The espeak driver prints "Audio saved to ..." on stdout; that must not
    # corrupt the protocol, so the driver's prints go to a sink.
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        import pyttsx3

        engine = pyttsx3.init()
        engine.setProperty("voice", voice)
        _render(engine, "Hello.")  # applies the voice, and warms up
    # pyttsx3 ignores an unknown voice silently; say so instead. (The rate cannot be
    # checked the same way: pyttsx3 binds espeak_GetParameter without its second
    # argument, so reading the rate back returns the default or the current value
    # by chance.)
    took = engine.getProperty("voice") or ""
    ready = took.lower() == voice.lower()
    for line in sys.stdin:
        request = json.loads(line)
        if not ready:
            _answer(out, "novoice", detail=took)
            continue
        try:
            with contextlib.redirect_stdout(sink):
                text = " ".join(request["text"].split())  # no stray control characters
                payload = _render(engine, f"\x01{int(request['rate'])}S {text}")
            sink.seek(0)
            sink.truncate()
            _answer(out, "ok", payload)
        except Exception as e:  # report, never die silently
            _answer(out, "error", detail=f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(0)
