"""Pictures and one MP4 per video from a stream of frames with predictions.

Frames arrive in inference order (the frames of a video contiguous). For each
frame :class:`FrameVisualizer` draws the boxes and writes

* ``out_dir/<video>/<frame stem>.jpg`` (``out_dir/<frame stem>.jpg`` for frames
  without a video name) when ``write_images``; video and frame names come from
  label files and are made safe file names (:func:`vis4d.common.names.safe_name`),
  so no name writes outside ``out_dir``;
* the frame into ``out_dir/<video>.mp4`` when ``write_video``: the MP4 is
  created on the video's first frame with that frame's size (later frames of
  another size are resized to it) and finished when the next video starts or
  on :meth:`FrameVisualizer.close`. Frames without a video name get no MP4.

JPEGs are encoded in memory and renamed into place, MP4s are atomic too (see
:mod:`vis4d.vis.video`), so a killed run leaves only complete files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vis4d.common.io import atomic_open
from vis4d.common.names import UniqueNames, safe_name
from vis4d.vis.draw import draw_predictions
from vis4d.vis.video import VideoWriter

JPEG_QUALITY = 90


def write_jpeg(path: Path, image_rgb: np.ndarray, quality: int = JPEG_QUALITY) -> None:
    """Encode an RGB image as JPEG and move it into place in one rename."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path} as JPEG")
    with atomic_open(path, "wb", sync=False) as handle:
        handle.write(encoded.tobytes())


class FrameVisualizer:
    """Draw predictions on frames and write them as JPEGs and per-video MP4s."""

    def __init__(
        self,
        out_dir: Path,
        categories: Sequence[str],
        write_images: bool = True,
        write_video: bool = True,
        fps: float = 10.0,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.out_dir = Path(out_dir)
        self.categories = tuple(categories)
        self.write_images = write_images
        self.write_video = write_video
        self.default_fps = float(fps)
        self._video_fps: dict[str, float] = {}
        self._current_video: str | None = None
        self._video_writer: VideoWriter | None = None
        self._written_videos: list[Path] = []
        self._video_names = UniqueNames()  # video names come from label files: made safe, kept distinct

    def set_video_fps(self, video_name: str, fps: float) -> None:
        """Use ``fps`` for ``video_name``'s MP4 (e.g. the source video's frame rate); call before its first frame."""
        if fps <= 0:
            raise ValueError(f"fps of video {video_name!r} must be positive, got {fps}")
        if video_name == self._current_video and self._video_writer is not None:
            raise ValueError(f"video {video_name!r} has already started; set its fps before its first frame")
        self._video_fps[video_name] = float(fps)

    def _finish_video(self) -> None:
        if self._video_writer is not None:
            self._written_videos.append(self._video_writer.close())
            self._video_writer = None

    def add_frame(
        self,
        image: np.ndarray,
        video_name: str,
        frame_name: str,
        boxes: npt.ArrayLike,
        class_ids: npt.ArrayLike,
        scores: npt.ArrayLike | None,
        track_ids: npt.ArrayLike | None,
        ignore_boxes: npt.ArrayLike | None = None,
    ) -> np.ndarray:
        """Draw one RGB frame's predictions, write its picture and append it to its video; returns the drawing."""
        drawn = draw_predictions(image, boxes, self.categories, class_ids, scores, track_ids, ignore_boxes)
        self.write_frame(drawn, video_name, frame_name)
        return drawn

    def write_frame(self, drawn: np.ndarray, video_name: str, frame_name: str) -> None:
        """Write an already drawn RGB frame (e.g. a side-by-side composition) as picture and video frame."""
        if video_name != self._current_video:
            self._finish_video()
            self._current_video = video_name
        video_dir = self.out_dir / self._video_names(video_name) if video_name else self.out_dir
        if self.write_images:
            write_jpeg(video_dir / f"{safe_name(Path(frame_name).stem, 'frame')}.jpg", drawn)
        if self.write_video and video_name:
            if self._video_writer is None:
                fps = self._video_fps.get(video_name, self.default_fps)
                height, width = drawn.shape[:2]
                self._video_writer = VideoWriter(
                    self.out_dir / f"{self._video_names(video_name)}.mp4", fps, (width, height)
                )
            width, height = self._video_writer.frame_size
            frame = drawn if drawn.shape[:2] == (height, width) else cv2.resize(drawn, (width, height))
            self._video_writer.write(frame)

    def close(self) -> list[Path]:
        """Finish the last video; returns every MP4 written."""
        self._finish_video()
        self._current_video = None
        return list(self._written_videos)

    def abort(self) -> None:
        """Drop the unfinished video (finished videos and pictures stay)."""
        if self._video_writer is not None:
            self._video_writer.abort()
            self._video_writer = None
        self._current_video = None
