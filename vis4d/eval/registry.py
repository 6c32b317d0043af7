"""What each metric shows, in one place: tables, ``metrics.json``'s summary, the validation line and ``vis4d report``.

Every metric declares its fields (ratios and counts), its table columns and
its headline fields (:class:`Declared`); tracking metrics do so on their
:class:`~vis4d.eval.track.base.TrackMetric` class, registered in
:data:`vis4d.eval.track.METRICS`, detection here (:data:`DETECTION`). The
readers below look only at these declarations and at which fields a result
holds, so a new metric needs no change here.

Naming in the summary: a headline ratio ``X`` of tracking appears as ``mX``
(the mean over classes with ground truth, BDD100K's convention) and ``X``
(all classes pooled); a headline count ``X`` pooled. Detection headlines keep
their names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from vis4d.eval.detect import METRIC_NAMES as DETECTION_FIELDS
from vis4d.eval.track import METRICS


class Declared(Protocol):
    """The display declarations of one metric (or metric family)."""

    @property
    def title(self) -> str: ...  # noqa: D102
    @property
    def ratio_fields(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def count_fields(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def columns(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def headline(self) -> tuple[str, ...]: ...  # noqa: D102


@dataclasses.dataclass(frozen=True)
class _Detection:
    """COCO box AP's declarations."""

    title: str = "COCO AP"
    ratio_fields: tuple[str, ...] = DETECTION_FIELDS
    count_fields: tuple[str, ...] = ()
    columns: tuple[str, ...] = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")
    headline: tuple[str, ...] = ("AP", "AP50", "AP75")


DETECTION = _Detection()


def sections() -> dict[str, Sequence[Declared]]:
    """The declared metrics per ``metrics.json`` section, read from the registries at call time."""
    return {"det": (DETECTION,), "track": tuple(METRICS.values())}


def computed(section: str, result: Mapping[str, Any]) -> Iterator[Declared]:
    """The metrics of ``section`` whose fields ``result`` (one row: a class, the mean, ...) holds."""
    for metric in sections()[section]:
        fields = (*metric.ratio_fields, *metric.count_fields)
        if fields and fields[0] in result:
            yield metric


def ratio_names() -> frozenset[str]:
    """Every field that is a ratio (shown in percent), including the ``m`` names of tracking headlines."""
    names = {f for metrics in sections().values() for m in metrics for f in m.ratio_fields}
    return frozenset(names | {f"m{f}" for m in sections()["track"] for f in m.headline if f in m.ratio_fields})


def count_names() -> frozenset[str]:
    """Every field that is a count (shown as an integer)."""
    return frozenset(f for metrics in sections().values() for m in metrics for f in m.count_fields)


def headline_names() -> tuple[str, ...]:
    """Every headline field, detection's first: the metrics plotted first."""
    return tuple(f for metrics in sections().values() for m in metrics for f in m.headline)


def table_columns(section: str, result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Titles of the metrics ``result`` holds and their table columns: every ratio column, then every count column."""
    metrics = list(computed(section, result))
    columns = [c for m in metrics for c in m.columns]
    counts = count_names()
    titles = [m.title for m in metrics if m.columns]
    return titles, [c for c in columns if c not in counts] + [c for c in columns if c in counts]


def track_headline(track: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The tracking headline fields ``track`` holds: ratios (as in ``mean``/``overall``) and counts."""
    metrics = list(computed("track", track["overall"]))
    ratios = [f for m in metrics for f in m.headline if f in m.ratio_fields]
    counts = [f for m in metrics for f in m.headline if f in m.count_fields]
    return ratios, [f"m{f}" for f in ratios], counts
