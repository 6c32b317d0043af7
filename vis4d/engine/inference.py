"""One batch through a model to per-frame outputs in original pixels: what every inference path shares.

The Lightning module's validation/test/predict steps and the Python API
(:class:`vis4d.engine.api.Tracker`) call :func:`infer_frames`, so a frame
gets the same boxes from ``predict`` as from a script.
"""

from __future__ import annotations

from vis4d.common.structures import Batch, FrameOutput, frame_output
from vis4d.model.base import Vis4DModel


def infer_frames(model: Vis4DModel, batch: Batch) -> list[FrameOutput]:
    """One output per image in original pixels (a tracker's with its detector's own ``detections``)."""
    return [frame_output(meta, pred) for meta, pred in zip(batch.meta, model.predict(batch), strict=True)]
