"""Scalabel files parsed in worker processes load exactly as parsed one after another, errors and warnings included."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.data.datasets.loader_helpers import frame, label, write_json
from vis4d.common.errors import DataError, MissingScoreError
from vis4d.data.datasets import load_scalabel
from vis4d.data.datasets.parallel import map_files, parse_workers
from vis4d.data.mapping import LoadOptions
from vis4d.data.notes import collecting
from vis4d.data.store import AnnotationStore


def _labels(rng: np.random.Generator, n: int, with_scores: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        x, y = rng.uniform(0, 100, 2)
        lab = label(str(i), str(rng.choice(["car", "pedestrian", "bus"])), (x, y, x + 9, y + 7))
        if with_scores:
            lab["score"] = float(rng.random())
        if i % 5 == 0:
            lab["attributes"] = {"crowd": bool(i % 2), "occluded": True}
        if i % 7 == 0:
            lab["id"] = int(lab["id"])  # numeric ids read as their string
        out.append(lab)
    out.append({"id": "x", "category": "car", "poly2d": []})  # no box: skipped
    return out


def _folder(tmp_path: Path, with_scores: bool) -> Path:
    """Six files; video "a" spans the first two (its id strings must keep one numbering across them)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / ("pred" if with_scores else "gt")
    for f, (video, first) in enumerate([("a", 0), ("a", 3), ("b", 0), ("c", 0), ("d", 0), ("e", 0)]):
        frames = [frame(f"{video}{t}.jpg", video, t, _labels(rng, 4 + t, with_scores)) for t in range(first, first + 3)]
        write_json(folder / f"{f}.json", frames)
    return folder


def _same(a: AnnotationStore, b: AnnotationStore) -> None:
    for field in dataclasses.fields(AnnotationStore):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert np.array_equal(np.asarray(x), np.asarray(y)), field.name


@pytest.mark.parametrize("with_scores", [False, True])
def test_workers_load_what_one_process_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_scores: bool
) -> None:
    folder = _folder(tmp_path, with_scores)
    monkeypatch.setenv("VIS4D_PARSE_WORKERS", "1")
    one = load_scalabel(folder, predictions=with_scores)
    monkeypatch.setenv("VIS4D_PARSE_WORKERS", "3")
    assert parse_workers(sorted(folder.iterdir())) == 3
    _same(load_scalabel(folder, predictions=with_scores), one)
    assert one.num_videos == 5 and int(one.track_ids[: one.box_offsets[one.video_offsets[1]]].max()) == 8  # ids 0..8


def test_workers_report_the_first_bad_file_and_skip_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path, False)
    (folder / "2.json").write_text("{not json")
    (folder / "4.json").write_text("[]]")
    monkeypatch.setenv("VIS4D_PARSE_WORKERS", "2")
    with pytest.raises(DataError, match=r"2\.json"):
        load_scalabel(folder)
    with collecting() as said:
        store = load_scalabel(folder, options=LoadOptions(on_malformed="skip"))
    skipped = [m for m in said if "skipping malformed file" in m]
    assert len(skipped) == 2 and "2.json" in skipped[0] and "4.json" in skipped[1]
    assert store.video_names.tolist() == ["a", "c", "e"]


def test_workers_raise_a_missing_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path, True)
    write_json(folder / "3.json", [frame("c0.jpg", "c", 0, [label("1", "car", (0, 0, 2, 2))])])
    monkeypatch.setenv("VIS4D_PARSE_WORKERS", "2")
    with pytest.raises(MissingScoreError, match=r"3\.json"):
        load_scalabel(folder, predictions=True)


def test_small_inputs_and_single_processors_parse_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(_folder(tmp_path, False).iterdir())
    monkeypatch.delenv("VIS4D_PARSE_WORKERS", raising=False)
    assert parse_workers(files) == 1  # a few kilobytes
    assert parse_workers(files[:2]) == 1
    monkeypatch.setenv("VIS4D_PARSE_WORKERS", "1")
    assert list(map_files(len, ["ab", "c"], 1)) == [2, 1]
