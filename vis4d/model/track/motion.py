"""Constant-velocity Kalman filters on boxes, for many tracks at once: the motion models of the trackers.

Two families, each as its trackers' authors define it:

* :class:`BoxKalman`, the DeepSORT filter: 8-d state of a box and its
  velocity, process and measurement noise proportional to the box size
  (1/20 of it for positions, 1/160 for velocities). ``"xyah"`` (centre,
  aspect ratio, height; ByteTrack's, whose noise scales with the height and
  keeps the aspect ratio's fixed) or ``"xywh"`` (centre, width, height;
  BoT-SORT's, x noise by the width, y by the height). The numbers are those of
  ByteTrack's and BoT-SORT's ``kalman_filter.py``.
* :class:`SortKalman`, SORT's filter: 7-d state (centre, area ``s``, aspect
  ratio ``r``, and the velocities of centre and area), constant noise, the
  update in Joseph form (``filterpy``'s ``KalmanFilter`` as SORT, OC-SORT and
  Deep OC-SORT use it).

Every method takes stacked means (N, D) and covariances (N, D, D) and
returns new arrays, so a tracker predicts or updates all its tracks with one
call (float64; the results agree with the references' per-track loops to
rounding).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

STD_POSITION = 1.0 / 20
STD_VELOCITY = 1.0 / 160


def xyxy_to_xyah(boxes: FloatArray) -> FloatArray:
    """(N, 4) corners -> centre x, centre y, width / height, height (ByteTrack's operation order)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + width / 2, boxes[:, 1] + height / 2, width / height, height], axis=1)


def xyxy_to_xywh(boxes: FloatArray) -> FloatArray:
    """(N, 4) corners -> centre x, centre y, width, height (BoT-SORT's operation order)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + width / 2, boxes[:, 1] + height / 2, width, height], axis=1)


def xyah_to_xyxy(state: FloatArray) -> FloatArray:
    """(N, >=4) xyah states -> corners (x1, y1, x1 + w, y1 + h)."""
    state = np.asarray(state, dtype=np.float64).reshape(-1, state.shape[-1])
    width, height = state[:, 2] * state[:, 3], state[:, 3]
    x1, y1 = state[:, 0] - width / 2, state[:, 1] - height / 2
    return np.stack([x1, y1, x1 + width, y1 + height], axis=1)


def xywh_to_xyxy(state: FloatArray) -> FloatArray:
    """(N, >=4) xywh states -> corners (x1, y1, x1 + w, y1 + h)."""
    state = np.asarray(state, dtype=np.float64).reshape(-1, state.shape[-1])
    x1, y1 = state[:, 0] - state[:, 2] / 2, state[:, 1] - state[:, 3] / 2
    return np.stack([x1, y1, x1 + state[:, 2], y1 + state[:, 3]], axis=1)


def _diag(stds: FloatArray) -> FloatArray:
    """(N, D) standard deviations -> (N, D, D) diagonal covariances."""
    out = np.zeros((*stds.shape, stds.shape[-1]))
    index = np.arange(stds.shape[-1])
    out[:, index, index] = np.square(stds)
    return out


class BoxKalman:
    """The DeepSORT box filter in ``"xyah"`` (ByteTrack) or ``"xywh"`` (BoT-SORT) coordinates."""

    def __init__(self, state: Literal["xyah", "xywh"] = "xyah") -> None:
        self.state = state
        self.motion = np.eye(8) + np.eye(8, k=4)  # x' = x + v
        self.to_state = xyxy_to_xyah if state == "xyah" else xyxy_to_xywh
        self.to_corners = xyah_to_xyxy if state == "xyah" else xywh_to_xyxy

    def _stds(self, means: FloatArray, weight: float, aspect: float) -> FloatArray:
        """(N, 4) noise std of the four coordinates: ``weight`` x the box size (the aspect ratio: ``aspect``)."""
        if self.state == "xywh":
            width, height = means[:, 2], means[:, 3]
            return np.stack([weight * width, weight * height, weight * width, weight * height], axis=1)
        height = means[:, 3]
        return np.stack([weight * height, weight * height, np.full_like(height, aspect), weight * height], axis=1)

    def initiate(self, measurements: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Means and covariances of new tracks from their first boxes (in state coordinates): zero velocity."""
        means = np.concatenate([measurements, np.zeros_like(measurements)], axis=1)
        stds = np.concatenate(
            [self._stds(means, 2 * STD_POSITION, 1e-2), self._stds(means, 10 * STD_VELOCITY, 1e-5)], axis=1
        )
        return means, _diag(stds)

    def predict(self, means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
        """One frame ahead for N tracks: means (N, 8), covariances (N, 8, 8)."""
        if len(means) == 0:
            return means, covariances
        noise = _diag(np.concatenate([self._stds(means, STD_POSITION, 1e-2), self._stds(means, STD_VELOCITY, 1e-5)], 1))
        means = np.dot(means, self.motion.T)
        left = np.dot(self.motion, covariances).transpose((1, 0, 2))
        return means, np.dot(left, self.motion.T) + noise

    def project(self, means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The measurements the tracks expect and their covariances (state uncertainty + measurement noise)."""
        noise = _diag(self._stds(means, STD_POSITION, 1e-1))
        return means[:, :4], covariances[:, :4, :4] + noise

    def update(
        self, means: FloatArray, covariances: FloatArray, measurements: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Correct N tracks with their measured boxes (state coordinates)."""
        if len(means) == 0:
            return means, covariances
        projected_mean, projected_cov = self.project(means, covariances)
        gain_t = np.linalg.solve(projected_cov, covariances[:, :4, :])  # (N, 4, 8): K^T = S^-1 H P
        innovation = measurements - projected_mean
        new_means = means + np.einsum("ni,nij->nj", innovation, gain_t)
        new_covariances = covariances - np.einsum("nki,nkl,nlj->nij", gain_t, projected_cov, gain_t)
        return new_means, new_covariances

    def warp(self, means: FloatArray, covariances: FloatArray, affine: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Camera motion ``affine`` (2 x 3) applied to every coordinate pair of the state (BoT-SORT's ``multi_gmc``)."""
        if len(means) == 0:
            return means, covariances
        rotation = np.kron(np.eye(4), affine[:2, :2])
        means = means @ rotation.T
        means[:, :2] += affine[:2, 2]
        return means, rotation @ covariances @ rotation.T


def xyxy_to_xysr(boxes: FloatArray, epsilon: float = 0.0) -> FloatArray:
    """(N, 4) corners -> centre x, centre y, area, aspect ratio ``w / (h + epsilon)`` (SORT: 0, OC-SORT: 1e-6)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [boxes[:, 0] + width / 2.0, boxes[:, 1] + height / 2.0, width * height, width / (height + epsilon)], axis=1
    )


def xysr_to_xyxy(state: FloatArray) -> FloatArray:
    """(N, >=4) xysr states -> corners; NaN where area x ratio is negative (SORT drops such tracks)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.sqrt(state[:, 2] * state[:, 3])
        height = state[:, 2] / width
    return np.stack(
        [state[:, 0] - width / 2.0, state[:, 1] - height / 2.0, state[:, 0] + width / 2.0, state[:, 1] + height / 2.0],
        axis=1,
    )


class SortKalman:
    """SORT's filter on (x, y, s, r, vx, vy, vs), with SORT's constant noise (see the module docstring)."""

    def __init__(self) -> None:
        self.motion = np.eye(7)
        self.motion[0, 4] = self.motion[1, 5] = self.motion[2, 6] = 1.0
        self.process_noise = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.0001])
        self.measurement_noise = np.diag([1.0, 1.0, 10.0, 10.0])
        self.initial_covariance = np.diag([10.0, 10.0, 10.0, 10.0, 1e4, 1e4, 1e4])

    def initiate(self, measurements: FloatArray) -> tuple[FloatArray, FloatArray]:
        """New tracks at their first box (xysr), zero velocity, SORT's initial uncertainty."""
        means = np.concatenate([measurements, np.zeros((len(measurements), 3))], axis=1)
        return means, np.repeat(self.initial_covariance[None], len(measurements), axis=0)

    def predict(self, means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``x = F x``, ``P = F P F' + Q`` for N tracks."""
        if len(means) == 0:
            return means, covariances
        return means @ self.motion.T, self.motion @ covariances @ self.motion.T + self.process_noise

    def update(
        self, means: FloatArray, covariances: FloatArray, measurements: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Correct N tracks with measured xysr boxes; covariance in Joseph form, as filterpy computes it."""
        if len(means) == 0:
            return means, covariances
        residual = measurements - means[:, :4]
        system = covariances[:, :4, :4] + self.measurement_noise
        gain = covariances[:, :, :4] @ np.linalg.inv(system)  # (N, 7, 4)
        new_means = means + np.einsum("nij,nj->ni", gain, residual)
        identity_minus = np.repeat(np.eye(7)[None], len(means), axis=0)
        identity_minus[:, :, :4] -= gain
        new_covariances = identity_minus @ covariances @ identity_minus.transpose(0, 2, 1)
        new_covariances += gain @ self.measurement_noise @ gain.transpose(0, 2, 1)
        return new_means, new_covariances
