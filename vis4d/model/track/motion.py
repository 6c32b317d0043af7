"""A constant-velocity Kalman filter on (centre x, centre y, aspect ratio, height): SORT's and ByteTrack's motion model.

State ``(cx, cy, a, h, vcx, vcy, va, vh)``, one frame per step. Process and
measurement noise scale with the box height (``1/20`` of it for positions,
``1/160`` for velocities; the aspect ratio has fixed small noise), so tall
near objects may move more in pixels than small far ones. The numbers and the
order of the float64 operations are those of ByteTrack's reference
``kalman_filter.py``, so a tracker built on it reproduces the reference's
boxes to rounding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.linalg

FloatArray = npt.NDArray[np.float64]

STD_POSITION = 1.0 / 20
STD_VELOCITY = 1.0 / 160
_NDIM = 4


def _transition() -> FloatArray:
    matrix = np.eye(2 * _NDIM)
    for i in range(_NDIM):
        matrix[i, _NDIM + i] = 1.0
    return matrix


MOTION = _transition()  # x' = x + v
OBSERVATION = np.eye(_NDIM, 2 * _NDIM)  # z = position part of the state


def xyxy_to_xyah(boxes: FloatArray) -> FloatArray:
    """(N, 4) corners -> centre x, centre y, width / height, height (ByteTrack's operation order)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    tlwh = np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    return np.stack(
        [tlwh[:, 0] + tlwh[:, 2] / 2, tlwh[:, 1] + tlwh[:, 3] / 2, tlwh[:, 2] / tlwh[:, 3], tlwh[:, 3]], axis=1
    )


def xyah_to_xyxy(state: FloatArray) -> FloatArray:
    """(N, >=4) states -> corners (x1, y1, x1 + w, y1 + h)."""
    state = np.asarray(state, dtype=np.float64).reshape(-1, state.shape[-1])
    width = state[:, 2] * state[:, 3]
    height = state[:, 3]
    x1 = state[:, 0] - width / 2
    y1 = state[:, 1] - height / 2
    return np.stack([x1, y1, x1 + width, y1 + height], axis=1)


def initiate(measurement: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and covariance of a new track from its first box (xyah): zero velocity, uncertainty by height."""
    height = measurement[3]
    mean = np.r_[measurement, np.zeros(_NDIM)]
    std = [
        2 * STD_POSITION * height, 2 * STD_POSITION * height, 1e-2, 2 * STD_POSITION * height,
        10 * STD_VELOCITY * height, 10 * STD_VELOCITY * height, 1e-5, 10 * STD_VELOCITY * height,
    ]  # fmt: skip
    return mean, np.diag(np.square(std))


def predict(means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One step ahead for N tracks at once: means (N, 8), covariances (N, 8, 8)."""
    heights = means[:, 3]
    ones = np.ones_like(heights)
    std_position = [STD_POSITION * heights, STD_POSITION * heights, 1e-2 * ones, STD_POSITION * heights]
    std_velocity = [STD_VELOCITY * heights, STD_VELOCITY * heights, 1e-5 * ones, STD_VELOCITY * heights]
    squares = np.square(np.r_[std_position, std_velocity]).T
    noise = np.stack([np.diag(row) for row in squares]) if len(squares) else np.zeros((0, 8, 8))
    means = np.dot(means, MOTION.T)
    left = np.dot(MOTION, covariances).transpose((1, 0, 2))
    return means, np.dot(left, MOTION.T) + noise


def project(mean: FloatArray, covariance: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The measurement a track expects (xyah) and its covariance (state uncertainty + measurement noise)."""
    height = mean[3]
    noise = np.diag(np.square([STD_POSITION * height, STD_POSITION * height, 1e-1, STD_POSITION * height]))
    return np.dot(OBSERVATION, mean), np.linalg.multi_dot((OBSERVATION, covariance, OBSERVATION.T)) + noise


def update(mean: FloatArray, covariance: FloatArray, measurement: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Correct a track with a measured box (xyah): the Kalman gain solved through a Cholesky factor."""
    projected_mean, projected_cov = project(mean, covariance)
    factor = scipy.linalg.cho_factor(projected_cov, lower=True, check_finite=False)
    gain = scipy.linalg.cho_solve(factor, np.dot(covariance, OBSERVATION.T).T, check_finite=False).T
    innovation = measurement - projected_mean
    new_mean = mean + np.dot(innovation, gain.T)
    new_covariance = covariance - np.linalg.multi_dot((gain, projected_cov, gain.T))
    return new_mean, new_covariance
