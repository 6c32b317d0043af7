"""Evaluation callback: gathers per-frame predictions and computes the metrics.

Predictions are kept as compact numpy arrays per frame (not Python objects per
box) and turned into an :class:`AnnotationStore` aligned with the ground truth
at the end of the epoch (:meth:`AnnotationStore.with_predictions`); the
evaluators in :mod:`vis4d.eval` do the rest.

A tracking model's outputs carry its detector's own detections: detection AP
is computed on those (what the QDTrack papers report; the tracker keeps only
detections above ``track_high_thresh``, which would cap AP and AR), tracking
metrics on the tracked boxes. ``metrics.json`` says which in its
``summary`` (:mod:`vis4d.eval.summary`), and so do the table and the
validation line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch.distributed as dist

from vis4d.common.io import atomic_write_json
from vis4d.common.structures import FrameOutput
from vis4d.data.store import AnnotationStore
from vis4d.engine.callbacks.base import FrameOutputConsumer
from vis4d.eval.conventions import TrackingConventions
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.summary import DetBoxes, format_summary_line, summarize_metrics
from vis4d.eval.tables import format_metrics_table
from vis4d.eval.track import evaluate_tracking

log = logging.getLogger(__name__)


def flatten_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Scalar metrics for logging: det AP keys and the class-averaged tracking metrics.

    The names stay those of ``metrics.json``'s ``det`` and ``track.mean``
    (``MOTA`` is the class mean, mMOTA), so ``launch.best_metric`` names a
    logged ``val/<key>``; TensorBoard stores every value as a float.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.get("det", {}).items():
        if isinstance(value, (int, float)):
            flat[key] = float(value)
    for key, value in metrics.get("track", {}).get("mean", {}).items():
        if isinstance(value, (int, float)):
            flat[key] = float(value)
    return flat


class Evaluator(FrameOutputConsumer):
    """Computes detection (and, for trackers, tracking) metrics on the evaluation datasets."""

    stages = ("validate", "test")

    def __init__(
        self,
        gt_stores: Sequence[tuple[str, AnnotationStore]],
        output_dir: Path | None = None,
        conventions: Sequence[TrackingConventions] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> None:
        self.gt_stores = list(gt_stores)
        self.output_dir = output_dir
        # Per dataset, the benchmark's ignore-region rule and super-categories (vis4d.eval.conventions).
        self.conventions = list(conventions) if conventions else [TrackingConventions()] * len(self.gt_stores)
        self.metrics = list(metrics) if metrics is not None else None  # tracking metrics (launch.metrics)
        self._outputs: dict[int, list[FrameOutput]] = {}
        self.last_metrics: dict[str, Any] = {}

    def _reset(self) -> None:
        self._outputs = {i: [] for i in range(len(self.gt_stores))}

    def consume(self, outputs: Any, dataloader_idx: int) -> None:
        self._outputs.setdefault(dataloader_idx, []).extend(outputs)

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Start collecting."""
        self._reset()

    on_test_epoch_start = on_validation_epoch_start

    def _gathered(self, idx: int) -> list[FrameOutput]:
        local = self._outputs.get(idx, [])
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return local
        parts: list[list[FrameOutput]] = [[] for _ in range(dist.get_world_size())]
        dist.all_gather_object(parts, local)
        return [o for part in parts for o in part]

    def compute(self) -> dict[str, Any]:
        """Metrics per dataset: ``{"det": ..., "track": ..., "summary": ...}`` (tracking only if outputs carry ids)."""
        results: dict[str, Any] = {}
        for idx, (name, gt) in enumerate(self.gt_stores):
            outputs = self._gathered(idx)
            tracked = any(o.track_ids is not None for o in outputs)
            # A tracker's AP is its detector's, on the detections it made before the tracker's score threshold.
            own = [o.detections for o in outputs if o.detections is not None]
            det_boxes: DetBoxes = "predictions"
            if tracked:
                det_boxes = "detector" if outputs and len(own) == len(outputs) else "tracker"
            det_outputs = own if det_boxes == "detector" else outputs
            metrics: dict[str, Any] = {"det": evaluate_detection(gt, gt.with_predictions(det_outputs))}
            if tracked:
                metrics["track"] = evaluate_tracking(
                    gt, gt.with_predictions(outputs), metrics=self.metrics, **self.conventions[idx].as_kwargs()
                )
            metrics["summary"] = summarize_metrics(metrics, det_boxes)
            results[name] = metrics
        return results

    def _finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if trainer.sanity_checking:
            return
        results = self.compute()
        first: dict[str, Any] = next(iter(results.values()), {})
        for key, value in flatten_metrics(first).items():
            pl_module.log(f"{stage}/{key}", value, rank_zero_only=True, sync_dist=False)
        self.last_metrics = results
        if stage == "val" and trainer.is_global_zero and "summary" in first:
            summary = format_summary_line(first["summary"])
            print(f"[val epoch {trainer.current_epoch} step {trainer.global_step}] {summary}", flush=True)
        if stage == "test" and trainer.is_global_zero:
            for name, metrics in results.items():
                print(f"\nMetrics on {name}:\n{format_metrics_table(metrics)}")
                print(f"summary: {format_summary_line(metrics['summary'])}")
            if self.output_dir is not None:
                payload = first if len(results) == 1 else results
                path = self.output_dir / "metrics.json"
                atomic_write_json(path, payload, indent=2)
                print(f"metrics: {path}")

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Compute and log ``val/<metric>``."""
        self._finish(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Compute, log, print and write ``RUN/test/metrics.json``."""
        self._finish(trainer, pl_module, "test")
