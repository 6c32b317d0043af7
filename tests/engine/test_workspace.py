from __future__ import annotations

import re
from pathlib import Path

import pytest

from vis4d.common.errors import ConfigError
from vis4d.engine.workspace import resolve_weights, resolve_workspace


def test_new_training_run_gets_a_timestamp_version(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "QDTrack", None, None, False)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", ws.version)
    assert ws.run_dir == tmp_path / "QDTrack" / ws.version
    assert ws.checkpoint("last") == ws.run_dir / "checkpoints" / "last.ckpt"


def test_test_uses_newest_run_with_checkpoints(tmp_path: Path) -> None:
    for version in ("old", "new"):
        ckpt = tmp_path / "E" / version / "checkpoints"
        ckpt.mkdir(parents=True)
        (ckpt / "best.ckpt").write_bytes(b"x")
    (tmp_path / "E" / "empty").mkdir()
    ws = resolve_workspace("test", str(tmp_path), "E", None, "best", False)
    assert ws.version in ("old", "new")
    assert resolve_weights(None, ws, "test", False) == ws.checkpoint("best")


def test_missing_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no run with checkpoints"):
        resolve_workspace("test", str(tmp_path), "E", None, None, False)
    ws = resolve_workspace("test", str(tmp_path), "E", "v1", None, False)
    with pytest.raises(ConfigError, match="best"):
        resolve_weights(None, ws, "test", False)
    with pytest.raises(ConfigError, match="file not found"):
        resolve_weights("nope.ckpt", ws, "test", False)


def test_best_falls_back_to_last_and_resume_defaults_to_last(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, True)
    ws.checkpoint_dir.mkdir(parents=True)
    ws.checkpoint("last").write_bytes(b"x")
    assert resolve_weights(None, ws, "train", True) == ws.checkpoint("last")
    assert resolve_weights("best", ws, "test", False) == ws.checkpoint("last")
    assert resolve_weights(None, ws, "train", False) is None
