"""The `haven` command: argument parsing, wiring, and the exit-code contract.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr that says what
to do), 1 anything unexpected, 130/143/129 interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import signal
import sys
import threading

from assistant import __version__
from assistant.commands import breathe, demo, devices, doctor, journal, listen, reflect
from assistant.errors import HavenError, exit_code, forget_stop_signals, on_stop_signal
from assistant.helplines import print_last
from assistant.guards import local_sound_server, no_core_dumps
from assistant.settings import PAUSE_S

# Telemetry and hub access are switched off in assistant/__init__.py, before any
# dependency is imported.

COMMANDS = {
    "listen": listen.run, "demo": demo.run, "reflect": reflect.run, "breathe": breathe.run,
    "devices": devices.run, "doctor": doctor.run, "journal": journal.run,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        wrong = re.search(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:  # a typo in a command's or a value's name: say which one was meant
            name, bad, choices = wrong.group(1), wrong.group(2), re.findall(r"'([^']*)'", wrong.group(3))
            close = difflib.get_close_matches(bad, choices, n=1, cutoff=0.6)
            message = (f"{name} cannot be '{bad}'" if name.startswith("-") else f"there is no {name.lower()} '{bad}'") \
                + (f"; did you mean '{close[0]}'?" if close else f" (choose from {', '.join(choices)})")
        sys.stderr.write(f"haven: {message}{' ' if message.endswith('?') else '; '}see '{self.prog} --help'\n")
        raise SystemExit(2)


# The options, each added only to the commands that use it: an option a command cannot
# use is an error ("unrecognized arguments"), not silently ignored.
def _language(p):
    p.add_argument("--language", choices=("en", "nl", "auto"), default=None,
                   help="language of the speech, the replies and the screen (default: en, or config.toml)")


def _model(p):
    p.add_argument("--model", default=None, help="speech model: base (default), tiny.en, or a model folder")


def _input_device(p):
    p.add_argument("--input-device", default=None,
                   help="microphone, by name or index: a sound server name such as "
                        "alsa_input.usb-headset.mono-fallback works too (see 'haven devices')")


def _output_device(p):
    p.add_argument("--output-device", default=None, help="speakers or headset, by name or index (see 'haven devices')")


def _pause(p):
    p.add_argument("--pause", type=float, default=None, help=f"seconds of silence that end an utterance (default {PAUSE_S:g})")



def _region(p):
    p.add_argument("--region", default=None, metavar="CC",
                   help="whose helplines to give, a country code such as US, GB, IE, CA, AU, NZ, NL, BE "
                        "(default: from the locale)")


def _network_audio(p):
    p.add_argument("--allow-network-audio", action="store_true",
                   help="allow a sound server over the network (PULSE_SERVER=tcp:...); off by default")


def _force(p):
    p.add_argument("--force", action="store_true", help="replace the --output file if it exists")


def _json(p, what: str = "print events as JSON lines, nothing else"):
    p.add_argument("--json", action="store_true", help=what)


def _voice(p):
    p.add_argument("--voice", default=None, metavar="NAME",
                   help="the voice for the session's language: an espeak-ng voice (espeak-ng --voices=en), "
                        "or natural (English; needs the natural extra)")


def _verbose(p):
    p.add_argument("--verbose", action="store_true",
                   help="also show what each utterance was taken for (kind, theme, score, timing)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="haven", description="An offline voice companion for when you are upset about someone you love.",
                     epilog="Start with: haven listen (or haven demo to hear an example).")
    parser.add_argument("--version", action="version", version=f"haven {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("listen", help="listen and answer (microphone, or --input FILE)")
    for add in (_language, _model, _input_device, _output_device, _pause, _voice, _region, _json, _verbose,
                _network_audio):
        add(p)
    p.add_argument("--input", metavar="FILE", help="a recording to listen to instead of the microphone")
    p.add_argument("--output", metavar="FILE", help="with --input: write Haven's voice as a WAV on the recording's timeline")
    _force(p)
    p.add_argument("--no-speak", action="store_true", help="do not voice the replies")
    p.add_argument("--journal", action="store_true",
                   help="keep this session's transcript, themes and replies (readable by you alone; see 'haven journal')")

    p = sub.add_parser("demo", help="the loop over the bundled sample recordings")
    for add in (_language, _model, _output_device, _pause, _voice, _region, _json, _verbose, _network_audio):
        add(p)
    p.add_argument("--output", metavar="FILE", help="write the demo as a WAV instead of playing it")
    _force(p)

    p = sub.add_parser("reflect", help="text in, reply out (type instead of talk)")
    _language(p)
    _region(p)
    _verbose(p)
    _json(p, "one JSON object a line: text, kind, theme, command, reply, score")
    p.add_argument("text", nargs="*", help="what the person said")
    p.add_argument("--batch", action="store_true", help="read one utterance a line from stdin")
    p.add_argument("--conversation", action="store_true",
                   help="with --batch: the lines are one conversation (variants rotate, state carries over)")

    p = sub.add_parser("breathe", help="a guided breathing session")
    for add in (_language, _output_device, _voice, _json, _network_audio):
        add(p)
    p.add_argument("--pattern", default=None, help="box (default), 4-7-8, resonance or sigh")
    p.add_argument("--cycles", type=int, default=None, metavar="N",
                   help="how many breaths (cycles of the pattern); default: the pattern's own number")
    p.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="breathe for about this many minutes instead of a number of cycles")
    p.add_argument("--output", metavar="FILE", help="write the session's audio as a WAV")
    _force(p)

    p = sub.add_parser("devices", help="list audio devices (and the sound server's microphones and speakers)")
    _json(p, "one JSON list of the devices")
    _network_audio(p)
    p = sub.add_parser("doctor", help="check model, voices, devices and config.toml, and say what to fix")
    for add in (_language, _model, _input_device, _output_device, _voice, _region, _json, _network_audio):
        add(p)

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
    args, extra = parser.parse_known_args(argv)
    if extra:  # an option this command cannot use: an error, never silently ignored
        prog = " ".join(["haven", *(x for x in (args.command, getattr(args, "journal_command", None)) if x)])
        sys.stderr.write(f"haven: '{prog}' does not take {' '.join(extra)}; see '{prog} --help'\n")
        return 2
    if args.command is None:
        sys.stderr.write("haven: say what to do; start with: haven listen (or haven demo), see 'haven --help'\n")
        return 2
    # Ctrl-C, SIGTERM and SIGHUP (the terminal closed) end every command alike, set here only:
    # the command cleans up (journal closed, summary said) and exits 130, 143 or 129. A signal
    # ignored before Haven started stays ignored (nohup's SIGHUP, a script's background job).
    in_main = threading.current_thread() is threading.main_thread()
    forget_stop_signals()
    previous = {sig: signal.signal(sig, on_stop_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
                if signal.getsignal(sig) != signal.SIG_IGN} if in_main else {}
    try:
        no_core_dumps()
        local_sound_server(getattr(args, "allow_network_audio", False))
        return COMMANDS[args.command](args)
    except HavenError as e:
        sys.stderr.write(f"haven: {e}\n")
        return 2
    except KeyboardInterrupt as e:
        code = exit_code(e)
        _say({143: "stopped (SIGTERM)", 129: "stopped (SIGHUP: the terminal was closed)"}.get(code, "interrupted"))
        return code
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: one line, and the traceback only on request
        if os.environ.get("HAVEN_DEBUG"):
            raise
        sys.stderr.write(f"haven: unexpected error: {type(e).__name__}: {e} (run with HAVEN_DEBUG=1 for details)\n")
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        forget_stop_signals(keep_watching=argv is None)  # argv None: `haven` itself, which exits next
        try:
            sys.stdout.flush()
            print_last(sys.stderr)  # after a crisis or unsafe reply: the numbers are the last lines
        except (BrokenPipeError, ValueError, OSError):
            pass


def _say(line: str) -> None:
    try:
        sys.stderr.write(f"haven: {line}\n")
    except OSError:  # the terminal is gone (SIGHUP): nobody to tell
        pass

