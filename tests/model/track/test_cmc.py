"""Camera motion: a known pan of a real frame is measured by sparse flow and by ECC; a new video starts afresh."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.model.track.cmc import CameraMotion

VIDEO = Path(__file__).resolve().parents[3] / "assets/bdd100k_sample/images/b1c66a42-6f7d68ca"
FRAME = VIDEO / "b1c66a42-6f7d68ca-0000001.jpg"


def window(dx: int, dy: int) -> np.ndarray:
    """A 320 x 180 RGB window of a real frame, moved by (dx, dy) pixels from (400, 300)."""
    image = cv2.imread(str(FRAME))[:, :, ::-1]
    return np.ascontiguousarray(image[300 + dy : 480 + dy, 400 + dx : 720 + dx])


@pytest.mark.parametrize("method", ["sparse_flow", "ecc"])
def test_a_pan_is_measured(method: str) -> None:
    camera = CameraMotion(method)  # type: ignore[arg-type]
    np.testing.assert_array_equal(camera(window(0, 0)), np.eye(2, 3))  # a video's first frame
    affine = camera(window(6, -4))  # the view moved right and up: the scene moved left and down
    np.testing.assert_allclose(affine[:, 2], [-6, 4], atol=0.5)
    np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.02)
    camera.reset()
    np.testing.assert_array_equal(camera(window(6, -4)), np.eye(2, 3))


def test_a_blank_frame_gives_the_identity_and_bad_methods_are_refused() -> None:
    camera = CameraMotion("sparse_flow")
    blank = np.zeros((90, 160, 3), dtype=np.uint8)
    camera(blank)
    np.testing.assert_array_equal(camera(blank), np.eye(2, 3))
    np.testing.assert_array_equal(CameraMotion("none")(blank), np.eye(2, 3))
    with pytest.raises(ValueError, match="unknown camera motion method"):
        CameraMotion("orb")  # type: ignore[arg-type]
