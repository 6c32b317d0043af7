"""Ground truth and prediction files of one format, loaded into stores with the same categories.

Used by the commands that work on files rather than a model: ``vis4d eval``
scores such a pair, ``vis4d vis`` draws it. What a path holds and how it is
read is the format's registry entry (:mod:`vis4d.data.formats`); this module
adds what ``--config`` contributes: categories and name mappings, read from a
vis4d config or a Scalabel/BDD100K label config by :func:`load_label_options`
(without one, the categories come from the ground truth).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.formats import DataFormat, LabelOptions, ReadRequest, detect_format, format_names, get_format
from vis4d.data.store import AnnotationStore

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
) -> tuple[AnnotationStore, AnnotationStore]:
    """Ground truth and predictions as stores with the same categories (``image_root``: COCO images).

    A prediction without a score is a :class:`~vis4d.common.errors.MissingScoreError`
    unless ``assume_missing_scores`` scores it 1.0.
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
    with_gt_categories = dataclasses.replace(labels, categories=list(gt.categories))
    request = ReadRequest(
        gt_path, with_gt_categories, image_root, predictions=pred_path, assume_missing_scores=assume_missing_scores
    )
    return gt, fmt.read(request)
