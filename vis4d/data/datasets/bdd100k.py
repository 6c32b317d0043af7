"""BDD100K: Scalabel JSON with BDD100K's default category mappings.

BDD100K labels use more names than the benchmark evaluates. Its toolkit's
tracking label config (``box_track.toml``) maps e.g. ``person`` ->
``pedestrian`` and loads ``other vehicle`` as an ignored ``car``; that config
is the default here, so a ``bdd100k`` dataset needs no label config file.
"""

from __future__ import annotations

from vis4d.data.mapping import LabelConfig


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
