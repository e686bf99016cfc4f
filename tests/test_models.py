"""Model resolution: the real packages, the real join, and no network."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant import models
from assistant.errors import ModelError


def test_base_model_is_joined_and_checked(model):
    path = model.path
    assert (path / "model.bin").stat().st_size == models.BASE_SIZE
    assert models._sha256(path / "model.bin") == models.BASE_SHA256
    for name in models.REQUIRED_FILES:
        assert (path / name).is_file()


def test_join_happens_once_and_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path)
    first = models.resolve_model("base").path
    stamp = (first / "model.bin").stat().st_mtime_ns
    again = models.resolve_model("base").path
    assert again == first and (first / "model.bin").stat().st_mtime_ns == stamp
    # No temporary file is left beside it.
    assert [p.name for p in first.iterdir() if p.name.startswith(".")] == []


def test_half_written_model_is_redone(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path)
    target = models.resolve_model("base").path
    with open(target / "model.bin", "r+b") as f:  # an interrupted copy: the right name, too short
        f.truncate(1000)
    assert models.resolve_model("base").path == target
    assert (target / "model.bin").stat().st_size == models.BASE_SIZE


def test_tiny_en_resolves():
    m = models.resolve_model("tiny.en")
    assert m.english_only and (m.path / "model.bin").is_file()


def test_folder_without_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="model.bin"):
        models.resolve_model(str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="tokenizer.json"):
        models.resolve_model(str(tmp_path))


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model 'large-v3'"):
        models.resolve_model("large-v3")


def test_loading_and_transcribing_open_no_socket(model):
    """Model load and a transcription under a guard that fails on any network connect."""
    import netguard
    from assistant.transcriber import Transcriber

    with netguard.guarded() as attempts:
        t = Transcriber(model, "en")
        t.transcribe(np.zeros(16000, np.float32))
    assert attempts == []


def test_damaged_model_file_is_a_clear_error(tmp_path, model):
    from assistant.transcriber import Transcriber

    broken = tmp_path / "broken"
    shutil.copytree(model.path, broken)
    (broken / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not load the speech model"):
        Transcriber(models.resolve_model(str(broken)), "en")
