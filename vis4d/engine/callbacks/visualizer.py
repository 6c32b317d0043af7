"""Draws predictions onto the input frames (JPEG per frame and an MP4 per video)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl

from vis4d.common.structures import FrameOutput
from vis4d.data.io import decode_image, video_fps
from vis4d.data.store import AnnotationStore
from vis4d.engine.callbacks.base import FrameOutputConsumer
from vis4d.vis.writer import FrameVisualizer


class Visualizer(FrameOutputConsumer):
    """Writes ``<output_dir>/<video>/<frame>.jpg`` and ``<output_dir>/<video>.mp4``.

    Ignore regions of the ground truth (crowd, ignored classes) are drawn
    hatched when ground truth is available.
    """

    def __init__(
        self,
        output_dir: Path,
        categories: Sequence[str],
        stores: Sequence[tuple[str, AnnotationStore]],
        write_video: bool = True,
        fps: float = 10.0,
    ) -> None:
        self.output_dir = output_dir
        self.categories = list(categories)
        self.stores = [store for _, store in stores]
        self.write_video = write_video
        self.fps = fps
        self._vis: FrameVisualizer | None = None
        self._videos_seen: set[str] = set()

    def _start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._vis = FrameVisualizer(self.output_dir, self.categories, write_video=self.write_video, fps=self.fps)

    on_test_epoch_start = _start
    on_predict_epoch_start = _start

    def consume(self, outputs: list[FrameOutput], dataloader_idx: int) -> None:
        assert self._vis is not None
        store = self.stores[dataloader_idx]
        for out in outputs:
            meta = out.meta
            if "#" in meta.image_path and meta.video_name not in self._videos_seen:
                self._vis.set_video_fps(meta.video_name, video_fps(meta.image_path.rsplit("#", 1)[0]))
            self._videos_seen.add(meta.video_name)
            image = decode_image(meta.image_path).permute(1, 2, 0).numpy()
            ignore_boxes = None
            if meta.frame_row >= 0 and store.num_boxes:
                rows = store.box_slice(meta.frame_row)
                ignore_boxes = store.boxes[rows][store.ignore[rows]]
            self._vis.add_frame(
                image,
                meta.video_name,
                Path(meta.name).stem,
                out.boxes,
                out.class_ids,
                out.scores,
                out.track_ids,
                ignore_boxes=ignore_boxes if ignore_boxes is not None and len(ignore_boxes) else None,
            )

    def _finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._vis is not None:
            self._vis.close()
            self._vis = None
            print(f"visualizations: {self.output_dir}")

    on_test_epoch_end = _finish
    on_predict_epoch_end = _finish
