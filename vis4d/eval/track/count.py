"""TrackEval's Count: how many ground-truth and predicted boxes and tracks were evaluated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.prepare import AgnosticData, TrackingData


class Count(TrackMetric):
    """num_gt_dets, num_pred_dets, num_gt_tracks, num_pred_tracks (after ignore-region removal)."""

    name = "count"
    title = "Count"
    view = None  # either view: counts after its ignore-region removal

    count_fields = ("num_gt_dets", "num_pred_dets", "num_gt_tracks", "num_pred_tracks")

    def compute(self, data: TrackingData | AgnosticData, options: EvalOptions) -> Raw:
        """Counts per sequence."""
        return {
            "num_gt_dets": data.seq_sum(data.g_seq),
            "num_pred_dets": data.seq_sum(data.p_seq),
            "num_gt_tracks": data.seq_sum(data.g_track_seq()),
            "num_pred_tracks": data.seq_sum(data.p_track_seq()),
        }

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """No ratios: the counts are the result."""
        return {}
