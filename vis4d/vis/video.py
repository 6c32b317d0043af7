"""MP4 files from frames, written atomically.

OpenCV's ``cv2.VideoWriter`` (fourcc ``mp4v``) encodes the frames. It writes to
a hidden temporary file beside the target (OpenCV picks the container from the
file extension, so the temporary name ends in ``.mp4`` too) that is renamed
into place by :meth:`VideoWriter.close`; a killed run never leaves a truncated
video under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from vis4d.common.errors import DataError, Vis4DError
from vis4d.common.io import atomic_replace, default_file_mode

FOURCC = "mp4v"


class VideoWriter:
    """Append RGB frames to an MP4 file; the file appears under ``path`` on :meth:`close`.

    ``frame_size`` is ``(width, height)`` as in ``cv2.VideoWriter``. Every frame
    must have that size (OpenCV would silently drop frames of another size, so
    this raises instead).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, frame_size: tuple[int, int]) -> None:
        self.path = Path(path)
        width, height = int(frame_size[0]), int(frame_size[1])
        if fps <= 0 or width <= 0 or height <= 0:
            raise ValueError(f"{self.path}: fps and frame size must be positive, got fps={fps}, size={frame_size}")
        self.fps = float(fps)
        self.frame_size = (width, height)
        self.frames_written = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}", dir=self.path.parent)
        os.close(fd)
        os.chmod(tmp, default_file_mode())  # mkstemp's 0o600 would survive the rename; match other outputs
        self._tmp_path = Path(tmp)
        self._writer: cv2.VideoWriter | None = cv2.VideoWriter(
            str(self._tmp_path), cv2.VideoWriter.fourcc(*FOURCC), self.fps, self.frame_size
        )
        if not self._writer.isOpened():
            self._writer = None
            self._tmp_path.unlink(missing_ok=True)
            raise Vis4DError(
                f"cannot write video {self.path}: OpenCV could not open an '{FOURCC}' encoder for "
                f"{width}x{height} at {fps} fps (is OpenCV built with FFmpeg?)"
            )

    def write(self, frame: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        if self._writer is None:
            raise RuntimeError(f"{self.path}: video writer is already closed")
        width, height = self.frame_size
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"{self.path}: frame of shape {frame.shape} {frame.dtype}, expected ({height}, {width}, 3) uint8"
            )
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path (closing twice is harmless)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            atomic_replace(self._tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the temporary file; ``path`` is left as it was."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            with contextlib.suppress(FileNotFoundError):
                self._tmp_path.unlink()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def read_video_frame_count(path: str | os.PathLike[str]) -> int:
    """Count the frames of a video by demuxing every frame (container headers can be wrong)."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"cannot open video {path}: missing file or unsupported format")
    try:
        count = 0
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()
