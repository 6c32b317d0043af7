"""Vis4D 1.0 checkpoints (its FasterRCNNQDTrack and Faster R-CNN), converted to vis4d's names."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.model.weights.checkpoint import Checkpoint


def is_vis4d_v1(state: dict[str, Tensor]) -> bool:
    """Vis4D 1.0's detector keys (filled in with the layout's converter)."""
    return any(key.startswith("faster_rcnn.") for key in state)


def convert(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """Not implemented yet: refuse clearly."""
    raise ConfigError(f"{file_name}: Vis4D 1.0 checkpoints cannot be converted yet")
