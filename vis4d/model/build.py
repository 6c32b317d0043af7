"""Which model class a config's ``model.type`` builds: one explicit table.

A new model is a class implementing :class:`~vis4d.model.base.Vis4DModel`
with a constructor ``(model_config, num_classes)``, a config class in
:mod:`vis4d.config.schema`, and one row here. (A new detector goes into
:mod:`vis4d.model.detectors` instead: every model takes any detector.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vis4d.model.base import Vis4DModel
from vis4d.model.detection import DetectionModel
from vis4d.model.track.bytetrack import ByteTrack
from vis4d.model.track.qdtrack import QDTrack

MODEL_TYPES: dict[str, Callable[[Any, int], Vis4DModel]] = {
    "detector": DetectionModel,
    "qdtrack": QDTrack,
    "bytetrack": ByteTrack,
}


def build_model(model_config: Any, num_classes: int) -> Vis4DModel:
    """Build the model that ``model_config.type`` names, for ``num_classes`` categories."""
    try:
        builder = MODEL_TYPES[model_config.type]
    except KeyError as err:
        raise KeyError(f"unknown model type {model_config.type!r}; known: {sorted(MODEL_TYPES)}") from err
    return builder(model_config, num_classes)
