"""Tracking from Python: load a config and weights once, then run on video files, image folders or frames.

For people who script rather than run a command line::

    from vis4d import Tracker

    tracker = Tracker.from_config("configs/experiments/bytetrack/bytetrack_faster_rcnn_R_50_FPN_coco.toml")
    for frame in tracker.track("drive.mp4"):          # a video file, a folder of frames, or of videos
        for box, score, cls, track in zip(frame.boxes, frame.scores, frame.class_ids, frame.track_ids):
            print(frame.meta.name, tracker.categories[cls], track, score, box)

    tracker.reset()                                   # frames one at a time, e.g. from a camera
    frame = tracker.update(rgb_array)                 # H x W x 3 uint8, RGB

Every frame is a :class:`~vis4d.common.structures.FrameOutput`: boxes
``(N, 4)`` as x1, y1, x2, y2 in the original image's pixels, ``scores``,
``class_ids`` (indices into :attr:`Tracker.categories`) and ``track_ids``
(``None`` for a detector). This is the code ``predict`` runs: paths go
through the same data module as ``--input_dir`` and every batch through
:func:`~vis4d.engine.inference.infer_frames`, which the Lightning module's
steps call too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from vis4d.common.errors import ConfigError
from vis4d.common.structures import Batch, FrameMeta, FrameOutput
from vis4d.config.schema import Config
from vis4d.data.handler import frame_sample, make_collate
from vis4d.data.stream_source import is_stream_source
from vis4d.data.transforms import build_transforms
from vis4d.engine.inference import infer_frames
from vis4d.model.base import Vis4DModel

STREAM = "stream"  # the video name of frames given one at a time


class Tracker:
    """A model with its config, ready to run on videos; a detector works the same way (no track ids)."""

    def __init__(self, model: Vis4DModel, config: Config, device: str | torch.device | None = None) -> None:
        self.config = config
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.model.fold_batch_norm()  # in place: this model is for inference from now on
        handler = config.test_handler
        self.model.set_input_normalization(handler.mean, handler.std, handler.channel_order)
        self._transforms = build_transforms(config.test_handler.transforms)
        self._collate = make_collate(config.test_handler)
        self._stream_frames = 0

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str],
        weights: str | None = None,
        device: str | torch.device | None = None,
        cfg_options: str | None = None,
        strict: bool = True,
    ) -> Tracker:
        """Build the config's model and load ``weights`` (a path, URL or name; default: the config's model.weights).

        ``cfg_options`` overrides config values as on the command line
        (``"model.tracker.track_high_thresh=0.6,test_handler.batch_size=4"``).
        Loading is ``--weights``'s: any supported checkpoint layout, categories
        mapped by name, ``strict`` as ``--strict``.
        """
        from vis4d.config.fields import is_no_weights
        from vis4d.config.load import load_config
        from vis4d.model.build import build_model
        from vis4d.model.weights import load_weights

        cfg = load_config(Path(config), cfg_options)
        model = build_model(cfg.model, len(cfg.categories))
        if weights is not None and is_no_weights(weights):  # asked for none: random weights (timing, tests)
            return cls(model, cfg, device)
        source = weights or cfg.model.weights
        if not source:
            raise ConfigError(
                f"Tracker.from_config: {config} names no weights (model.weights) and none were given; "
                "pass weights=PATH, URL or name (vis4d weights list)"
            )
        load_weights(model, source, cfg.categories, strict if weights else False, "weights", cfg)
        return cls(model, cfg, device)

    @classmethod
    def from_exported(
        cls,
        config: str | os.PathLike[str],
        model: str | os.PathLike[str],
        backend: str = "onnxruntime",
        cfg_options: str | None = None,
    ) -> Tracker:
        """Run a ``vis4d export`` file (``backend`` ``"onnxruntime"`` or ``"torchscript"``) on the CPU.

        As ``predict --backend B --model FILE``: the config's data handler and
        tracker, the file's network; a config whose categories or network
        differ from the exported one is refused (:class:`ConfigError`).
        """
        from vis4d.config.load import load_config
        from vis4d.model.exported import BACKENDS, load_exported

        if backend not in BACKENDS:
            raise ConfigError(f"Tracker.from_exported: backend {backend!r} is not one of {', '.join(BACKENDS)}")
        cfg = load_config(Path(config), cfg_options)
        where = f"Tracker.from_exported: {config}"
        exported = load_exported(Path(model), backend, cfg.model, cfg.categories, where)
        return cls(exported, cfg, "cpu")

    @property
    def categories(self) -> list[str]:
        """Category names; ``class_ids`` index into them."""
        return list(self.config.categories)

    def reset(self) -> None:
        """Forget every track: the next frame given to :meth:`update` starts a new video."""
        self.model.reset_tracking()
        self._stream_frames = 0

    def update(self, image: np.ndarray | torch.Tensor, bgr: bool = False) -> FrameOutput:
        """Track one more frame of the current video: ``image`` is H x W x 3 uint8 (RGB; ``bgr=True`` for OpenCV's)."""
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise ConfigError(f"Tracker.update: expected an H x W x 3 uint8 image, got {array.shape} {array.dtype}")
        if bgr:
            array = array[:, :, ::-1]
        pixels = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
        index = self._stream_frames
        self._stream_frames += 1
        hw = (int(pixels.shape[1]), int(pixels.shape[2]))
        meta = FrameMeta(f"{STREAM}-{index:06d}", STREAM, index, "", hw, hw)
        (output,) = self._infer(self._collate([frame_sample(pixels, meta, self._transforms, index)]))
        return output

    def track(self, source: str | int | os.PathLike[str] | Iterable[np.ndarray]) -> Iterator[FrameOutput]:
        """Every frame of ``source``, in order: a video file, a folder of images or of videos, a live source, or arrays.

        A folder of subfolders (or of video files) is several videos; each
        starts with no tracks. A camera index (``0``) or a stream URL
        (``rtsp://...``) is read frame by frame as frames arrive, until it ends
        or its connection drops (stop early by leaving the loop). Arrays are one
        video, as with :meth:`update`.
        """
        if isinstance(source, int) or (isinstance(source, str) and is_stream_source(source)):
            yield from self._track_input(str(source))
            return
        if isinstance(source, (str, os.PathLike)):
            if not Path(source).exists():
                raise ConfigError(f"Tracker.track: not found: {source}")
            yield from self._track_input(str(source))
            return
        self.reset()
        for image in source:
            yield self.update(image)

    def _track_input(self, source: str) -> Iterator[FrameOutput]:
        from vis4d.engine.datamodule import Vis4DDataModule

        cache = Path(self.config.launch.cache_dir or Path(self.config.launch.work_dir) / ".cache" / "datasets")
        timeout = self.config.launch.stream_timeout
        datamodule = Vis4DDataModule(self.config, cache, input_dir=source, action="predict", stream_timeout=timeout)
        self.reset()
        for loader in datamodule.predict_dataloader():
            for batch in loader:
                yield from self._infer(batch)

    def _infer(self, batch: Batch) -> list[FrameOutput]:
        with torch.inference_mode():
            return infer_frames(self.model, batch.to(self.device))
