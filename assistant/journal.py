"""The journal: what was said and answered, kept only when the person asks (--journal).

Nothing else Haven does leaves a trace on disk: audio stays in memory, and without
--journal no transcript is written anywhere. With it, each session is one Markdown
file, named by its start time, in

    platformdirs.user_data_dir("haven")/journal/     (or $HAVEN_DATA_DIR/journal)

The folder is 0700 and each file 0600 from the moment it exists (os.open with the
mode, so no umask can widen it, and O_EXCL so an existing file is never reused).
Every entry is appended with one write() and fsync'ed at once: a process that is
killed loses at most the utterance in flight. The file is created at the first
utterance, so a session in which nothing was said leaves nothing behind. Only
text goes in (transcript, what it was taken for, the reply, the summary): never audio.

`haven journal list | show N | forget N | forget --all` read and delete these files.
N is the entry's own number, written into the file when it is created (one more than
any before, counted in the folder's .last), so forgetting one never renumbers the
rest. The headings are in the session's language (prompts/LANG/interface.toml) and
say in plain words what each utterance seemed to be about; the theme ids that
`journal list --json` reports sit on marker lines (<!-- haven:... -->) that `show` leaves out.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

from assistant.errors import HavenError
from assistant.events import Done, Event, Listening, ReplyEvent, Summary
from assistant.journal_files import (  # noqa: F401  (re-exported: where the journal lives, read back)
    DIR_MODE, FILE_MODE, Entry, _next_number, count, data_dir, ensure_journal_dir, entries, forget,
    forget_all, journal_dir, pick, show,
)
from assistant.library import Interface, interface, language_pack

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def meaning(theme: str, language: str) -> str:
    """A theme in plain words (its summary in prompts/LANG/themes.toml), not its id."""
    try:
        return language_pack(language if language in ("en", "nl") else "en").themes[theme].summary
    except (KeyError, HavenError):
        return theme


def _clean(text: str | None) -> str:
    """One line of text: no newlines (they could forge a heading), no control characters."""
    return _CONTROL.sub("", " ".join(str(text or "").split()))


class Journal:
    """One session's journal file. `record(event)` takes the session's events as they come."""

    def __init__(self, folder: Path, source: str = "", started: float | None = None,
                 words: Interface | None = None):
        self.folder = folder
        self.source = source
        self.words = words or interface("en")
        self.started = started if started is not None else time.time()
        self.path: Path | None = None
        self.utterances = 0
        self.replies = 0
        self.closed = False
        self.failed = False
        self._fd: int | None = None
        self._details: list[str] = []
        self._themes: list[str] = []
        self._summarised = False
        self._ended = False
        self._kept = 0  # entries written whole

    @classmethod
    def open(cls, source: str = "", language: str | None = None) -> "Journal":
        """Check the folder now (so a problem shows before the slow start-up); the file comes later."""
        return cls(ensure_journal_dir(), source, words=interface(language))

    # -- writing ----------------------------------------------------------------------

    def wrap(self, emit):
        """An emit function that also records each event here."""

        def emit_and_record(event: Event) -> None:
            self.record(event)  # first: the journal must not depend on the terminal
            emit(event)

        return emit_and_record

    def record(self, event: Event) -> None:
        if self.closed or self.failed:
            return
        if isinstance(event, Listening):
            self._details = [f"language {_clean(event.language)}", f"model {_clean(event.model)}"]
        elif isinstance(event, ReplyEvent):
            self.utterances += 1
            if event.reply:
                self.replies += 1
            if event.theme and event.theme not in self._themes:
                self._themes.append(event.theme)
            self._write(self._reply_text(event))
        elif isinstance(event, Summary):
            if self._fd is None:
                return  # nothing was said: nothing to keep
            self._summarised = True
            w = self.words.text
            self._write(f"## {w('journal.summary')}\n\n- **{w('journal.themes')}:** {self._themes_text(event.themes)}\n"
                        f"- **{w('journal.reply')}:** {_clean(event.text)}\n\n")
        elif isinstance(event, Done):
            self._end()

    def _themes_text(self, themes) -> str:
        return "; ".join(_clean(meaning(t, self.words.language)) for t in themes) or self.words.text("journal.none")

    def _reply_text(self, e: ReplyEvent) -> str:
        w = self.words.text
        when = time.strftime("%H:%M:%S", time.localtime())
        language = e.language if e.language in ("en", "nl") else None
        taken = meaning(e.theme, language or self.words.language) if e.theme else w(f"journal.kinds.{e.kind}") \
            if f"journal.kinds.{e.kind}" in self.words.texts else _clean(e.kind)
        said = _clean(e.reply) if e.reply else f"*{w('journal.paused') if e.mode == 'paused' else w('journal.no_reply')}*"
        lines = [f"## {self.utterances} · {when}", "",
                 f"- **{w('journal.you_said')}:** {_clean(e.transcript)}",
                 f"- **{w('journal.heard_as')}:** {_clean(taken)}",
                 f"- **{w('journal.reply')}:** {said}"]
        if e.mode == "safety":
            lines.append(f"- {w('journal.safety')}")
        lines.append(f"- **{w('journal.at')}:** " + w("journal.at_value", start=f"{e.start_s:.1f}", end=f"{e.end_s:.1f}"))
        if e.theme:
            lines.append(f"<!-- haven:theme {_clean(e.theme)} -->")
        return "\n".join(lines) + "\n\n"

    def _header(self, number: int) -> str:
        started = time.localtime(self.started)
        title = self.words.text("journal.title", date=time.strftime("%Y-%m-%d %H:%M", started))
        details = " · ".join(d for d in [time.strftime("%Y-%m-%d %H:%M:%S", started),
                                         _clean(self.source), *self._details] if d)
        return (f"<!-- haven:number {number} -->\n# {title}\n\n"
                f"{self.words.text('journal.started')} {details}\n\n")

    def _create(self) -> None:
        stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(self.started))
        number = _next_number(self.folder)  # before the new file exists, or it would count itself
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for n in range(1, 1000):
            path = self.folder / (f"{stamp}.md" if n == 1 else f"{stamp}-{n}.md")
            try:
                fd = os.open(path, flags, FILE_MODE)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(f"too many journal files named {stamp}")
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        self._fd, self.path = fd, path
        try:  # make the new name itself durable
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        os.write(fd, self._header(number).encode("utf-8"))

    def _write(self, text: str) -> None:
        """Append one entry with a single write, and put it on the disk before going on."""
        whole = None  # the file's size before this entry: what it is cut back to if the entry fails
        try:
            with _signals_held():  # an entry is written whole, or not begun
                if self._fd is None:
                    self._create()
                whole = os.lseek(self._fd, 0, os.SEEK_END)
                data = text.encode("utf-8")
                while data:
                    data = data[os.write(self._fd, data):]
                os.fsync(self._fd)
                self._kept += 1
        except OSError as e:
            # A full disk must not end the conversation: say so once, and stop keeping it.
            self.failed = True
            self._cut_back(whole)
            sys.stderr.write(f"haven: the journal could not be written ({e.strerror or e}); "
                             f"{'the entries before this one are kept' if self._kept else 'nothing was kept'}, "
                             "and the rest of this session is not\n")

    def _cut_back(self, size: int | None) -> None:
        """After a failed write: no torn entry (cut back to the last whole one), and no file
        at all if no entry was kept (an empty journal would list as a session)."""
        if self._fd is None:
            if self.path is not None:  # created, but not even the header went in
                self.path.unlink(missing_ok=True)
                self.path = None
            return
        try:
            if self._kept == 0:
                os.close(self._fd)
                self._fd = None
                self.path.unlink(missing_ok=True)
                self.path = None
            elif size is not None:
                os.ftruncate(self._fd, size)  # freeing space works on a full disk
        except OSError:
            pass

    def _end(self) -> None:
        if self._ended or self._fd is None:
            return
        self._ended = True
        ended = time.strftime("%Y-%m-%d %H:%M:%S")
        w = self.words.text
        if not self._summarised:  # the recording ended without "stop": still name the themes
            self._write(f"## {w('journal.themes')}\n\n- {self._themes_text(self._themes)}\n\n")
        self._write(f"---\n\n*{w('journal.ended', ended=ended, utterances=self.utterances, replies=self.replies)}*\n"
                    "<!-- haven:end -->\n")

    def close(self) -> None:
        """Write the end line (if the session did not), flush to disk, close. Safe to call twice."""
        if self.closed:
            return
        with _signals_held():  # a second Ctrl-C must not cut the closing short
            if not self.failed:
                self._end()
            self.closed = True
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (they are delivered after it)."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the mask as it is
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        # Blocking also runs any handler already due, whose exception would leave the
        # signals blocked for good unless the mask is put back here too.
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
