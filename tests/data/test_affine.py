"""The affine's matrix (Megvii's and ByteTrack's geometry) and its box rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vis4d.config.schema import AffineConfig
from vis4d.data.affine import AffineParams, affine_matrix, keep_candidates, sample_affine, warp_boxes


def test_megvii_matrix_is_rotation_scale_shear_then_translation() -> None:
    params = AffineParams(angle=30.0, scale=0.5, shear=(0.0, 0.0), translate=(0.1, -0.05))
    m = affine_matrix(params, (64, 96), (128, 192), centre=False)
    c, s = 0.5 * math.cos(math.radians(30)), 0.5 * math.sin(math.radians(30))
    # OpenCV's rotation (counter-clockwise in image coordinates, y down) about the origin, then the shift.
    np.testing.assert_allclose(m, [[c, s, 0.1 * 96], [-s, c, -0.05 * 64]], atol=1e-12)


def test_bytetrack_matrix_moves_the_canvas_centre_to_the_output_centre() -> None:
    params = AffineParams(angle=17.0, scale=1.3, shear=(1.5, -2.0), translate=(0.0, 0.0))
    m = affine_matrix(params, (64, 96), (128, 192), centre=True)
    assert m @ np.array([96.0, 64.0, 1.0]) == pytest.approx([48.0, 32.0])
    shifted = affine_matrix(AffineParams(17.0, 1.3, (1.5, -2.0), (0.1, 0.2)), (64, 96), (128, 192), centre=True)
    assert shifted @ np.array([96.0, 64.0, 1.0]) == pytest.approx([48.0 + 9.6, 32.0 + 12.8])


def test_boxes_enclose_the_warped_corners_and_are_clipped() -> None:
    m = affine_matrix(AffineParams(90.0, 1.0, (0.0, 0.0), (0.0, 0.0)), (50, 50), (100, 100), centre=True)
    # 90 degrees about the centre: a 10 x 20 box becomes 20 x 10
    (box,) = warp_boxes(np.array([[45.0, 40.0, 55.0, 60.0]]), m, (50, 50))
    assert box == pytest.approx([15.0, 20.0, 35.0, 30.0])
    (clipped,) = warp_boxes(np.array([[90.0, 90.0, 120.0, 120.0]]), m, (50, 50))
    assert clipped[2] == 50 or clipped[3] == 50 or clipped[0] == 0 or clipped[1] == 0


def test_candidate_rules_are_off_by_default_and_bytetracks_when_set() -> None:
    before = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 40, 2]], dtype=float)
    after = np.array([[0, 0, 10, 10], [0, 0, 1.5, 10], [0, 0, 4, 4], [0, 0, 40, 1.9]], dtype=float)
    assert keep_candidates(before, after, 1.0, AffineConfig()).all()
    bytetrack = AffineConfig(min_size=2, min_area_ratio=0.2, max_aspect_ratio=20)
    # too narrow; only 16 % of its area left; thinner than 2 pixels
    assert keep_candidates(before, after, 1.0, bytetrack).tolist() == [True, False, False, False]


def test_draws_stay_in_their_ranges() -> None:
    cfg = AffineConfig(degrees=5, translate=0.2, scale=(0.8, 1.2), shear=1)
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = sample_affine(cfg, rng)
        assert abs(p.angle) <= 5 and 0.8 <= p.scale <= 1.2 and max(map(abs, p.shear)) <= 1
        assert max(map(abs, p.translate)) <= 0.2
