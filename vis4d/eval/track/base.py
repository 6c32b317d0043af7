"""The small protocol every tracking metric follows, in TrackEval's shape, and what it declares about itself.

A metric computes *raw statistics per sequence* (one (video, class); arrays
whose leading axis is the sequence), knows how to *combine* raw statistics of
several sequences or classes into one (sums by default; HOTA weights its
association scores), and *finalizes* combined statistics into the reported
fields: ratios (fractions in [0, 1]) and integer counts.

It also declares everything the rest of vis4d shows of it, so that tables,
``metrics.json``, the summary line, ``vis4d report``, ``vis4d eval
--metrics`` and ``launch.best_metric`` need no list of their own:

* ``name``: the key in :data:`vis4d.eval.track.METRICS` (``--metrics``);
* ``title``: how tables name it;
* ``view``: the data it reads: ``"per_class"`` (:class:`~vis4d.eval.track.prepare.TrackingData`,
  each class matched on its own, as TrackEval does) or ``"class_agnostic"``
  (:class:`~vis4d.eval.track.prepare.AgnosticData`, every box of a frame
  meets every other, as TETA matches), or ``None`` for metrics that read only
  what both views share (``g_seq``, ``p_seq``, tracks per sequence), which
  then take the per-class view if it is built anyway;
* ``columns``: the fields the tables show (a subset of its fields);
* ``headline``: the fields of the summary (``metrics.json`` ``summary``, the
  validation line, the report's bars): a ratio ``X`` appears as ``mX`` (mean
  over classes) and ``X`` (all classes pooled), a count ``X`` pooled;
* ``default``: computed when no metric list is given.

A new metric is one new file with a :class:`TrackMetric` subclass and one
entry in :data:`vis4d.eval.track.METRICS`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy.typing as npt

Raw = dict[str, npt.NDArray[Any]]
View = Literal["per_class", "class_agnostic"]


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """What a metric may read besides the data: the match threshold and the benchmark's labelling conventions.

    ``exhaustive_labels``: every object of every class is labelled (BDD100K,
    COCO, MOTChallenge), so a prediction of class *c* where no box of *c* is
    is a classification error; TAO labels each video only for some classes.
    ``skip_frames_without_gt``: frames without any ground-truth box are not
    evaluated, their predictions dropped (TAO and COCO-style video files,
    where only annotated images are known).
    """

    iou_threshold: float = 0.5
    exhaustive_labels: bool = True
    skip_frames_without_gt: bool = False


class TrackMetric(ABC):
    """One family of tracking metrics (CLEAR, Identity, HOTA, TETA, counts)."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    view: ClassVar[View | None] = "per_class"
    default: ClassVar[bool] = True
    ratio_fields: ClassVar[tuple[str, ...]] = ()  # fractions in the result
    count_fields: ClassVar[tuple[str, ...]] = ()  # integer counts in the result
    columns: ClassVar[tuple[str, ...]] = ()  # shown in tables
    headline: ClassVar[tuple[str, ...]] = ()  # shown in the summary

    @abstractmethod
    def compute(self, data: Any, options: EvalOptions) -> Raw:
        """Raw statistics per sequence: each array's leading axis is the sequence (``data.num_seq``)."""

    def combine(self, raw: Mapping[str, npt.NDArray[Any]]) -> Raw:
        """Pool raw statistics over their leading axis (the sequences of a class, or classes): sums."""
        return {key: value.sum(axis=0) for key, value in raw.items()}

    @abstractmethod
    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """The reported ratio fields from pooled raw statistics."""

    def counts(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """The count fields as Python integers."""
        return {key: int(raw[key]) for key in self.count_fields}
