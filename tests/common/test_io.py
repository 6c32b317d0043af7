from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vis4d.common.io import atomic_link, atomic_open, atomic_write_json, default_file_mode


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


def test_atomic_link_is_the_same_file_and_a_later_replacement_of_either_leaves_the_other(tmp_path: Path) -> None:
    source, link = tmp_path / "epoch=0.ckpt", tmp_path / "last.ckpt"
    source.write_bytes(b"epoch 0")
    link.write_bytes(b"older")
    atomic_link(source, link)
    assert link.samefile(source) and link.read_bytes() == b"epoch 0"
    atomic_write_json(source, {"epoch": 1})  # vis4d replaces files by renames, never in place
    assert link.read_bytes() == b"epoch 0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch=0.ckpt", "last.ckpt"]  # no temporary left


def test_atomic_link_copies_where_the_filesystem_has_no_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, link = tmp_path / "a", tmp_path / "b"
    source.write_bytes(b"data")

    def no_links(src: object, dst: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    atomic_link(source, link)
    assert link.read_bytes() == b"data" and not link.samefile(source)
