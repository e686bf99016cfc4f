"""Where prompts/ and audio/ are: inside the installed package, or at the top of a checkout.

The repository keeps them at its top (that layout is part of the contract); a wheel
ships them as assistant/_data/prompts and assistant/_data/audio (the mapping is in
pyproject.toml). Both are found with importlib.resources, so `pip install .`, pipx and
a wheel work from any folder; a source checkout or an editable install has no
assistant/_data and uses the folders beside the package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def data_dir(name: str) -> Path:
    """prompts or audio, as a folder on disk (wheels are installed unzipped)."""
    packaged = resources.files("assistant").joinpath("_data", name)
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(str(resources.files("assistant"))).parent / name


def prompts_dir() -> Path:
    """prompts/, or HAVEN_PROMPTS for a tested override."""
    override = os.environ.get("HAVEN_PROMPTS")
    return Path(override) if override else data_dir("prompts")


def tones_dir() -> Path:
    return data_dir("audio") / "tones"


def samples_dir() -> Path:
    return data_dir("audio") / "samples"
