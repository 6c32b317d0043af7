"""The headline numbers of an evaluation: the ``summary`` of ``metrics.json`` and the validation line.

``{"det": ..., "track": ...}`` holds every metric per class; someone who
wants to know "how good is it" should not have to know which of the nested
numbers QDTrack's and BDD100K's papers quote. :func:`summarize_metrics` picks
them, under names that say what they are:

* ``AP``, ``AP50``, ``AP75``: COCO box AP, and ``det_boxes`` says of which
  boxes: ``"detector"`` (a tracking model's detector output, before the
  tracker: the AP tracking papers report), ``"tracker"`` (the boxes the
  tracker output, scores >= ``track_high_thresh``: a capped AP) or
  ``"predictions"`` (a detector's output, or a file scored by ``vis4d eval``);
* for every tracking metric computed, its headline fields
  (:mod:`vis4d.eval.registry`): ``mMOTA``, ``mIDF1``, ``mHOTA`` (``mTETA``
  with TETA), averaged over the classes with ground truth (BDD100K's headline
  numbers); ``MOTA``, ``IDF1``, ``HOTA`` (``TETA``), the same over all classes
  pooled (the MOTChallenge convention; equal to the means on one class);
  ``IDSW``: identity switches over all classes, an integer.

Ratios are fractions in [0, 1] (None where undefined), as everywhere in
``metrics.json``; text shows them in percent (:func:`format_summary_line`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from vis4d.eval.registry import DETECTION, count_names, ratio_names, track_headline

DetBoxes = Literal["detector", "tracker", "predictions"]

# What each det_boxes value means, for table titles and the validation line.
DET_BOXES_LABELS: dict[str, str] = {
    "detector": "the detector's output, before the tracker",
    "tracker": "the tracker's output (scores >= track_high_thresh)",
    "predictions": "the predictions",
}


def summarize_metrics(metrics: Mapping[str, Any], det_boxes: DetBoxes = "predictions") -> dict[str, Any]:
    """The headline numbers of ``{"det": ..., "track": ...}`` (module docstring); absent sections are left out."""
    summary: dict[str, Any] = {}
    det = metrics.get("det")
    if det is not None:
        summary["det_boxes"] = det_boxes
        summary.update({key: det.get(key) for key in DETECTION.headline})
    track = metrics.get("track")
    if track is not None:
        ratios, means, counts = track_headline(track)
        summary.update({m: track["mean"].get(key) for m, key in zip(means, ratios, strict=True)})
        summary.update({key: track["overall"].get(key) for key in ratios})
        summary.update({key: int(track["overall"][key]) for key in counts})
    return summary


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100.0 * float(value):.1f}"


def format_summary_line(summary: Mapping[str, Any]) -> str:
    """``AP 41.2  AP50 70.3  ...  mMOTA 60.1  mIDF1 ...  IDSW 12 (%; ...)``: ratios in percent, counts as integers.

    Shown: detection headlines, tracking class means, tracking counts. The
    note in brackets says what the numbers are: which boxes AP is of, and that
    the ``m`` metrics are means over classes.
    """
    ratios, counts = ratio_names(), count_names()
    means = [k for k in summary if k.startswith("m") and k in ratios]
    keys = [k for k in DETECTION.headline if k in summary] + means + [k for k in summary if k in counts]
    cells = [f"{k} {summary[k]}" if k in counts else f"{k} {_percent(summary[k])}" for k in keys]
    notes = ["ratios in %"]
    if "det_boxes" in summary:
        notes.append(f"AP of {DET_BOXES_LABELS[summary['det_boxes']]}")
    if means:
        notes.append(f"{'/'.join(means)}: mean over classes")
    return "  ".join(cells) + f"  ({'; '.join(notes)})"
