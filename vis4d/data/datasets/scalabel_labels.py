"""The label fields of a parsed Scalabel file as numpy columns: the part of loading that runs once per label.

A parsed file's labels are millions of small dicts scattered over memory;
what costs is Python work per label and every pass over them. Labels whose
fields are those of the first label (every BDD100K file) are read with one
C-level ``itemgetter`` call each into a record array, boxes straight into a
float64 array (:func:`_uniform_fields`); any other labels (missing or null
fields, boxes absent) take :func:`_general_fields`, which reads every field
with ``get``. Both give the same columns; strings (categories, track ids)
are resolved once per distinct value.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_BOX_KEYS = operator.itemgetter("x1", "y1", "x2", "y2")
_NO_BOX = (None, None, None, None)
_NO_FLAGS = (False, False, False)


def _codes(values: Sequence[Any], table: Mapping[Any, int]) -> npt.NDArray[np.int64]:
    """Integer code of every value (``table[value]``), each distinct value looked up once."""
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))


_Fields = tuple[npt.NDArray[np.bool_], list[Any], list[Any], npt.NDArray[np.bool_], npt.NDArray[np.float32],
                npt.NDArray[np.float64], npt.NDArray[np.bool_]]  # fmt: skip
_FLAG_KEYS = ("crowd", "occluded", "truncated")


def _has_key(items: Sequence[Any], key: str) -> bool:
    """Whether any of the dicts has ``key`` (a C-level scan)."""
    return any(map(operator.contains, items, itertools.repeat(key)))


def _uniform_fields(labels: list[Any]) -> _Fields | None:
    """The label fields when every label has the fields of the first (the usual case); None otherwise.

    One ``itemgetter`` call per label reads all of them in C; the boxes'
    coordinates go straight into a numpy array. Anything unusual (a missing
    or null field, a field the first label lacks but another has) returns
    None and leaves the labels to :func:`_general_fields`.
    """
    first = labels[0] if labels else None
    if not isinstance(first, dict) or first.get("box2d") is None:
        return None
    optional = [key for key in ("score", "attributes") if key in first]
    if any(_has_key(labels, key) for key in ("score", "attributes") if key not in optional):
        return None
    fields = ("category", "id", "box2d", *optional)
    try:  # a record array of objects: filled tuple by tuple, no search for nested sequences as np.array does
        table = np.fromiter(map(operator.itemgetter(*fields), labels), np.dtype([(f, object) for f in fields]),
                            len(labels))  # fmt: skip
        boxes = np.fromiter(itertools.chain.from_iterable(map(_BOX_KEYS, table["box2d"])), np.float64, 4 * len(labels))
        if "score" in optional and table["score"].tolist().count(None):
            return None  # a null score is a missing one (None would read as NaN)
        scores = table["score"].astype(np.float32) if "score" in optional else np.ones(len(labels), np.float32)
    except (KeyError, TypeError, ValueError):
        return None
    flags = np.zeros((len(labels), 3), dtype=bool)
    if "attributes" in optional:
        attributes = table["attributes"].tolist()
        if set(map(type, attributes)) != {dict}:
            return None
        for column, key in enumerate(_FLAG_KEYS):
            if _has_key(attributes, key):
                flags[:, column] = [a.get(key, False) for a in attributes]
    missing = np.full(len(labels), "score" not in optional)
    has_box = np.ones(len(labels), dtype=bool)
    return has_box, table["category"].tolist(), table["id"].tolist(), missing, scores, boxes.reshape(-1, 4), flags


def _general_fields(labels: list[Any]) -> _Fields:
    """The label fields of any labels: every field read with ``get`` (missing: None), labels without a box dropped."""
    table = np.array([
        (
            label.get("category"), label.get("id"), label.get("score"),
            *(_BOX_KEYS(box) if (box := label.get("box2d")) is not None else _NO_BOX),
            *((attr.get("crowd", False), attr.get("occluded", False), attr.get("truncated", False))
              if (attr := label.get("attributes")) else _NO_FLAGS),
        )
        for label in labels
    ], dtype=object).reshape(-1, 10)  # fmt: skip
    if len(table) != len(labels):
        raise TypeError("label")
    has_box = ~np.equal(table[:, 3], None)  # type: ignore[call-overload]  # elementwise 'is None' in C
    if not has_box.all():
        table = table[has_box]
    missing = np.equal(table[:, 2], None).astype(bool)  # type: ignore[call-overload]
    scores = np.where(missing, 1.0, table[:, 2]).astype(np.float32)
    return (has_box, table[:, 0].tolist(), table[:, 1].tolist(), missing, scores, table[:, 3:7].astype(np.float64),
            table[:, 7:10].astype(bool))  # fmt: skip


def label_columns(labels: list[Any], track_table: dict[str, int]) -> dict[str, Any]:
    """Per-box columns of a file's labels (those with ``box2d``); raises on a malformed label.

    The fields are read without Python work per field where the labels allow
    (:func:`_uniform_fields`, else :func:`_general_fields`); strings
    (categories, track ids) are resolved once per distinct value.
    """
    has_box, categories, raw_ids, missing, scores, boxes, flags = _uniform_fields(labels) or _general_fields(labels)
    n = len(categories)
    distinct = dict.fromkeys(categories)
    if not all(type(name) is str for name in distinct):
        raise TypeError("category")
    category_index = {name: i for i, name in enumerate(distinct)}
    names = np.array(list(distinct), dtype=np.str_)
    id_codes = {i: -1 if i is None else track_table.setdefault(str(i), len(track_table))
                for i in dict.fromkeys(raw_ids)}  # fmt: skip
    return {
        "has_box": has_box,
        "boxes": boxes,
        "category_names": names[_codes(categories, category_index)] if n else np.zeros(0, np.str_),
        "track_ids": _codes(raw_ids, id_codes),
        "scores": scores if not missing.all() else np.ones(n, dtype=np.float32),
        "missing_score": missing,
        "crowd": flags[:, 0],
        "occluded": flags[:, 1],
        "truncated": flags[:, 2],
    }
