"""Image and video-frame decoding.

Images decode with ``torchvision.io.decode_image`` (libjpeg-turbo/libpng/
libwebp, EXIF orientation applied); formats torchvision does not read (BMP,
TIFF) fall back to OpenCV, which also applies EXIF orientation. A truncated or
corrupt file raises :class:`DataError` naming it instead of yielding a
half-grey picture.

Frames of video files are addressed as ``"<video file>#<frame index>"``; each
process keeps one open ``cv2.VideoCapture`` per video (a few at most) and
reads forward, seeking only when the requested frame is not the next one, so a
video is decoded one frame at a time and never held in memory whole.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.io import ImageReadMode, read_file
from torchvision.io import decode_image as tv_decode_image

from vis4d.common.errors import DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
# File signatures torchvision's decode_image understands; anything else goes to OpenCV.
_TORCHVISION_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_MAX_OPEN_VIDEOS = 8


def is_video_frame(path: str) -> bool:
    """Whether ``path`` names a frame of a video file (``file#index``)."""
    base, sep, index = path.rpartition("#")
    return bool(sep) and index.isdigit() and Path(base).suffix.lower() in VIDEO_SUFFIXES


def split_video_frame(path: str) -> tuple[str, int]:
    """(video file, frame index) of a ``"<file>#<index>"`` path."""
    base, _, index = path.rpartition("#")
    return base, int(index)


def _torchvision_reads(data: torch.Tensor) -> bool:
    head = bytes(data[:12].tolist())
    return head.startswith(_TORCHVISION_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def decode_image(path: str) -> torch.Tensor:
    """RGB uint8 tensor (3, H, W) of an image file or a video frame; DataError if unreadable."""
    if is_video_frame(path):
        video, index = split_video_frame(path)
        return _VIDEOS.read(video, index)
    file = Path(path)
    if file.is_dir():
        raise DataError(f"image {path} is a directory, expected an image file")
    if not file.is_file():
        raise DataError(f"image not found: {path}")
    if file.stat().st_size == 0:
        raise DataError(f"cannot decode image {path}: the file is empty (0 bytes)")
    try:
        data = read_file(path)
    except RuntimeError as err:
        raise DataError(f"cannot read image {path}: {_library_reason(err)}") from err
    if _torchvision_reads(data):
        try:
            image: torch.Tensor = tv_decode_image(data, mode=ImageReadMode.RGB, apply_exif_orientation=True)
        except RuntimeError as err:
            raise DataError(f"cannot decode image {path} (truncated or corrupt?): {_library_reason(err)}") from err
        return image
    try:
        bgr = cv2.imdecode(data.numpy(), cv2.IMREAD_COLOR)
    except cv2.error:
        bgr = None
    if bgr is None:
        raise DataError(f"cannot decode image {path}: unknown format or corrupt file")
    return _bgr_to_tensor(bgr)


def _library_reason(error: Exception) -> str:
    """The reason in a torchvision error without its C++ source location ("decode_jpeg, /path/x.cpp:171, Reason")."""
    text = " ".join(str(error).split())
    return text.rsplit(".cpp:", 1)[-1].split(", ", 1)[-1] if ".cpp:" in text else text


def _bgr_to_tensor(bgr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1).contiguous()


class _VideoReaders:
    """Open captures of this process, read forward frame by frame.

    Captures are keyed by process id: a data-loader worker forked from a
    process that had a video open must not share that capture (the file
    offset and decoder state would be shared), so it opens its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # path -> (capture, index of the frame the next read() returns), least recently used first
        self._captures: OrderedDict[str, tuple[cv2.VideoCapture, int]] = OrderedDict()

    def _open(self, path: str) -> cv2.VideoCapture:
        if not Path(path).is_file():
            raise DataError(f"video not found: {path}")
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            raise DataError(f"cannot open video {path}")
        while len(self._captures) >= _MAX_OPEN_VIDEOS:
            _, (oldest, _) = self._captures.popitem(last=False)
            oldest.release()
        return capture

    def read(self, path: str, index: int) -> torch.Tensor:
        """Frame ``index`` of ``path`` as an RGB uint8 tensor (3, H, W)."""
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's captures are not ours to use or release
                self._captures = OrderedDict()
                self._pid = os.getpid()
            if path in self._captures:
                capture, next_index = self._captures.pop(path)
            else:
                capture, next_index = self._open(path), 0
            if index != next_index:
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if not ok:
                capture.release()
                raise DataError(f"cannot decode frame {index} of video {path} (past the end or corrupt?)")
            self._captures[path] = (capture, index + 1)
        return _bgr_to_tensor(frame)

    @property
    def open_videos(self) -> list[str]:
        """Paths with an open capture in this process (least recently used first)."""
        return list(self._captures)


_VIDEOS = _VideoReaders()


def video_fps(path: str) -> float:
    """Frame rate of a video file (10 if the container does not say); DataError if it cannot be opened."""
    if not Path(path).is_file():
        raise DataError(f"video not found: {path}")
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise DataError(f"cannot open video {path}")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if fps > 0 else 10.0
