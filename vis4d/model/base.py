"""The model interface every vis4d model implements.

Every model is an ``nn.Module`` with two entry points:

* ``loss(batch) -> dict[str, Tensor]`` for training (each value a scalar; the
  trainer sums them and logs each);
* ``predict(batch) -> list[FramePrediction]`` for inference, boxes in input
  pixels (the engine maps them back to original pixels).

Trackers keep their state inside the model, keyed by video: ``predict`` reads
``batch.meta[i].video_name`` and resets when a new video starts. Which config
``type`` builds which class is the table in :mod:`vis4d.model.build`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from torch import Tensor, nn

from vis4d.common.structures import Batch, FramePrediction


class Vis4DModel(nn.Module, ABC):
    """Base class of all vis4d models."""

    @abstractmethod
    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Training losses on a batch (tracking models also read ``batch.refs``)."""

    @abstractmethod
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Per-image predictions in input pixels."""

    def reset_tracking(self) -> None:
        """Forget all tracker state (no-op for detectors)."""

    def tracking_state(self, after_video: str) -> dict[str, int] | None:
        """What tracking carries from the end of ``after_video`` into the next video (``{}`` for a detector).

        A tracker's next track id (see :meth:`VideoTracker.state_after`);
        None if that video is no longer known. The engine saves it with the
        predictions of each finished video, so that ``predict --resume``
        continues with the ids the uninterrupted run would give.
        """
        tracker = getattr(self, "tracker", None)
        return {} if tracker is None else tracker.state_after(after_video)

    def restore_tracking_state(self, state: dict[str, int]) -> None:
        """Continue tracking after a video whose :meth:`tracking_state` was ``state``."""
        tracker = getattr(self, "tracker", None)
        if tracker is not None:
            tracker.restore_state(state)

    def set_input_normalization(self, mean: Sequence[float], std: Sequence[float], channel_order: str) -> None:
        """How the data handler normalised the input images; trackers that read pixels undo it (no-op otherwise)."""
        from vis4d.model.track.context import Normalization

        tracker = getattr(self, "tracker", None)
        if tracker is not None and hasattr(tracker, "normalization"):
            tracker.normalization = Normalization(tuple(mean), tuple(std), channel_order)  # type: ignore[arg-type]

    def set_no_aug_phase(self, active: bool) -> None:
        """Whether the training recipe's last epochs (``train_handler.no_aug_epochs``) have started.

        The trainer calls this at every training epoch's start; each detector
        of the model hears it (:meth:`Detector.set_no_aug_phase`: YOLOX adds
        its L1 loss, as Megvii's trainer does when it stops mosaic).
        """
        from vis4d.model.detect.base import Detector

        for module in self.modules():
            if isinstance(module, Detector):
                module.set_no_aug_phase(active)

    def fold_batch_norm(self) -> int:
        """Fold the backbones' batch norms into their convolutions for faster inference; returns how many.

        The engine calls this before test and predict, and the Python API when
        it takes a model: the outputs stay those of the eval-mode model, but
        the model can no longer train (see :meth:`Detector.fold_batch_norm`).
        """
        from vis4d.model.detect.base import Detector

        return sum(module.fold_batch_norm() for module in self.modules() if isinstance(module, Detector))
