"""Dataset loaders: every source format into one :class:`~vis4d.data.store.AnnotationStore`.

:func:`load_dataset` is what the engine calls with a dataset config section;
it dispatches on ``cfg.type`` and caches the parsed store (see
:mod:`vis4d.data.cache`). The per-format functions work without a config
object, which is how ``vis4d eval`` reads ground truth and prediction files:

* :func:`load_scalabel` / :func:`load_bdd100k`: Scalabel JSON (file, ``{"frames"}``
  object, or folder of per-video files); predictions carry ``score``.
* :func:`load_coco`: COCO instances JSON, or a results JSON with ``results=``.
* :func:`load_motchallenge`: MOTChallenge ground truth, public detections,
  or tracker output ``<SEQ>.txt``.

Image paths in stores loaded with an image root are absolute.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vis4d.config.schema import (
    BDD100KDatasetConfig,
    COCODatasetConfig,
    DatasetConfig,
    ImageFolderDatasetConfig,
    MOTChallengeDatasetConfig,
    ScalabelDatasetConfig,
    SyntheticDatasetConfig,
)
from vis4d.data.cache import cached_load
from vis4d.data.datasets.bdd100k import bdd100k_track_label_config, load_bdd100k
from vis4d.data.datasets.coco import load_coco
from vis4d.data.datasets.motchallenge import load_motchallenge, motchallenge_source_files
from vis4d.data.datasets.scalabel import load_scalabel, scalabel_files
from vis4d.data.mapping import LabelConfig, load_label_config
from vis4d.data.store import AnnotationStore

__all__ = [
    "LabelConfig",
    "bdd100k_track_label_config",
    "load_bdd100k",
    "load_coco",
    "load_dataset",
    "load_label_config",
    "load_motchallenge",
    "load_scalabel",
]


def _common_options(cfg: DatasetConfig) -> dict[str, Any]:
    return {
        "name_mapping": cfg.name_mapping,
        "ignored_mapping": cfg.ignored_mapping,
        "unknown_categories": cfg.unknown_categories,
        "on_malformed": cfg.on_malformed,
        "on_degenerate_box": cfg.on_degenerate_box,
        "skip_empty_frames": cfg.skip_empty_frames,
    }


def _scalabel_label_config(
    cfg: ScalabelDatasetConfig, label_config: LabelConfig | None
) -> tuple[LabelConfig | None, list[Path]]:
    """Pick the label config to use and the file it came from (a cache source)."""
    if label_config is not None:
        return label_config, []
    if cfg.label_config is not None:
        return load_label_config(cfg.label_config), [Path(cfg.label_config)]
    if isinstance(cfg, BDD100KDatasetConfig):
        return bdd100k_track_label_config(), []
    return None, []


def load_dataset(
    cfg: DatasetConfig,
    categories: Sequence[str],
    cache_dir: str | Path | None = None,
    label_config: LabelConfig | None = None,
) -> AnnotationStore:
    """Load the dataset a config section describes, mapped onto ``categories``.

    ``cache_dir`` defaults to ``vis4d-workspace/.cache/datasets``; the engine
    passes ``launch.cache_dir``. ``label_config`` overrides the section's
    ``label_config`` file (and, for ``bdd100k``, BDD100K's default mappings).
    Image folders are scanned, not cached (there is nothing to parse).
    """
    categories = list(categories)
    if isinstance(cfg, ImageFolderDatasetConfig):
        from vis4d.data.datasets.image_folder import load_image_folder

        return load_image_folder(cfg, categories)

    key_parts: dict[str, Any] = {
        "dataset": cfg.model_dump(mode="json", exclude={"cache"}),
        "categories": categories,
    }
    options = _common_options(cfg)
    if isinstance(cfg, SyntheticDatasetConfig):
        from vis4d.data.datasets.synthetic import ensure_synthetic

        labels, image_root = ensure_synthetic(cfg)
        key_parts["image_root"] = str(Path(image_root).resolve())
        sources = [Path(labels)]

        def build() -> AnnotationStore:
            return load_scalabel(labels, categories, image_root, **options)

    elif isinstance(cfg, ScalabelDatasetConfig):  # also BDD100K
        resolved_label_config, label_files = _scalabel_label_config(cfg, label_config)
        key_parts["label_config"] = resolved_label_config
        key_parts["image_root"] = str(Path(cfg.image_root).resolve())
        sources = [*scalabel_files(cfg.annotations), *label_files]

        def build() -> AnnotationStore:
            return load_scalabel(
                cfg.annotations, categories, cfg.image_root, label_config=resolved_label_config, **options
            )

    elif isinstance(cfg, COCODatasetConfig):
        key_parts["image_root"] = str(Path(cfg.image_root).resolve())
        sources = [Path(cfg.annotations)]

        def build() -> AnnotationStore:
            return load_coco(cfg.annotations, categories, cfg.image_root, **options)

    elif isinstance(cfg, MOTChallengeDatasetConfig):
        key_parts["root"] = str(Path(cfg.root).resolve())
        sources = motchallenge_source_files(cfg.root, cfg.sequences, cfg.use_public_detections)

        def build() -> AnnotationStore:
            return load_motchallenge(
                cfg.root,
                categories,
                sequences=cfg.sequences,
                use_public_detections=cfg.use_public_detections,
                **options,
            )

    else:  # pragma: no cover - the config schema admits no other type
        raise NotImplementedError(f"dataset type {cfg.type!r} has no loader")

    if not cfg.cache:
        return build()
    return cached_load(_jsonable(key_parts), sources, build, cache_dir)


def _jsonable(value: Any) -> Any:
    """Key parts as plain JSON values (dataclasses become dicts) for hashing."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
