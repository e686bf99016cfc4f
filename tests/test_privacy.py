"""Privacy (issue 8): no network, nothing on disk unless asked, a journal only the owner can
read, and interrupts that end cleanly. Real commands, real files, real signals.

Each `haven` here runs as a subprocess in a private HOME (XDG data, config, state and
cache folders and TMPDIR under tmp_path) so that every file it leaves behind can be seen.
Only the model cache is shared: cache/haven links to the real one, because joining the
model again per test would be slow.

Two network checks: tests/netguard.py (Python sockets, and attempts that were swallowed,
through HAVEN_NETGUARD_LOG), and, where strace works, every socket() and connect() of
every process, native code included. The second is what found onnxruntime's telemetry
(a DNS query for mobile.events.data.microsoft.com from C++, invisible to the first).
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.audio import SAMPLE_RATE, write_wav
from speech import conversation
from conftest import ROOT, events, wer
from conftest import assert_one_line_error as one_line_error

SAMPLE = ROOT / "audio" / "samples" / "en_1_dinner.wav"
NETGUARD = ROOT / "tests" / "netguard.py"

# Long enough (about 70 s of speech and pauses) that a signal lands mid-run.
LONG_PARTS = [
    "He was on his phone all through dinner again, and I don't think I matter to him at all.",
    "When I try to talk about us, he goes quiet and walks out of the room.",
    "I feel so alone, even when he is lying right next to me.",
    "She always says I'm too sensitive, and maybe she is right.",
    "We have the same fight every week, about the same little things.",
    "I'm scared that one day he will just leave.",
    "My mother never listened to me either, and now it's happening again.",
    "I don't even know what I need from him anymore.",
    "It feels hopeless, like nothing I do will ever change it.",
    "I just want him to see me.",
]


# -- helpers ------------------------------------------------------------------------------


WATCHED = ("home", "data", "config", "state", "cache", "tmp", "cwd")


@pytest.fixture
def home(tmp_path, model):
    """A private HOME: the folders a run could write to, and the environment that points there."""
    from assistant.models import cache_dir

    dirs = {name: tmp_path / name for name in WATCHED}
    for d in dirs.values():
        d.mkdir()
    (dirs["cache"] / "haven").symlink_to(cache_dir().parent, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "XDG_", "ORT_"))}
    env.update({
        "HOME": str(dirs["home"]), "XDG_DATA_HOME": str(dirs["data"]), "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_STATE_HOME": str(dirs["state"]), "XDG_CACHE_HOME": str(dirs["cache"]), "TMPDIR": str(dirs["tmp"]),
        "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
        "HAVEN_NETGUARD_LOG": str(tmp_path / "netguard.log"),
        "HAVEN_TEST_STRACE_LOG": str(tmp_path / "strace.log"),  # read by the test, not by Haven
    })
    return dirs, env


@functools.lru_cache(maxsize=None)
def strace_prefix() -> tuple[str, ...] | None:
    """strace options that work here (ptrace can be forbidden in containers), or None."""
    if not shutil.which("strace"):
        return None
    for opts in (("-f", "-qq", "--seccomp-bpf"), ("-f", "-qq")):
        cmd = ("strace", *opts, "-e", "trace=socket,connect")
        if subprocess.run([*cmd, "-o", os.devnull, "true"], capture_output=True).returncode == 0:
            return cmd
    return None


def haven(*args, env: dict, cwd: Path, guard: bool = True, input: str | None = None, umask: int | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command line; with guard, under the network guard and (where it works) strace."""
    entry = [str(NETGUARD)] if guard else ["-m", "assistant"]
    trace = [*strace_prefix(), "-o", env["HAVEN_TEST_STRACE_LOG"]] if guard and strace_prefix() else []
    return subprocess.run([*trace, sys.executable, *entry, *args], input=input, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def tree(*roots: Path) -> set[str]:
    """Every file, folder and link under the roots (links not followed), relative to their parent."""
    found = set()
    for root in roots:
        for folder, subdirs, files in os.walk(root):
            for name in subdirs + files:
                found.add(os.path.relpath(os.path.join(folder, name), root.parent))
    return found


def sound_system_traces(paths: set[str], dirs: dict) -> set[str]:
    """What libpulse (inside espeak-ng, in the voice worker) makes when no sound server runs:
    an empty runtime folder and a link to it. Allowed only while they hold nothing."""
    found = {p for p in paths if re.fullmatch(r"config/pulse(/[0-9a-f]+-runtime)?|tmp/pulse-[A-Za-z0-9]+", p)}
    base = dirs["config"].parent
    for p in found:
        full = base / p
        if full.is_dir() and not full.is_symlink():
            inside = {os.path.relpath(c, base) for c in full.iterdir()}
            assert inside <= found, f"{p} holds {inside - found}"
    return found


def native_sockets(log: Path) -> list[str]:
    """socket() and connect() calls of any family but AF_UNIX, from strace's log."""
    if not log.exists():
        return []
    calls = [line for line in log.read_text().splitlines() if re.search(r"\b(socket|connect)\(", line)]
    return [c for c in calls if "AF_UNIX" not in c and "AF_LOCAL" not in c]


def no_network(env: dict, result: subprocess.CompletedProcess) -> None:
    log = Path(env["HAVEN_NETGUARD_LOG"])
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network attempts: {attempts}"
    assert "network access attempted" not in result.stderr + result.stdout
    assert native_sockets(Path(env["HAVEN_TEST_STRACE_LOG"])) == []


def journal_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private_text(path: Path) -> str:
    """A journal: 0600 in a 0700 folder, UTF-8 text with no binary data at all."""
    assert mode(path) == 0o600, oct(mode(path))
    assert mode(path.parent) == 0o700, oct(mode(path.parent))
    data = path.read_bytes()
    assert b"RIFF" not in data and b"\x00" not in data
    assert all(b >= 0x20 or b == 0x0A for b in data), "control bytes in the journal"
    assert len(data) < 20_000
    return data.decode("utf-8")


class Running:
    """A `haven listen --json` subprocess whose events arrive on a queue as they are printed."""

    def __init__(self, *args, env: dict, cwd: Path):
        # faulthandler: a hang is ended with SIGABRT, which then prints every thread's stack
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", "listen", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                                     env={**env, "PYTHONFAULTHANDLER": "1"})
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip():
                self.events.put(json.loads(line))

    def wait_for(self, name: str, count: int = 1, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while sum(e["event"] == name for e in self.seen) < count:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"no {name} event in {timeout} s; saw {[e['event'] for e in self.seen]}")
            try:
                self.seen.append(self.events.get(timeout=0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self.events.empty():
                    raise AssertionError(f"haven exited {self.proc.returncode} early: {self.proc.stderr.read()}")

    def finish(self, sig: int, timeout: float = 60) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(30)
            raise AssertionError(f"haven did not end {timeout} s after {signal.Signals(sig).name}; "
                                 f"its threads:\n{self.proc.stderr.read()[-6000:]}") from None
        self._reader.join(10)
        while not self.events.empty():
            self.seen.append(self.events.get())
        stderr = self.proc.stderr.read()
        assert "still stopping" not in stderr, stderr  # the watchdog ended a hang: still a bug
        return code, stderr

    def replies(self) -> list[dict]:
        return [e for e in self.seen if e["event"] == "reply"]


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.wav"
    audio, _ = conversation(LONG_PARTS, gap=3.0)
    write_wav(path, audio)
    return path


# -- 1. proof of offline -------------------------------------------------------------------


def test_listen_with_output_and_journal_opens_no_socket(home):
    dirs, env = home
    env["HAVEN_DATA_DIR"] = str(dirs["data"] / "override")
    out = dirs["cwd"] / "replies.wav"
    result = haven("listen", "--input", str(SAMPLE), "--output", str(out), "--journal", "--json",
                   env=env, cwd=dirs["cwd"])
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    replies = [e for e in events(result.stdout) if e["event"] == "reply"]
    assert len(replies) == 2 and out.stat().st_size > 10_000
    assert len(journal_files(dirs["data"] / "override" / "journal")) == 1


def test_reflect_batch_opens_no_socket(home):
    dirs, env = home
    result = haven("reflect", "--batch", "--json", env=env, cwd=dirs["cwd"],
                   input="He never listens to me.\nI feel so alone.\nHij luistert nooit naar me.\n")
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    assert len(events(result.stdout)) == 3
    assert tree(*(dirs[n] for n in WATCHED)) == {"cache/haven"}


def test_breathe_opens_no_socket(home):
    dirs, env = home
    out = dirs["cwd"] / "breathe.wav"
    result = haven("breathe", "--cycles", "1", "--output", str(out), "--json", env=env, cwd=dirs["cwd"])
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    assert [e for e in events(result.stdout) if e["event"] == "cue"]
    assert out.stat().st_size > 10_000


def test_doctor_opens_no_socket(home):
    """doctor checks model, voices and devices (it may find things to fix here): never a socket."""
    dirs, env = home
    result = haven("doctor", env=env, cwd=dirs["cwd"])
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    no_network(env, result)


def test_journal_commands_open_no_socket(home):
    dirs, env = home
    result = haven("journal", "list", env=env, cwd=dirs["cwd"])
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    assert "empty" in result.stdout


# -- 2. nothing on disk by default ---------------------------------------------------------


def test_the_network_checks_see_what_they_should(home):
    """The checks above are not vacuous: a plain UDP socket, from C or Python, is caught."""
    dirs, env = home
    if strace_prefix() is None:
        pytest.skip("strace cannot trace here; the Python guard still runs")
    code = "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()"
    subprocess.run([*strace_prefix(), "-o", env["HAVEN_TEST_STRACE_LOG"], sys.executable, "-c", code],
                   check=True, env=env, cwd=dirs["cwd"])
    assert native_sockets(Path(env["HAVEN_TEST_STRACE_LOG"]))


def test_without_journal_only_the_output_wav_is_written(home):
    """Also no telemetry traces: onnxruntime's would be cache/Microsoft/... and tmp/.ses."""
    dirs, env = home
    watched = [dirs[n] for n in WATCHED]
    before = tree(*watched)
    result = haven("listen", "--input", str(SAMPLE), "--output", "replies.wav", "--json",
                   env=env, cwd=dirs["cwd"])
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    new = tree(*watched) - before
    assert new - sound_system_traces(new, dirs) == {"cwd/replies.wav"}
    assert "Journal" not in result.stderr


def test_with_journal_one_private_markdown_file_holds_the_session(home):
    """Default location (platformdirs under XDG_DATA_HOME), and umask 0 cannot widen the modes."""
    dirs, env = home
    watched = [dirs[n] for n in WATCHED]
    before = tree(*watched)
    result = haven("listen", "--input", str(SAMPLE), "--output", "replies.wav", "--json", "--journal",
                   env=env, cwd=dirs["cwd"], umask=0)
    assert result.returncode == 0, result.stderr
    no_network(env, result)
    folder = dirs["data"] / "haven" / "journal"
    files = journal_files(folder)
    assert len(files) == 1
    new = tree(*watched) - before
    assert new - sound_system_traces(new, dirs) == {"cwd/replies.wav", "data/haven", "data/haven/journal",
                                                    f"data/haven/journal/{files[0].name}", "data/haven/journal/.last"}
    # .last holds only the last entry's number (so forgetting never renumbers), privately too.
    assert (folder / ".last").read_text() == "1\n" and mode(folder / ".last") == 0o600
    assert mode(folder.parent) == 0o700
    text = assert_private_text(files[0])
    replies = [e for e in events(result.stdout) if e["event"] == "reply"]
    assert len(replies) == 2
    for r in replies:
        assert r["transcript"] in text and r["reply"] in text and f"<!-- haven:theme {r['theme']} -->" in text
    assert "# Haven journal" in text and text.rstrip().endswith("2 answered.*\n<!-- haven:end -->")
    assert str(files[0]) in result.stderr  # the person is told where it is


def test_journal_folder_that_cannot_be_used_is_one_line_before_the_slow_part(home):
    dirs, env = home
    blocker = dirs["tmp"] / "a-file"
    blocker.write_text("not a folder")
    env["HAVEN_DATA_DIR"] = str(blocker / "haven")
    started = time.monotonic()
    result = haven("listen", "--input", str(SAMPLE), "--no-speak", "--journal", env=env, cwd=dirs["cwd"])
    one_line_error(result, "journal", str(blocker / "haven" / "journal"))
    assert time.monotonic() - started < 10


# -- the journal commands -------------------------------------------------------------------


def _journal(folder: Path, started: float, said: list[tuple[str, str | None]], finish: bool = True) -> Path:
    from assistant.events import Done, ReplyEvent, Summary
    from assistant.journal import Journal

    j = Journal(folder, "recording test.wav", started=started)
    for i, (text, theme) in enumerate(said):
        j.record(ReplyEvent(start_s=i * 5.0, end_s=i * 5.0 + 3, transcript=text, text=text,
                            kind="reflection" if theme else "fallback", theme=theme, reply=f"Reply to {text}"))
    if finish:
        j.record(Summary(text="It sounds like a lot.", themes=[t for _, t in said if t]))
        j.record(Done(utterances=len(said), replies=len(said)))
        j.close()
    return j.path


def test_journal_list_show_forget_and_forget_all(home, monkeypatch):
    dirs, env = home
    env["HAVEN_DATA_DIR"] = str(dirs["data"] / "h")
    monkeypatch.setenv("HAVEN_DATA_DIR", env["HAVEN_DATA_DIR"])
    from assistant.journal import ensure_journal_dir, meaning

    folder = ensure_journal_dir()
    day = time.mktime((2025, 3, 1, 20, 0, 0, 0, 0, -1))
    paths = [
        _journal(folder, day, [("He never listens.", "unseen"), ("I feel alone.", "alone")]),
        _journal(folder, day + 3600, [("We fight about the dishes again.", "cycle")]),
        _journal(folder, day + 7200, [("Something else entirely.", None), ("I can't reach her.", "unreachable")],
                 finish=False),
    ]
    run = lambda *a: haven("journal", *a, env=env, cwd=dirs["cwd"])  # noqa: E731

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:3] == ["1", "2025-03-01", "20:00"] and "2 utterances" in lines[0]
    # The themes in plain words (their summaries), not ids.
    assert f"{meaning('unseen', 'en')}; {meaning('alone', 'en')}" in lines[0] and "unseen" not in lines[0]
    assert meaning("cycle", "en") in lines[1] and "1 utterance " in lines[1]
    assert meaning("unreachable", "en") in lines[2] and "ended abruptly" in lines[2]
    as_json = events(run("list", "--json").stdout)
    assert [e["number"] for e in as_json] == [1, 2, 3]
    assert as_json[0]["themes"] == ["unseen", "alone"] and as_json[2]["finished"] is False
    assert as_json[1]["file"] == str(paths[1])

    shown = run("show", "2")
    kept = paths[1].read_text()
    assert shown.returncode == 0 and "<!-- haven:theme cycle -->" in kept and "haven:" not in shown.stdout
    assert shown.stdout == "".join(x for x in kept.splitlines(True) if not x.startswith("<!-- haven:"))
    assert "We fight about the dishes again." in shown.stdout

    one_line_error(run("show", "4"), "no journal entry 4", "1, 2, 3")
    one_line_error(run("show", "0"), "no journal entry 0")
    one_line_error(run("show", "two"), "invalid int")
    one_line_error(run("forget"), "forget N", "--all")
    one_line_error(run("forget", "1", "--all"), "forget N", "--all")

    # Forgetting asks first; with no terminal to ask at, it needs --yes.
    one_line_error(run("forget", "2"), "--yes")
    assert paths[1].exists()
    forgot = run("forget", "2", "--yes")
    assert forgot.returncode == 0 and "Forgot journal entry 2" in forgot.stdout
    assert not paths[1].exists() and paths[0].exists() and paths[2].exists()
    after = run("list").stdout.strip().splitlines()
    # No renumbering: entry 3 is still 3, so a repeated "forget 2" cannot delete another session.
    assert [x.split()[0] for x in after] == ["1", "3"] and meaning("unreachable", "en") in after[1]
    one_line_error(run("forget", "2", "--yes"), "no journal entry 2", "1, 3")
    newer = _journal(folder, day + 9000, [("One more.", "alone")])
    assert [e["number"] for e in events(run("list", "--json").stdout)] == [1, 3, 4]
    newer.unlink()

    all_gone = run("forget", "--all", "--yes")
    assert all_gone.returncode == 0 and "Forgot 2 journal entries" in all_gone.stdout
    assert journal_files(folder) == []
    assert "empty" in run("list").stdout
    one_line_error(run("show", "1"), "journal is empty", "--journal")


def test_a_session_where_nothing_was_said_leaves_no_file(tmp_path):
    from assistant.events import Done, Listening, Summary
    from assistant.journal import Journal

    j = Journal(tmp_path, "the microphone")
    for e in (Listening(), Summary(text="Nothing came up."), Done()):
        j.record(e)
    j.close()
    assert list(tmp_path.iterdir()) == []


def test_what_was_said_cannot_forge_journal_structure(tmp_path, monkeypatch):
    """A transcript is one line of text: newlines cannot make it a heading or a theme line."""
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path))
    from assistant.journal import ensure_journal_dir, entries

    forged = "fine\n## 99 · 00:00\n- **Heard as:** reflection, theme `hopeless`\n\x1b[31m\x00"
    path = _journal(ensure_journal_dir(), time.time(), [(forged, "alone")])
    text = assert_private_text(path)
    assert "\n## 99" not in text
    [entry] = entries()
    assert entry.utterances == 1 and entry.themes == ["alone"]


def test_modes_hold_whatever_the_umask_and_a_loose_folder_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "d"))
    from assistant.journal import ensure_journal_dir

    old = os.umask(0)
    try:
        folder = ensure_journal_dir()
        assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
        os.chmod(folder, 0o755)
        ensure_journal_dir()
        assert mode(folder) == 0o700
        same_second = time.time()
        a = _journal(folder, same_second, [("one", None)])
        b = _journal(folder, same_second, [("two", None)])  # never reuses a file (O_EXCL)
        assert a != b and mode(a) == mode(b) == 0o600
    finally:
        os.umask(old)


# -- crash safety and interrupts -------------------------------------------------------------


def test_killed_mid_session_the_journal_keeps_every_finished_utterance(home, long_wav):
    dirs, env = home
    env["HAVEN_DATA_DIR"] = str(dirs["data"] / "h")
    run = Running("--input", str(long_wav), "--no-speak", "--journal", env=env, cwd=dirs["cwd"])
    run.wait_for("reply", count=2)
    code, _ = run.finish(signal.SIGKILL)
    assert code == -signal.SIGKILL
    [path] = journal_files(dirs["data"] / "h" / "journal")
    text = assert_private_text(path)
    replies = run.replies()
    assert 2 <= len(replies) < len(LONG_PARTS)
    for r in replies:  # everything Haven said out loud is on disk
        assert r["transcript"] in text and r["reply"] in text
    assert "*Session ended" not in text
    listed = haven("journal", "list", env=env, cwd=dirs["cwd"], guard=False).stdout
    assert "ended abruptly" in listed


SAID_ON = {signal.SIGINT: "haven: interrupted", signal.SIGTERM: "haven: stopped (SIGTERM)",
           signal.SIGHUP: "haven: stopped (SIGHUP: the terminal was closed)"}


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_interrupt_ends_cleanly_with_summary_and_closed_journal(home, long_wav, sig, code):
    dirs, env = home
    env["HAVEN_DATA_DIR"] = str(dirs["data"] / "h")
    run = Running("--input", str(long_wav), "--no-speak", "--journal", env=env, cwd=dirs["cwd"])
    run.wait_for("reply")
    got, stderr = run.finish(sig)
    # Once (CI, stop 23) this exited 0 as if no signal came: the events say whether the run
    # had already ended when it was sent, or went on past it.
    assert got == code, (stderr, len(run.replies()), [e["event"] for e in run.seen][-4:])
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == SAID_ON[sig]
    names = [e["event"] for e in run.seen]
    assert "summary" in names and names[-1] == "done", names
    assert len(run.replies()) < len(LONG_PARTS), "the signal should land mid-run"
    [path] = journal_files(dirs["data"] / "h" / "journal")
    text = assert_private_text(path)
    for r in run.replies():
        assert r["transcript"] in text
    summary = next(e for e in run.seen if e["event"] == "summary")
    assert "## Summary" in text and summary["text"] in text
    assert text.rstrip().split("\n")[-2].startswith("*Session ended") and text.rstrip().endswith("<!-- haven:end -->")  # closed properly


def test_recording_that_ends_mid_word_is_heard_and_kept(home, tmp_path):
    """Cut inside a word, on an odd byte, header still claiming the full length: no error."""
    dirs, env = home
    env["HAVEN_DATA_DIR"] = str(dirs["data"] / "h")
    parts = ["I feel like nobody listens to me at home.", "And then he said something about my mother."]
    audio, spans = conversation(parts, gap=3.0)
    full = tmp_path / "full.wav"
    write_wav(full, audio)
    cut_s = spans[1][0] + 0.45 * (spans[1][1] - spans[1][0])
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:44 + 2 * int(cut_s * SAMPLE_RATE) + 1])
    result = haven("listen", "--input", str(cut), "--json", "--no-speak", "--journal", env=env, cwd=dirs["cwd"])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    no_network(env, result)
    replies = [e for e in events(result.stdout) if e["event"] == "reply"]
    assert wer(parts[0], replies[0]["transcript"]) < 0.2
    [path] = journal_files(dirs["data"] / "h" / "journal")
    text = assert_private_text(path)
    assert all(r["transcript"] in text for r in replies)


# -- 5. bad input: one line naming what to fix ------------------------------------------------


def test_broken_prompts_override_names_file_and_line(home, tmp_path):
    dirs, env = home
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    themes = prompts / "en" / "themes.toml"
    lines = themes.read_text(encoding="utf-8").split("\n")
    broken_line = next(i for i, line in enumerate(lines) if line.startswith("[")) + 2
    lines[broken_line - 1] = 'summary = "unclosed'
    themes.write_text("\n".join(lines), encoding="utf-8")
    env["HAVEN_PROMPTS"] = str(prompts)
    for args in (["reflect", "he never listens"], ["listen", "--input", str(SAMPLE), "--no-speak"],
                 ["reflect", "--batch"]):
        line = one_line_error(haven(*args, env=env, cwd=dirs["cwd"], input="hello\n"),
                              f"en/themes.toml:{broken_line}", "TOML")
        assert line.startswith("haven: ")


def test_model_folder_missing_tokenizer_is_named(home, tmp_path, model):
    dirs, env = home
    folder = tmp_path / "model"
    folder.mkdir()
    for f in model.path.iterdir():
        if f.name != "tokenizer.json":
            (folder / f.name).symlink_to(f)
    result = haven("listen", "--input", str(SAMPLE), "--no-speak", "--model", str(folder), env=env, cwd=dirs["cwd"])
    line = one_line_error(result, "tokenizer.json", str(folder))
    assert line.startswith("haven: ")
    no_network(env, result)


# -- live mode: the same journal and signals on a (virtual) microphone ---------------------------


@pytest.mark.soundcard
def test_live_listen_with_journal_ends_143_on_sigterm(home, tmp_path):
    from soundcard import SoundCard

    if not SoundCard.available():
        pytest.skip("needs PulseAudio (make test installs it)")
    dirs, env = home
    card = SoundCard(tmp_path / "pulse").start()
    try:
        env = {**env, **card.env, "HAVEN_DATA_DIR": str(dirs["data"] / "h")}
        said = tmp_path / "said.wav"
        audio, _ = conversation(["He forgot my birthday again and didn't even say sorry."], lead=0.3, tail=0.3)
        write_wav(said, audio)
        run = Running("--no-speak", "--journal", env=env, cwd=dirs["cwd"])
        run.wait_for("listening", timeout=60)
        card.play_into_mic(said).wait()
        run.wait_for("reply", timeout=60)
        code, stderr = run.finish(signal.SIGTERM)
    finally:
        card.stop()
    assert code == 143, stderr
    assert "Traceback" not in stderr
    assert "summary" in [e["event"] for e in run.seen]
    [path] = journal_files(dirs["data"] / "h" / "journal")
    text = assert_private_text(path)
    assert run.replies()[0]["transcript"] in text
    assert "the microphone" in text and text.rstrip().split("\n")[-2].startswith("*Session ended") and text.rstrip().endswith("<!-- haven:end -->")
