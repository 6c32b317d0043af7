"""A tracker of the kit over a detection store, frame by frame, into prediction files: what ``vis4d track`` runs.

No model and no data loader: each frame's detections (boxes, scores and
classes of the store, in original pixels) go to the tracker exactly as a
model hands them over (:class:`~vis4d.model.track.video.VideoTracker`: the
tracker's candidates, appearance from ``reid`` where it is set, the tracker
reset at every new video), and the tracked boxes to the format writers, which
stream them into files renamed into place when complete. The tracker steps
through every frame of the store, frames without detections included.

Trackers that read pixels (camera-motion compensation of ``botsort`` and
``deepocsort``, re-identification crops) get the frame's original image,
decoded only for them (:func:`frame_image_paths` finds it).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis4d.common.errors import ConfigError, DataError
from vis4d.common.structures import FrameMeta, FrameOutput, FramePrediction
from vis4d.data.formats import PredictionWriter
from vis4d.data.io import VIDEO_SUFFIXES, decode_image
from vis4d.data.store import AnnotationStore
from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.video import VideoTracker


@dataclasses.dataclass
class TrackSummary:
    """What a run did: frames and videos stepped through, detections in, tracked boxes and tracks out."""

    frames: int
    videos: int
    detections: int
    boxes: int
    tracks: int
    seconds: float

    def line(self, tracker: str) -> str:
        """One line for the terminal."""
        rate = self.frames / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"{tracker}: {self.frames} frames of {self.videos} video{'s' * (self.videos != 1)}, "
            f"{self.detections} detections in, {self.boxes} tracked boxes in {self.tracks} tracks out "
            f"({self.seconds:.2f} s, {rate:.0f} frames/s)"
        )


def build_tracker(cfg: Any, reid: str | None = None) -> VideoTracker:
    """The tracker a validated tracker config section describes, with appearance from the network ``reid`` names.

    The network is loaded here: a wrong name is an error before any file is written.
    """
    tracker = VideoTracker(build_graph(cfg), reid)
    if reid is not None:
        tracker.load_reid("--reid")
    return tracker


def _video_frame_path(images: Path, video: str, single_video: bool) -> Path | None:
    """The video file of ``video`` under ``images`` (or ``images`` itself, a video file, for a single video)."""
    if images.is_file():
        return images if single_video else None
    for suffix in VIDEO_SUFFIXES:
        if (images / f"{video}{suffix}").is_file():
            return images / f"{video}{suffix}"
    return None


def frame_image_paths(store: AnnotationStore, images: Path | None) -> list[str]:
    """The image of every frame: under ``images`` (or the paths the detection file gave); one line if one is missing.

    ``images`` is a folder of ``<video>/<frame name>`` or ``<frame name>``
    files (a MOTChallenge root or sequence: ``[<video>/]img1/<frame name>``), a folder of
    ``<video>.mp4``-like video files, or one video file (a single video):
    frame N of a video file is its N-th frame (MOTChallenge frame N + 1).
    """
    videos = store.video_names[store.frame_video_ids()].astype(str).tolist()
    names = store.frame_names.astype(str).tolist()
    paths: list[str] = []
    for row, (video, name) in enumerate(zip(videos, names, strict=True)):
        if images is None:
            candidates = [Path(str(store.image_paths[row]))] if str(store.image_paths[row]) else []
        else:
            video_file = _video_frame_path(images, video, store.num_videos == 1)
            if video_file is not None:
                paths.append(f"{video_file.resolve()}#{int(store.frame_index[row])}")
                continue
            candidates = [images / video / name, images / name, images / video / "img1" / name, images / "img1" / name]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            where = ", ".join(str(p) for p in candidates) if candidates else "the detection file names no image"
            hint = "" if images is not None else "; give the frames with --images DIR"
            raise DataError(f"--images: no image for frame {name!r} of video {video!r} (looked for: {where}){hint}")
        paths.append(str(found))
    return paths


def _frame_meta(store: AnnotationStore, row: int, video: str, image_path: str, hw: tuple[int, int]) -> FrameMeta:
    return FrameMeta(
        name=str(store.frame_names[row]),
        video_name=video,
        frame_index=int(store.frame_index[row]),
        image_path=image_path,
        original_hw=hw,
        input_hw=hw,
        frame_row=row,
        image_id=int(store.image_ids[row]),
    )


def track_store(
    store: AnnotationStore,
    tracker: VideoTracker,
    writers: Sequence[PredictionWriter],
    image_paths: Sequence[str] | None = None,
) -> TrackSummary:
    """Run ``tracker`` over every frame of ``store`` in order, writing the tracked boxes with ``writers``.

    ``image_paths`` (one per frame) are decoded for trackers that read
    pixels; without them such a tracker is refused. Writers are closed at
    the end; on any error or interrupt their unfinished files are removed.
    """
    if tracker.needs_context and image_paths is None:
        raise ConfigError("--images: this tracker reads the frames' pixels (camera-motion compensation or --reid); "
                          "give the frames with --images DIR, or --tracker-options cmc_method=none")  # fmt: skip
    start = time.perf_counter()
    video_names = store.video_names[store.frame_video_ids()].astype(str)
    heights, widths = store.heights.astype(int), store.widths.astype(int)
    graph = tracker.graph
    track_ids: list[np.ndarray] = []
    try:
        for row in range(store.num_frames):
            box_rows = store.box_slice(row)
            frame = FramePrediction(
                torch.from_numpy(store.boxes[box_rows]),
                torch.from_numpy(store.scores[box_rows]),
                torch.from_numpy(store.class_ids[box_rows]),
            )
            hw = (int(heights[row]), int(widths[row]))
            context = None
            if tracker.needs_context and image_paths is not None:
                image = decode_image(image_paths[row]).permute(1, 2, 0).numpy()
                hw = (int(image.shape[0]), int(image.shape[1]))
                meta = _frame_meta(store, row, str(video_names[row]), image_paths[row], hw)
                context = FrameContext(meta.frame_index, meta.video_name, image, meta)
            else:
                path = image_paths[row] if image_paths is not None else str(store.image_paths[row])
                meta = _frame_meta(store, row, str(video_names[row]), path, hw)
            candidates = frame.select(graph.candidates(frame.boxes, frame.scores, frame.class_ids))
            tracked = tracker(meta, candidates, tracker.appearance(candidates, context), context)
            ids = tracked.track_ids.numpy() if tracked.track_ids is not None else np.zeros(0, np.int64)
            track_ids.append(ids)
            output = FrameOutput(meta, tracked.boxes.numpy(), tracked.scores.numpy(), tracked.class_ids.numpy(), ids)
            for writer in writers:
                writer.add_frame(output)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    all_ids = np.concatenate(track_ids) if track_ids else np.zeros(0, np.int64)
    return TrackSummary(store.num_frames, store.num_videos, store.num_boxes, len(all_ids),
                        len(np.unique(all_ids)), time.perf_counter() - start)  # fmt: skip


def close_writers(writers: Sequence[PredictionWriter]) -> list[Path]:
    """Finish every writer's files (renamed into place); the files written."""
    written: list[Path] = []
    for writer in writers:
        written.extend(writer.close())
    return written
