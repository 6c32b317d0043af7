"""Image and video-frame decoding.

Images decode with ``torchvision.io.decode_image`` (libjpeg-turbo/libpng, EXIF
orientation applied). Frames of video files are addressed as
``"<video file>#<frame index>"``; each process keeps one open
``cv2.VideoCapture`` per video and reads forward, so a video is decoded one
frame at a time and never held in memory whole.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.io import ImageReadMode, read_file
from torchvision.io import decode_image as tv_decode_image

from vis4d.common.errors import DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


def is_video_frame(path: str) -> bool:
    """Whether ``path`` names a frame of a video file (``file#index``)."""
    base, sep, index = path.rpartition("#")
    return bool(sep) and index.isdigit() and Path(base).suffix.lower() in VIDEO_SUFFIXES


def decode_image(path: str) -> torch.Tensor:
    """RGB uint8 tensor (3, H, W) of an image file or a video frame; DataError if unreadable."""
    if is_video_frame(path):
        base, _, index = path.rpartition("#")
        return _VIDEOS.read(base, int(index))
    if not Path(path).is_file():
        raise DataError(f"image not found: {path}")
    try:
        return tv_decode_image(read_file(path), mode=ImageReadMode.RGB, apply_exif_orientation=True)
    except RuntimeError as err:
        raise DataError(f"cannot decode image {path} (truncated or corrupt?): {err}") from err


class _VideoReaders:
    """One open capture per video file in this process, read forward frame by frame."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._captures: dict[str, tuple[cv2.VideoCapture, int]] = {}

    def read(self, path: str, index: int) -> torch.Tensor:
        with self._lock:
            capture, next_index = self._captures.get(path, (None, -1))
            if capture is None:
                if not Path(path).is_file():
                    raise DataError(f"video not found: {path}")
                capture = cv2.VideoCapture(path)
                if not capture.isOpened():
                    raise DataError(f"cannot open video {path}")
                next_index = 0
            if index != next_index:
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if not ok:
                capture.release()
                self._captures.pop(path, None)
                raise DataError(f"cannot decode frame {index} of video {path}")
            if len(self._captures) > 8 and path not in self._captures:
                old_path, (old, _) = next(iter(self._captures.items()))
                old.release()
                del self._captures[old_path]
            self._captures[path] = (capture, index + 1)
        rgb = np.ascontiguousarray(frame[:, :, ::-1])
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous()


_VIDEOS = _VideoReaders()


def video_fps(path: str) -> float:
    """Frame rate of a video file (10 if the container does not say)."""
    capture = cv2.VideoCapture(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return fps if fps > 0 else 10.0
