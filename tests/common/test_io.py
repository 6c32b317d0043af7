from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vis4d.common.io import atomic_open, atomic_write_json, default_file_mode


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out" / "m.json"
    atomic_write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert path.stat().st_mode & 0o777 == default_file_mode()


def test_failed_write_keeps_previous_version_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    atomic_write_json(path, {"version": 1})
    with pytest.raises(RuntimeError), atomic_open(path) as handle:
        handle.write('{"version": 2, "trunc')
        raise RuntimeError("killed mid-write")
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["m.json"]
