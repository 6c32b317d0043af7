"""Ground truth and prediction files of one format, loaded into stores with the same categories.

Used by the commands that work on files rather than a model: ``vis4d eval``
scores such a pair, ``vis4d vis`` draws it. What a path holds and how it is
read is the format's registry entry (:mod:`vis4d.data.formats`); this module
adds what ``--config`` contributes: categories and name mappings, read from a
vis4d config or a Scalabel/BDD100K label config by :func:`load_label_options`
(without one, the categories come from the ground truth).

Predictions are scored against the ground truth's categories. Their own
categories are read first and mapped by name, so a predicted category the
ground truth does not have (a detector trained on more classes) is found
before anything is scored: an error naming each such category and its box
count, or with ``drop_unknown`` (``--drop-unknown``, the option of ``vis4d
data stats``) one warning line with the same counts, the boxes left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.formats import DataFormat, LabelOptions, ReadRequest, detect_format, format_names, get_format
from vis4d.data.notes import warn
from vis4d.data.store import BOX_FIELDS, AnnotationStore, select_videos

# What becomes of predicted categories the ground truth does not have: an error, left out (counted, one warning),
# or kept as extra categories (drawing needs no ground-truth category for a box).
UnknownPredictions = Literal["error", "drop", "keep"]

__all__ = ["FORMAT_CHOICES", "LabelOptions", "load_gt_and_predictions", "load_label_options", "resolve_format"]

# ``--format`` of the commands that compare predictions with ground truth: detected (auto) or named.
FORMAT_CHOICES = ("auto", *format_names(lambda fmt: fmt.read is not None and fmt.has_predictions))


def load_label_options(path: str | None) -> LabelOptions:
    """Categories and mappings from a vis4d config or a Scalabel/BDD100K label config (``None``: none)."""
    if path is None:
        return LabelOptions()
    from vis4d.data.mapping import is_label_config, label_config_from_dict, load_label_config, read_config_file

    if Path(path).is_dir():
        raise ConfigError(f"--config: {path} is a directory, expected a vis4d config or a label config file")
    if not Path(path).is_file():
        raise ConfigError(f"--config: {path} does not exist")
    raw = read_config_file(path)
    if is_label_config(raw):
        label_config = label_config_from_dict(raw, path)
        return LabelOptions(categories=list(label_config.categories), label_config=label_config)
    from vis4d.config.load import load_raw_config

    merged = load_raw_config(path)
    categories = merged.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories) or not categories:
        raise ConfigError(f"{path}: categories: expected a list of category names")
    labels = LabelOptions(categories=categories)
    tests = merged.get("test") or []
    first = tests[0] if isinstance(tests, list) and tests and isinstance(tests[0], dict) else {}
    labels.dataset_type = first.get("type")
    labels.name_mapping = dict(first.get("name_mapping") or {})
    labels.ignored_mapping = dict(first.get("ignored_mapping") or {})
    if first.get("label_config"):
        labels.label_config = load_label_config(first["label_config"])
    return labels


def resolve_format(requested: str, gt_path: Path, labels: LabelOptions) -> DataFormat:
    """``requested`` unless ``auto`` (then detected); a vis4d config of a BDD100K test set makes Scalabel BDD100K."""
    name = detect_format(gt_path) if requested == "auto" else requested
    if name == "scalabel" and labels.dataset_type == "bdd100k":
        name = "bdd100k"
    return get_format(name)


def load_gt_and_predictions(
    fmt: DataFormat,
    gt_path: Path,
    pred_path: Path,
    labels: LabelOptions,
    image_root: Path | None = None,
    assume_missing_scores: bool = False,
    unknown_predictions: UnknownPredictions | None = None,
) -> tuple[AnnotationStore, AnnotationStore]:
    """Ground truth and predictions as stores with the same categories (``image_root``: COCO images).

    A prediction without a score is a :class:`~vis4d.common.errors.MissingScoreError`
    unless ``assume_missing_scores`` scores it 1.0. Predicted categories the
    ground truth does not have follow ``unknown_predictions`` (default:
    ``"drop"`` with ``labels.drop_unknown``, else ``"error"``).
    """
    if not pred_path.exists():
        raise DataError(f"--pred: {pred_path} does not exist")
    if fmt.read is None or not fmt.has_predictions:
        raise ConfigError(f"--format {fmt.name}: holds no ground truth and predictions to compare")
    label_config = fmt.label_config(labels.label_config)
    if labels.categories is None and fmt.default_label_config is not None and label_config is not None:
        # A benchmark's classes (BDD100K's 8), not only those its ground truth happens to contain.
        labels = dataclasses.replace(labels, categories=list(label_config.categories))
    gt = fmt.read(ReadRequest(gt_path, labels, image_root))
    # The predictions' own categories (the same name mappings, no category list), then mapped onto the ground
    # truth's by name: what the ground truth lacks is known, with counts, before anything is scored.
    own_categories = dataclasses.replace(labels, categories=None, drop_unknown=False)
    request = ReadRequest(
        gt_path, own_categories, image_root, predictions=pred_path, assume_missing_scores=assume_missing_scores
    )
    policy = unknown_predictions or ("drop" if labels.drop_unknown else "error")
    pred = onto_categories(fmt.read(request), gt, policy, str(pred_path))
    if fmt.predicted_videos_only:
        gt = select_videos(gt, pred.video_names.tolist())
    return gt, pred


def _listing(names: Sequence[str], counts: Sequence[int]) -> str:
    return ", ".join(f"{name!r} ({count} box{'es' if count != 1 else ''})" for name, count in zip(names, counts))


def onto_categories(
    pred: AnnotationStore, gt: AnnotationStore, unknown: UnknownPredictions, source: str
) -> AnnotationStore:
    """``pred`` with the ground truth's category list (class ids remapped by name).

    Categories the ground truth lacks are an error naming each with its box
    count, or (``"drop"``) their boxes are left out with one warning giving
    the same counts, or (``"keep"``) appended to the list.
    """
    categories = list(gt.categories)
    if list(pred.categories) == categories:
        return pred
    missing = [name for name in pred.categories if name not in categories]
    category_ids = list(gt.category_ids)
    if unknown == "keep":
        categories += missing
        category_ids += [-1] * len(missing)
    index = {name: i for i, name in enumerate(categories)}
    lookup = np.array([index.get(name, -1) for name in pred.categories], dtype=np.int64)
    class_ids = lookup[pred.class_ids] if pred.num_boxes else np.zeros(0, np.int64)
    columns = {name: getattr(pred, name) for name in BOX_FIELDS}
    box_offsets = pred.box_offsets
    dropped = class_ids < 0
    if dropped.any():
        names, counts = np.unique(np.asarray(pred.categories)[pred.class_ids[dropped]], return_counts=True)
        listing = _listing([str(n) for n in names], counts.tolist())
        if unknown == "error":
            raise DataError(
                f"{source}: predicted categor{'ies' if len(names) > 1 else 'y'} the ground truth does not have: "
                f"{listing}; its categories are {categories}; --drop-unknown leaves such predictions out"
            )
        warn(f"left out {int(dropped.sum())} predicted boxes of categories the ground truth does not have: {listing}")
        keep = ~dropped
        columns = {name: column[keep] for name, column in columns.items()}
        class_ids = class_ids[keep]
        per_frame = np.bincount(pred.box_frame_ids()[keep], minlength=pred.num_frames)
        box_offsets = np.concatenate([[0], np.cumsum(per_frame)]).astype(np.int64)
    columns["class_ids"] = class_ids
    return dataclasses.replace(
        pred,
        categories=tuple(categories),
        category_ids=np.asarray(category_ids, dtype=np.int64),
        box_offsets=box_offsets,
        **columns,
    )
