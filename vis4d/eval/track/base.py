"""The small protocol every tracking metric follows, in TrackEval's shape.

A metric computes *raw statistics per sequence* (one (video, class); arrays
whose leading axis is the sequence), knows how to *combine* raw statistics of
several sequences or classes into one (sums by default; HOTA weights its
association scores), and *finalizes* combined statistics into the reported
fields: ratios (fractions in [0, 1]) and integer counts. A new metric is one
new file with a :class:`TrackMetric` subclass, listed in
:data:`vis4d.eval.track.METRICS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy.typing as npt

from vis4d.eval.track.prepare import TrackingData

Raw = dict[str, npt.NDArray[Any]]


class TrackMetric(ABC):
    """One family of tracking metrics (CLEAR, Identity, HOTA, counts)."""

    ratio_fields: ClassVar[tuple[str, ...]] = ()  # fractions in the result
    count_fields: ClassVar[tuple[str, ...]] = ()  # integer counts in the result

    @abstractmethod
    def compute(self, data: TrackingData, iou_threshold: float) -> Raw:
        """Raw statistics per sequence: each array's leading axis is the sequence (``data.num_seq``)."""

    def combine(self, raw: Mapping[str, npt.NDArray[Any]]) -> Raw:
        """Pool raw statistics over their leading axis (the sequences of a class, or classes): sums."""
        return {key: value.sum(axis=0) for key, value in raw.items()}

    @abstractmethod
    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """The reported fields from pooled raw statistics."""

    def counts(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """The count fields as Python integers."""
        return {key: int(raw[key]) for key in self.count_fields}
