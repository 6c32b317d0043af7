"""Predictions mapped onto the ground truth's categories by name: error, drop (counted) or keep."""

from __future__ import annotations

import numpy as np
import pytest

from vis4d.common.errors import DataError
from vis4d.data.notes import collecting
from vis4d.data.pairs import onto_categories
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns


def store(categories: tuple[str, ...], per_frame: list[list[int]]) -> AnnotationStore:
    """One video; frame i holds one box per class id in ``per_frame[i]`` (box x1 = its position in the store)."""
    records, position = [], 0
    for i, classes in enumerate(per_frame):
        cols = empty_box_columns(len(classes))
        cols["boxes"] = np.array(
            [[position + k, 0, position + k + 5, 5] for k in range(len(classes))], np.float32
        ).reshape(-1, 4)
        cols["class_ids"] = np.array(classes, np.int64)
        records.append(FrameRecord(f"{i}.jpg", "v", i, f"/{i}.jpg", 10, 10, cols))
        position += len(classes)
    return build_store(categories, records)


GT = store(("car", "truck"), [[0], [1]])


def test_same_categories_by_name_in_another_order() -> None:
    pred = store(("truck", "car"), [[0, 1], [1]])
    mapped = onto_categories(pred, GT, "error", "pred")
    assert mapped.categories == ("car", "truck")
    assert mapped.class_ids.tolist() == [1, 0, 0]


def test_unknown_categories_error_drop_or_keep() -> None:
    pred = store(("car", "cyclist", "tram"), [[1, 0, 2], [1], []])
    with pytest.raises(DataError, match=r"categories the ground truth does not have: 'cyclist' \(2 boxes\), "
                       r"'tram' \(1 box\); its categories are \['car', 'truck'\]; --drop-unknown"):  # fmt: skip
        onto_categories(pred, GT, "error", "pred")
    with collecting() as said:
        dropped = onto_categories(pred, GT, "drop", "pred")
    assert said == [
        "left out 3 predicted boxes of categories the ground truth does not have: 'cyclist' (2 boxes), 'tram' (1 box)"
    ]
    assert dropped.categories == ("car", "truck") and dropped.class_ids.tolist() == [0]
    assert dropped.box_offsets.tolist() == [0, 1, 1, 1] and dropped.boxes[:, 0].tolist() == [1.0]
    kept = onto_categories(pred, GT, "keep", "pred")
    assert kept.categories == ("car", "truck", "cyclist", "tram")
    assert kept.class_ids.tolist() == [2, 0, 3, 2] and kept.num_boxes == 4
