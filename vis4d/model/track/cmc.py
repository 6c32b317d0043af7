"""Camera-motion compensation: the image motion between consecutive frames as a 2 x 3 affine matrix.

A moving camera moves every object in the image; a motion model that does
not know it predicts where an object *would* be with a still camera, and
IoU matching fails at once for small or fast-panning views. BoT-SORT and
Deep OC-SORT estimate the camera's motion from the background and move every
track's state with it before matching.

``"sparse_flow"`` is BoT-SORT's global motion compensation (its ``GMC``
class, ``sparseOptFlow``), the same OpenCV calls with the same parameters:
grey image at half size, up to 1000 Shi-Tomasi corners, pyramidal
Lucas-Kanade flow from the previous frame's corners, and a RANSAC fit of a
similarity transform (rotation, uniform scale, translation); translations
are scaled back to full-size pixels. Deep OC-SORT's authors evaluated with
this very estimate (BoT-SORT's precomputed files), so both trackers use it.

``"ecc"`` aligns the blurred half-size grey frames with OpenCV's enhanced
correlation coefficient (a Euclidean transform: rotation and translation,
up to 5000 iterations). BoT-SORT's code aligns every frame to the *first*
one and leaves the translation in half-size pixels; here each frame is
aligned to the previous one and the translation is in full-size pixels,
which is what compensation needs.

The matrix maps a point of the previous frame to the current one; it is the
identity for a video's first frame, when too few corners are found or
tracked (at most 4), and when the fit fails.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Grey = npt.NDArray[Any]  # a 2-d uint8 image (OpenCV's stubs type images loosely)
CMCMethod = Literal["sparse_flow", "ecc", "none"]


class CameraMotion:
    """Stateful per-video estimate of frame-to-frame camera motion (see the module docstring)."""

    def __init__(self, method: CMCMethod = "sparse_flow", downscale: int = 2) -> None:
        if method not in ("sparse_flow", "ecc", "none"):
            raise ValueError(f"unknown camera motion method {method!r}; known: sparse_flow, ecc, none")
        self.method = method
        self.downscale = max(1, int(downscale))
        self._previous: Grey | None = None
        self._previous_corners: npt.NDArray[Any] | None = None

    def reset(self) -> None:
        """Forget the previous frame (a new video)."""
        self._previous = None
        self._previous_corners = None

    def __call__(self, image: npt.NDArray[np.uint8]) -> FloatArray:
        """The 2 x 3 affine matrix from the previous frame to ``image`` (H x W x 3 uint8 RGB)."""
        if self.method == "none":
            return np.eye(2, 3)
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        height, width = grey.shape
        if self.method == "ecc":
            if self.downscale > 1:
                grey = cv2.GaussianBlur(grey, (3, 3), 1.5)
        if self.downscale > 1:
            grey = cv2.resize(grey, (width // self.downscale, height // self.downscale))
        if self.method == "ecc":
            return self._ecc(grey)
        return self._sparse_flow(grey)

    def _sparse_flow(self, grey: Grey) -> FloatArray:
        import cv2

        corners = cv2.goodFeaturesToTrack(
            grey, mask=None, maxCorners=1000, qualityLevel=0.01, minDistance=1, blockSize=3,
            useHarrisDetector=False, k=0.04,
        )  # fmt: skip
        previous, previous_corners = self._previous, self._previous_corners
        self._previous, self._previous_corners = grey, corners
        if previous is None or previous_corners is None or len(previous_corners) == 0:
            return np.eye(2, 3)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, previous_corners, None)
        good = status.reshape(-1).astype(bool)
        before, after = previous_corners[good], moved[good]
        if len(before) <= 4:
            return np.eye(2, 3)
        affine, _ = cv2.estimateAffinePartial2D(before, after, method=cv2.RANSAC)
        if affine is None:
            return np.eye(2, 3)
        affine = np.asarray(affine, dtype=np.float64)
        affine[:, 2] *= self.downscale
        return affine

    def _ecc(self, grey: Grey) -> FloatArray:
        import cv2

        previous, self._previous = self._previous, grey
        if previous is None:
            return np.eye(2, 3)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 5000, 1e-6)
        warp: npt.NDArray[Any] = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(previous, grey, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 1)  # type: ignore[call-overload]
        except cv2.error:
            return np.eye(2, 3)
        affine = np.asarray(warp, dtype=np.float64)
        affine[:, 2] *= self.downscale
        return affine
