"""Box math for the tracker graphs: pure functions on xyxy numpy arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]


def pairwise_iou(boxes1: FloatArray, boxes2: FloatArray, pixel_offset: float = 0.0) -> FloatArray:
    """(N, M) IoU of every box in ``boxes1`` (N, 4) with every box in ``boxes2`` (M, 4), xyxy.

    ``pixel_offset=1`` is the legacy convention of counting both end pixels
    (width ``x2 - x1 + 1``; ``cython_bbox``, py-faster-rcnn), which ByteTrack's
    reference tracker uses: boxes that merely touch then overlap.

    The same values as ``torchvision.ops.box_iou`` (a test checks it), on the
    numpy arrays the tracker graphs keep their bookkeeping in (see
    ``vis4d.model.track.memory``). It broadcasts whole coordinate columns
    rather than (N, 1, 2) corner slices, which is markedly faster on the
    small matrices of one tracking step (``docs/profiling.md``). Boxes
    without area give 0/0 = NaN like torchvision's.
    """
    x1a, y1a, x2a, y2a = boxes1.T
    x1b, y1b, x2b, y2b = boxes2.T
    widths = np.minimum(x2a[:, None], x2b) - np.maximum(x1a[:, None], x1b) + pixel_offset
    heights = np.minimum(y2a[:, None], y2b) - np.maximum(y1a[:, None], y1b) + pixel_offset
    intersection = np.maximum(widths, 0, out=widths) * np.maximum(heights, 0, out=heights)
    area1 = (x2a - x1a + pixel_offset) * (y2a - y1a + pixel_offset)
    area2 = (x2b - x1b + pixel_offset) * (y2b - y1b + pixel_offset)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou: FloatArray = intersection / (area1[:, None] + area2 - intersection)
    return iou
