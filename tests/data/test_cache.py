from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from vis4d.data.cache import cache_key, cached_load
from vis4d.data.notes import collecting
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns


def _store(num_boxes: int = 2) -> AnnotationStore:
    columns = empty_box_columns(num_boxes)
    columns["boxes"] = np.arange(num_boxes * 4, dtype=np.float32).reshape(-1, 4)
    columns["track_ids"] = np.arange(num_boxes, dtype=np.int64)
    return build_store(["car"], [FrameRecord("f.jpg", "v", 0, "/img/v/f.jpg", 10, 20, columns)])


class Builder:
    """A build callable that counts its calls."""

    def __init__(self, num_boxes: int = 2) -> None:
        self.calls = 0
        self.num_boxes = num_boxes

    def __call__(self) -> AnnotationStore:
        self.calls += 1
        return _store(self.num_boxes)


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "labels.json"
    path.write_text("[1, 2, 3]")
    return path


def test_hit_does_not_build(tmp_path: Path, source: Path) -> None:
    build = Builder()
    first = cached_load({"a": 1}, [source], build, tmp_path / "cache")
    second = cached_load({"a": 1}, [source], build, tmp_path / "cache")
    assert build.calls == 1
    np.testing.assert_array_equal(first.boxes, second.boxes)
    np.testing.assert_array_equal(second.track_ids, [0, 1])
    assert second.image_paths[0] == "/img/v/f.jpg"
    files = sorted(os.listdir(tmp_path / "cache"))
    key = cache_key({"a": 1}, [source])
    assert files == [f"{key}.notes.json", f"{key}.npz"]  # the store, its warnings, no temporary file left behind


def test_options_change_key(tmp_path: Path, source: Path) -> None:
    build = Builder()
    cached_load({"a": 1}, [source], build, tmp_path)
    cached_load({"a": 2}, [source], build, tmp_path)
    assert build.calls == 2
    assert cache_key({"a": 1}, [source]) != cache_key({"a": 2}, [source])


def test_mtime_change_invalidates(tmp_path: Path, source: Path) -> None:
    build = Builder()
    cached_load({}, [source], build, tmp_path / "c")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    cached_load({}, [source], build, tmp_path / "c")
    assert build.calls == 2


def test_size_change_invalidates(tmp_path: Path, source: Path) -> None:
    build = Builder()
    cached_load({}, [source], build, tmp_path / "c")
    stat = source.stat()
    source.write_text("[1, 2, 3, 4]")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime, other size
    cached_load({}, [source], build, tmp_path / "c")
    assert build.calls == 2


def test_corrupt_cache_is_rebuilt(tmp_path: Path, source: Path) -> None:
    build = Builder(num_boxes=3)
    cache_dir = tmp_path / "c"
    cached_load({}, [source], build, cache_dir)
    entry = cache_dir / f"{cache_key({}, [source])}.npz"
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    with collecting() as said:
        store = cached_load({}, [source], build, cache_dir)
    assert build.calls == 2 and store.num_boxes == 3
    assert any("corrupt" in m for m in said)
    assert AnnotationStore.load(entry).num_boxes == 3  # the rebuilt entry is valid again


def test_invalid_store_in_cache_is_rebuilt(tmp_path: Path, source: Path) -> None:
    build = Builder()
    cache_dir = tmp_path / "c"
    entry = cache_dir / f"{cache_key({}, [source])}.npz"
    cache_dir.mkdir()
    bad = _store()
    bad.box_offsets = np.array([0, 5], dtype=np.int64)  # offsets past the boxes: validate() fails
    bad.save(entry)
    store = cached_load({}, [source], build, cache_dir)
    assert build.calls == 1 and store.num_boxes == 2


def test_missing_source_builds_uncached(tmp_path: Path) -> None:
    build = Builder()
    cached_load({}, [tmp_path / "missing.json"], build, tmp_path / "c")
    assert build.calls == 1 and not (tmp_path / "c").exists()


def test_unwritable_cache_dir_still_loads(tmp_path: Path, source: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with collecting() as said:
        store = cached_load({}, [source], Builder(), blocker / "cache")
    assert store.num_boxes == 2
    assert any("cannot write dataset cache" in m for m in said)


def test_a_cached_load_repeats_the_warnings_of_the_build(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second run of a command warns like the first: the skipped boxes are still skipped."""
    from vis4d.data.notes import warn

    build = Builder()

    def build_with_a_warning() -> AnnotationStore:
        warn("labels.json: skipped 3 degenerate box(es)")
        return build()

    with collecting() as first:
        cached_load({"a": 1}, [source], build_with_a_warning, tmp_path)
    with collecting() as second:
        cached_load({"a": 1}, [source], build_with_a_warning, tmp_path)
    assert build.calls == 1
    assert first == second == ["labels.json: skipped 3 degenerate box(es)"]
    assert capsys.readouterr().err.count("warning: labels.json: skipped 3 degenerate box(es)\n") == 2
