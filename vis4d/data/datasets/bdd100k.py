"""BDD100K: Scalabel JSON with BDD100K's default category mappings.

BDD100K labels use more names than the benchmark evaluates. Its toolkit's
tracking label config (``box_track.toml``) maps e.g. ``person`` ->
``pedestrian`` and loads ``other vehicle`` as an ignored ``car``; that config
is the default here, so a ``bdd100k`` dataset needs no label config file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vis4d.data.datasets.scalabel import load_scalabel
from vis4d.data.mapping import DEFAULT_LOAD_OPTIONS, LabelConfig, LoadOptions
from vis4d.data.store import AnnotationStore


def bdd100k_track_label_config() -> LabelConfig:
    """BDD100K's box tracking label config: 8 classes in 3 super-categories, 1280x720 images."""
    return LabelConfig(
        categories=["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"],
        super_categories={
            "human": ["pedestrian", "rider"],
            "vehicle": ["car", "truck", "bus", "train"],
            "bike": ["motorcycle", "bicycle"],
        },
        name_mapping={
            "bike": "bicycle",
            "caravan": "car",
            "motor": "motorcycle",
            "person": "pedestrian",
            "van": "car",
        },
        ignored_mapping={"other person": "pedestrian", "other vehicle": "car", "trailer": "truck"},
        remove_ignored=False,
        ignored_as_class=False,
        image_size=(720, 1280),
    )


def load_bdd100k(
    annotations: str | Path,
    categories: Sequence[str] | None = None,
    image_root: str | Path | None = None,
    *,
    label_config: LabelConfig | None = None,
    options: LoadOptions = DEFAULT_LOAD_OPTIONS,
    progress: bool = True,
) -> AnnotationStore:
    """Load BDD100K labels; ``label_config`` defaults to :func:`bdd100k_track_label_config`."""
    return load_scalabel(
        annotations,
        categories,
        image_root,
        label_config=label_config or bdd100k_track_label_config(),
        options=options,
        progress=progress,
    )
