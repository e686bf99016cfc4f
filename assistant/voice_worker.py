"""The pyttsx3 process: reads one JSON request a line on stdin, answers on stdout.

Answer: one JSON line {"status": ..., "bytes": N, "detail": ...}, then N bytes of WAV.
Run as `python -m assistant.voice_worker`; only assistant.voice talks to it.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


_EMPTY_WAV = 44 + 2 * 2205  # a header and under 0.1 s of sound


def main() -> None:
    import pyttsx3

    out = sys.stdout.buffer
    # The espeak driver prints "Audio saved to ..." on stdout; that must not
    # corrupt the protocol, so the driver's prints go to a sink.
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        engine = pyttsx3.init()
    current = (None, None)
    for line in sys.stdin:
        request = json.loads(line)
        voice, rate = request["voice"], int(request["rate"])
        payload, status, detail = b"", "ok", ""
        try:
            with contextlib.redirect_stdout(sink):
                if current != (voice, rate):
                    # Queued property changes apply with the next render. (A throwaway
                    # render to apply them was tried: it made the next one come out empty.)
                    engine.setProperty("voice", voice)
                    engine.setProperty("rate", rate)
                    current = (voice, rate)
                # After a property change pyttsx3 sometimes renders nothing (its queue
                # races the driver's loop); a second render with nothing changed works.
                for _ in range(3):
                    buf = io.BytesIO()
                    engine.save_to_file(request["text"], buf)
                    engine.runAndWait()
                    if len(buf.getvalue()) > _EMPTY_WAV:
                        break
            sink.seek(0)
            sink.truncate()
            took = engine.getProperty("voice") or ""
            if took.lower() != voice.lower():
                # pyttsx3 ignores an unknown voice silently; say so instead.
                status, detail, current = "novoice", took, (None, None)
            else:
                payload = buf.getvalue()
        except Exception as e:  # report, never die silently
            status, detail = "error", f"{type(e).__name__}: {e}"
        out.write(json.dumps({"status": status, "bytes": len(payload), "detail": detail}).encode() + b"\n")
        out.write(payload)
        out.flush()


if __name__ == "__main__":
    main()
