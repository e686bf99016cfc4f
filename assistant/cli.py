"""The `haven` command: argument parsing, wiring, and the exit-code contract.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr that says what
to do), 1 anything unexpected, 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from assistant.commands import breathe, demo, devices, doctor, journal, listen, reflect
from assistant.errors import HavenError, on_sigterm
from assistant.settings import PAUSE_S

# Telemetry and hub access are switched off in assistant/__init__.py, before any
# dependency is imported.

COMMANDS = {
    "listen": listen.run, "demo": demo.run, "reflect": reflect.run, "breathe": breathe.run,
    "devices": devices.run, "doctor": doctor.run, "journal": journal.run,
}


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
    p.add_argument("--pause", type=float, default=None, help=f"seconds of silence that end an utterance (default {PAUSE_S:g})")
    p.add_argument("--json", action="store_true", help="print events as JSON lines, nothing else")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="haven", description="An offline voice companion for when you are upset about someone you love.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("listen", help="listen and answer (microphone, or --input FILE)")
    _common(p)
    p.add_argument("--input", metavar="FILE", help="a recording to listen to instead of the microphone")
    p.add_argument("--output", metavar="FILE", help="write Haven's voice as a WAV on the input's timeline")
    p.add_argument("--no-speak", action="store_true", help="do not voice the replies")
    p.add_argument("--verbose", action="store_true",
                   help="also show what each utterance was taken for (kind, theme, score, timing)")
    p.add_argument("--journal", action="store_true",
                   help="keep this session's transcript, themes and replies (readable by you alone; see 'haven journal')")

    p = sub.add_parser("demo", help="the loop over the bundled sample recordings")
    _common(p)
    p.add_argument("--output", metavar="FILE", help="write the demo as a WAV instead of playing it")
    p.add_argument("--verbose", action="store_true",
                   help="also show what each utterance was taken for (kind, theme, score, timing)")

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

    p = sub.add_parser("journal", help="the sessions kept with 'listen --journal': list, show N, forget N, forget --all")
    jsub = p.add_subparsers(dest="journal_command", metavar="ACTION", parser_class=_Parser)
    j = jsub.add_parser("list", help="number, date, utterances and themes of each kept session")
    j.add_argument("--json", action="store_true", help="one JSON object a line")
    j = jsub.add_parser("show", help="print one session's journal")
    j.add_argument("number", type=int, metavar="N", help="the number 'haven journal list' shows")
    j = jsub.add_parser("forget", help="delete one session's journal, or all of them")
    j.add_argument("number", type=int, nargs="?", metavar="N", help="the number 'haven journal list' shows")
    j.add_argument("--all", action="store_true", help="delete every kept session")
    j.add_argument("--yes", action="store_true", help="do not ask first (needed when there is no terminal to ask at)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # SIGTERM ends like Ctrl-C, for every command, set here only: the command cleans up
    # (journal closed, summary said) and exits 143.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main else None
    try:
        return COMMANDS[args.command](args)
    except HavenError as e:
        sys.stderr.write(f"haven: {e}\n")
        return 2
    except KeyboardInterrupt as e:
        code = getattr(e, "exit_code", 130)
        sys.stderr.write(f"haven: {'stopped (SIGTERM)' if code == 143 else 'interrupted'}\n")
        return code
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: one line, and the traceback only on request
        if os.environ.get("HAVEN_DEBUG"):
            raise
        sys.stderr.write(f"haven: unexpected error: {type(e).__name__}: {e} (run with HAVEN_DEBUG=1 for details)\n")
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

