"""Evaluation: COCO box AP and CLEAR MOT / IDF1 / HOTA, matching pycocotools and TrackEval.

``evaluate_detection(gt, pred)`` and ``evaluate_tracking(gt, pred)`` take two
:class:`~vis4d.data.store.AnnotationStore` s; ``format_metrics_table`` prints
their results; ``vis4d eval`` (:mod:`vis4d.eval.cli`) does the same on files.
"""

from vis4d.eval.detect import evaluate_detection
from vis4d.eval.report import format_metrics_table
from vis4d.eval.track import evaluate_tracking

__all__ = ["evaluate_detection", "evaluate_tracking", "format_metrics_table"]
