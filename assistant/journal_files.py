"""Where the journal lives and how its files are read back and forgotten.

The writing side is assistant.journal (one Markdown file a session, 0600 in a 0700
folder); this is the rest of the journal's contract: the folder, the file names, the
marker lines, the entry numbers (kept in the folder's .last, so forgetting one never
renumbers the others), and `haven journal list | show N | forget N | forget --all`.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from assistant.errors import HavenError

DIR_MODE = 0o700
FILE_MODE = 0o600
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})(\d{2})(?:-(\d+))?\.md$")
_ENTRY = re.compile(r"^## \d+ · ")
# Marker lines: a whole line each, so nothing said (always one line inside a "- **...:**"
# item) can forge one. The older format's lines are still read.
_MARK = re.compile(r"^<!-- haven:(number|theme|end) ?([a-z_0-9]*) -->$")
_THEME = re.compile(r"^- \*\*Heard as:\*\* .*?theme `([a-z_]+)`")
_END = re.compile(r"^\*Session ended ")
_LAST = ".last"  # the last number given to an entry


def data_dir() -> Path:
    override = os.environ.get("HAVEN_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("haven", appauthor=False))


def journal_dir() -> Path:
    return data_dir() / "journal"


def ensure_journal_dir() -> Path:
    """The journal folder, created 0700 (and tightened to 0700 if it was looser)."""
    folder = journal_dir()
    try:
        if not folder.parent.exists():
            os.makedirs(folder.parent, mode=DIR_MODE, exist_ok=True)
            os.chmod(folder.parent, DIR_MODE)  # the mode given to makedirs is subject to the umask
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            pass
        if folder.is_symlink() or not folder.is_dir():
            raise HavenError(f"{folder} is not a folder; move it away so Haven can keep the journal there")
        st = folder.stat()
        if st.st_uid != os.getuid():
            raise HavenError(f"{folder} belongs to another user; the journal must be readable by you alone")
        if st.st_mode & 0o777 != DIR_MODE:
            os.chmod(folder, DIR_MODE)
        # Writable now, not at the first utterance (a read-only folder passed this check before).
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise HavenError(f"cannot keep a journal in {folder}: {e.strerror or e}; "
                         "check that folder, or set HAVEN_DATA_DIR to another") from None
    return folder


def _next_number(folder: Path) -> int:
    """One more than any entry's number so far (kept in .last, so a forgotten one is not reused)."""
    last = 0
    try:
        last = int((folder / _LAST).read_text().strip() or 0)
    except (OSError, ValueError):
        pass
    number = max([last, *(e.number for e in entries())]) + 1
    try:
        fd = os.open(folder / _LAST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        try:
            os.write(fd, f"{number}\n".encode())
        finally:
            os.close(fd)
    except OSError:
        pass  # the numbers in the files still keep them apart
    return number


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# -- reading and forgetting (haven journal ...) ---------------------------------------


@dataclass
class Entry:
    number: int
    path: Path
    started: str
    utterances: int
    themes: list = field(default_factory=list)
    finished: bool = False

    def fields(self) -> dict:
        return {"number": self.number, "started": self.started, "utterances": self.utterances,
                "themes": self.themes, "finished": self.finished, "file": str(self.path)}


def entries() -> list[Entry]:
    """The journal files, oldest first, numbered from 1."""
    folder = journal_dir()
    if not folder.is_dir():
        return []
    found = []
    for position, path in enumerate(sorted((p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file()),
                                           key=_order), 1):
        m = _NAME.match(path.name)
        number, utterances, themes, finished = position, 0, [], False  # older files: their place in the list
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            mark = _MARK.match(line)
            theme = mark.group(2) if mark and mark.group(1) == "theme" else (t := _THEME.match(line)) and t.group(1)
            if _ENTRY.match(line):
                utterances += 1
            elif mark and mark.group(1) == "number" and mark.group(2).isdigit():
                number = int(mark.group(2))
            elif theme:
                themes += [theme] if theme not in themes else []
            elif (mark and mark.group(1) == "end") or _END.match(line):
                finished = True
        started = f"{m.group(1)} {m.group(2)}:{m.group(3)}:{m.group(4)}"
        found.append(Entry(number, path, started, utterances, themes, finished))
    return found


def _order(path: Path) -> tuple[str, int]:
    """Start time, then the -N of a second session started in the same second: by name,
    "..._134546-2.md" would sort before "..._134546.md" and `forget 1` would take the later one."""
    m = _NAME.match(path.name)
    return path.name[:17], int(m.group(5) or 1)


def pick(number: int) -> Entry:
    """The entry with this number (a one-line error if there is none)."""
    all_entries = entries()
    if not all_entries:
        raise HavenError("the journal is empty; sessions are kept only with: haven listen --journal")
    for entry in all_entries:
        if entry.number == number:
            return entry
    numbers = ", ".join(str(e.number) for e in all_entries)
    raise HavenError(f"there is no journal entry {number}; the numbers are {numbers} (see: haven journal list)")


def show(number: int) -> str:
    entry = pick(number)
    try:
        text = entry.path.read_text(encoding="utf-8", errors="replace")
        return "".join(line for line in text.splitlines(keepends=True) if not _MARK.match(line.rstrip("\n")))
    except OSError as e:
        raise HavenError(f"cannot read {entry.path}: {e.strerror or e}") from None


def _delete(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise HavenError(f"cannot delete {path}: {e.strerror or e}") from None


def _sync_folder() -> None:
    try:
        fd = os.open(journal_dir(), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def forget(number: int) -> Entry:
    entry = pick(number)
    _delete(entry.path)
    _sync_folder()
    return entry


def forget_all() -> int:
    all_entries = entries()
    for entry in all_entries:
        _delete(entry.path)
    _sync_folder()
    return len(all_entries)
