"""Ground truth and prediction files of one format, loaded into stores with the same categories.

Used by the commands that work on files rather than a model: ``vis4d eval``
scores such a pair, ``vis4d vis`` draws it. Formats:

* ``scalabel`` / ``bdd100k``: Scalabel JSON files or folders of per-video
  files; ``bdd100k`` applies BDD100K's default label config.
* ``coco``: a COCO instances file and a COCO results file.
* ``mot``: a MOTChallenge root (``SEQ/gt/gt.txt``, ``SEQ/seqinfo.ini``) and a
  folder of ``SEQ.txt`` tracker outputs.

Categories and name mappings come from :class:`LabelOptions` (read from a
vis4d config or a Scalabel/BDD100K label config by :func:`load_label_options`)
or, without one, from the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.store import AnnotationStore

FORMATS = ("auto", "scalabel", "bdd100k", "coco", "mot")
_SNIFF_BYTES = 1 << 20


@dataclass
class LabelOptions:
    """What a ``--config`` contributes: categories, label config (mappings, super-categories)."""

    categories: list[str] | None = None
    label_config: Any = None
    name_mapping: dict[str, str] = field(default_factory=dict)
    ignored_mapping: dict[str, str] = field(default_factory=dict)
    dataset_type: str | None = None


def load_label_options(path: str | None) -> LabelOptions:
    """Categories and mappings from a vis4d config or a Scalabel/BDD100K label config (``None``: none)."""
    if path is None:
        return LabelOptions()
    from vis4d.data.mapping import is_label_config, label_config_from_dict, load_label_config, read_config_file

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


def detect_format(gt: Path) -> str:
    """Guess the ground truth's format from the path (and the first bytes of a JSON file)."""
    if not gt.exists():
        raise DataError(f"--gt: {gt} does not exist")
    if gt.is_dir():
        if any((seq / "gt" / "gt.txt").is_file() for seq in gt.iterdir() if seq.is_dir()):
            return "mot"
        return "scalabel"
    with open(gt, "rb") as handle:
        head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="ignore").lstrip()
    if head.startswith("{") and ('"images"' in head or '"annotations"' in head) and '"frames"' not in head:
        return "coco"
    return "scalabel"


def resolve_format(requested: str, gt_path: Path, labels: LabelOptions) -> str:
    """``requested`` unless ``auto``; a vis4d config of a BDD100K test set turns ``scalabel`` into ``bdd100k``."""
    fmt = detect_format(gt_path) if requested == "auto" else requested
    if fmt == "scalabel" and labels.dataset_type == "bdd100k" and labels.label_config is None:
        fmt = "bdd100k"
    return fmt


def load_gt_and_predictions(
    fmt: str, gt_path: Path, pred_path: Path, labels: LabelOptions, image_root: Path | None = None
) -> tuple[AnnotationStore, AnnotationStore]:
    """Ground truth and predictions as stores with the same categories (``image_root``: COCO images)."""
    if not pred_path.exists():
        raise DataError(f"--pred: {pred_path} does not exist")
    mappings: dict[str, Any] = {
        "name_mapping": labels.name_mapping or None,
        "ignored_mapping": labels.ignored_mapping or None,
    }
    if fmt in ("scalabel", "bdd100k"):
        from vis4d.data.datasets.bdd100k import load_bdd100k
        from vis4d.data.datasets.scalabel import load_scalabel

        loader = load_bdd100k if fmt == "bdd100k" else load_scalabel
        categories = labels.categories
        if categories is None and fmt == "bdd100k":  # BDD100K's classes, not only those present in the ground truth
            from vis4d.data.datasets.bdd100k import bdd100k_track_label_config

            categories = list((labels.label_config or bdd100k_track_label_config()).categories)
        gt = loader(gt_path, categories, label_config=labels.label_config, progress=False, **mappings)
        pred = loader(pred_path, gt.categories, label_config=labels.label_config, progress=False, **mappings)
        return gt, pred
    if fmt == "coco":
        from vis4d.data.datasets.coco import load_coco

        gt = load_coco(gt_path, labels.categories, image_root, **mappings)
        return gt, load_coco(gt_path, gt.categories, image_root, results=pred_path, **mappings)
    if fmt == "mot":
        from vis4d.data.datasets.motchallenge import load_motchallenge

        gt = load_motchallenge(gt_path, labels.categories, **mappings)
        return gt, load_motchallenge(gt_path, gt.categories, results_dir=pred_path, **mappings)
    raise ConfigError(f"--format: expected one of {list(FORMATS)}, got {fmt!r}")
