"""The model interface and the registry that builds a model from its config.

Every model is an ``nn.Module`` with two entry points:

* ``loss(batch) -> dict[str, Tensor]`` for training (each value a scalar; the
  trainer sums them and logs each);
* ``predict(batch) -> list[FramePrediction]`` for inference, boxes in input
  pixels (the engine maps them back to original pixels).

Trackers keep their state inside the model, keyed by video: ``predict`` reads
``batch.meta[i].video_name`` and resets when a new video starts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from vis4d.common.structures import Batch, FramePrediction

ModelBuilder = Callable[[Any, int], "Vis4DModel"]
_REGISTRY: dict[str, ModelBuilder] = {}


class Vis4DModel(nn.Module, ABC):
    """Base class of all vis4d models."""

    @abstractmethod
    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Training losses on a batch (tracking models also read ``batch.refs``)."""

    @abstractmethod
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Per-image predictions in input pixels."""

    def reset_tracking(self) -> None:
        """Forget all tracker state (no-op for detectors)."""


def register_model(type_name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register a builder ``(model_config, num_classes) -> Vis4DModel`` under ``type``."""

    def wrap(builder: ModelBuilder) -> ModelBuilder:
        _REGISTRY[type_name] = builder
        return builder

    return wrap


def build_model(model_config: Any, num_classes: int) -> Vis4DModel:
    """Build the model that ``model_config.type`` names."""
    import vis4d.model.detect.faster_rcnn  # noqa: F401  (registers "faster_rcnn")
    import vis4d.model.track.qdtrack  # noqa: F401  (registers "qdtrack")

    try:
        builder = _REGISTRY[model_config.type]
    except KeyError as err:
        raise KeyError(f"unknown model type {model_config.type!r}; known: {sorted(_REGISTRY)}") from err
    return builder(model_config, num_classes)
