"""Evaluation: COCO box AP, CLEAR MOT / IDF1 / HOTA and TETA, matching pycocotools, TrackEval and SysCV's teta.

``evaluate_detection(gt, pred)`` and ``evaluate_tracking(gt, pred)`` take two
:class:`~vis4d.data.store.AnnotationStore` s; ``format_metrics_table`` prints
their results; ``vis4d eval`` (:mod:`vis4d.eval.cli`) does the same on files.
:data:`METRIC_NAMES` lists every scalar field the registered metrics report
(which of them a run computes is ``launch.metrics``); what tables, summaries
and reports show of each metric is its own declaration (:mod:`vis4d.eval.registry`).
"""

from vis4d.eval.detect import METRIC_NAMES as DETECTION_METRICS
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.tables import format_metrics_table
from vis4d.eval.track import METRIC_NAMES as TRACKING_METRICS
from vis4d.eval.track import evaluate_tracking

METRIC_NAMES: tuple[str, ...] = DETECTION_METRICS + TRACKING_METRICS

__all__ = [
    "DETECTION_METRICS",
    "METRIC_NAMES",
    "TRACKING_METRICS",
    "evaluate_detection",
    "evaluate_tracking",
    "format_metrics_table",
]
