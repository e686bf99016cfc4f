"""The `haven` command: argument parsing, wiring, and the exit-code contract.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr that says what
to do), 1 anything unexpected, 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from assistant.errors import HavenError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        sys.stderr.write(f"haven: {message}; see 'haven --help'\n")
        raise SystemExit(2)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--language", choices=("en", "nl", "auto"), default=None,
                   help="language of the speech and the replies (default: en)")
    p.add_argument("--model", default=None, help="speech model: base (default), tiny.en, or a model folder")
    p.add_argument("--input-device", default=None, help="microphone, by name or index (see 'haven devices')")
    p.add_argument("--output-device", default=None, help="speakers, by name or index")
    p.add_argument("--pause", type=float, default=None, help="seconds of silence that end an utterance (default 1.2)")
    p.add_argument("--json", action="store_true", help="print events as JSON lines, nothing else")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="haven", description="An offline voice companion for when you are upset about someone you love.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("listen", help="listen and answer (microphone, or --input FILE)")
    _common(p)
    p.add_argument("--input", metavar="FILE", help="a recording to listen to instead of the microphone")
    p.add_argument("--output", metavar="FILE", help="write Haven's voice as a WAV on the input's timeline")
    p.add_argument("--no-speak", action="store_true", help="do not voice the replies")

    p = sub.add_parser("demo", help="the loop over the bundled sample recordings")
    _common(p)
    p.add_argument("--output", metavar="FILE", help="write the demo as a WAV instead of playing it")

    p = sub.add_parser("reflect", help="text in, reply out")
    _common(p)
    p.add_argument("text", nargs="*", help="what the person said")
    p.add_argument("--batch", action="store_true", help="read one utterance a line from stdin")
    p.add_argument("--conversation", action="store_true",
                   help="with --batch: the lines are one conversation (variants rotate, state carries over)")

    p = sub.add_parser("breathe", help="a guided breathing session")
    _common(p)
    p.add_argument("--pattern", default=None, help="box, 4-7-8, resonance or sigh")
    p.add_argument("--cycles", type=int, default=None)
    p.add_argument("--minutes", type=float, default=None)
    p.add_argument("--output", metavar="FILE", help="write the session's audio as a WAV")

    p = sub.add_parser("devices", help="list audio devices")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("doctor", help="check model, voices and devices, and say what to fix")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    except HavenError as e:
        sys.stderr.write(f"haven: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("haven: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: one line, and the traceback only on request
        if os.environ.get("HAVEN_DEBUG"):
            raise
        sys.stderr.write(f"haven: unexpected error: {type(e).__name__}: {e} (run with HAVEN_DEBUG=1 for details)\n")
        return 1


def _run(args) -> int:
    from assistant import runner

    return getattr(runner, f"cmd_{args.command}")(args)
