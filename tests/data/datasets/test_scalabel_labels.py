"""The fast path for labels with uniform fields gives exactly the general path's columns, and declines the rest."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from vis4d.data.datasets.scalabel_labels import _general_fields, _uniform_fields, label_columns


def _labels(n: int, score: bool, attributes: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(n)
    out = []
    for i in range(n):
        x, y = rng.uniform(-5, 50, 2)
        label: dict[str, Any] = {"id": str(i % 7), "category": ["car", "bus", "pedestrian"][i % 3],
                                 "box2d": {"x1": x, "y1": y, "x2": x + i % 4, "y2": y + 3}}  # fmt: skip
        if score:
            label["score"] = float(rng.random())
        if attributes:
            label["attributes"] = {"crowd": i % 5 == 0, "occluded": bool(i % 2), **({"truncated": 1} if i % 3 else {})}
        out.append(label)
    return out


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, list):
            assert x == y
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.mark.parametrize(("score", "attributes"), [(True, False), (False, True), (True, True), (False, False)])
def test_uniform_labels_read_fast_equal_the_general_path(score: bool, attributes: bool) -> None:
    labels = _labels(40, score, attributes)
    fast = _uniform_fields(labels)
    assert fast is not None
    _same(fast, _general_fields(labels))


def _broken(kind: str) -> list[dict[str, Any]]:
    labels = _labels(12, score=True, attributes=True)
    if kind == "score missing in one":
        del labels[5]["score"]
    elif kind == "null score":
        labels[3]["score"] = None
    elif kind == "no box in one":
        del labels[4]["box2d"]
    elif kind == "null box":
        labels[4]["box2d"] = None
    elif kind == "null attributes":
        labels[2]["attributes"] = None
    elif kind == "score only in a later label":
        labels = _labels(12, score=False, attributes=True)
        labels[7]["score"] = 0.5
    elif kind == "attributes only in a later label":
        labels = _labels(12, score=True, attributes=False)
        labels[7]["attributes"] = {"crowd": True}
    return labels


@pytest.mark.parametrize("kind", ["score missing in one", "null score", "no box in one", "null box", "null attributes",
                                  "score only in a later label", "attributes only in a later label"])  # fmt: skip
def test_labels_with_other_fields_take_the_general_path(kind: str) -> None:
    labels = _broken(kind)
    assert _uniform_fields(labels) is None
    table: dict[str, int] = {}
    columns = label_columns(copy.deepcopy(labels), table)
    assert len(columns["has_box"]) == len(labels)
    missing = kind in ("score missing in one", "null score", "score only in a later label")
    assert columns["missing_score"].any() == missing


def test_label_columns_codes_ids_across_calls_and_keeps_categories() -> None:
    table: dict[str, int] = {}
    first = label_columns(_labels(6, score=True, attributes=False), table)
    second = label_columns([{**label, "id": int(label["id"])} for label in _labels(6, True, False)], table)  # ints
    assert first["track_ids"].tolist() == second["track_ids"].tolist() == [0, 1, 2, 3, 4, 5]
    assert first["category_names"].tolist() == ["car", "bus", "pedestrian"] * 2
    assert label_columns([], table)["boxes"].shape == (0, 4)
