"""A camera or network stream as an iterable dataset of unknown length: frames are handed on as they arrive.

``predict --input_dir 0`` (a camera) or ``--input_dir rtsp://...`` (any URL
OpenCV's FFmpeg backend opens: RTSP, RTMP, HTTP MJPEG, ...) reads the source
with ``cv2.VideoCapture`` in the main process (one reader; a camera cannot be
shared by data loader workers), one frame at a time, transformed as the test
handler transforms a file's frames. The whole stream is one video named by
:func:`~vis4d.data.stream_source.stream_name`; frame ``i`` is
``<name>-<i:06d>.jpg``.

The stream ends, and the run with it, when

* the source ends (a file served over the network) or the connection drops:
  a read fails or no frame arrives within ``read_timeout_s``;
* :meth:`StreamDataset.stop` is called (the engine calls it on Ctrl-C or
  SIGTERM; it only sets a flag, so it is safe in a signal handler): the frame
  being read is the last.

Either way iteration simply stops, so whatever consumes the frames finishes
normally: prediction writers rename complete files into place.
:attr:`StreamDataset.end` says why it ended and :attr:`StreamDataset.frames`
how many frames were read. A source that cannot be opened is a one-line
:class:`~vis4d.common.errors.DataError` as soon as the dataset is made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset

from vis4d.common.errors import DataError
from vis4d.common.structures import FrameMeta
from vis4d.config.schema import HandlerConfig
from vis4d.data.handler import Sample, frame_sample
from vis4d.data.stream_source import describe, is_camera_index, stream_name
from vis4d.data.transforms import build_transforms


def open_capture(source: str, open_timeout_s: float, read_timeout_s: float) -> Any:
    """An open ``cv2.VideoCapture`` of a camera index or URL (timeouts for network sources), else a DataError."""
    if is_camera_index(source):
        capture = cv2.VideoCapture(int(source))
    else:
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]  # fmt: skip
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)
    if not capture.isOpened():
        capture.release()
        camera = is_camera_index(source)
        what = "no such camera, or it is in use" if camera else f"no stream within {open_timeout_s:g} s"
        raise DataError(f"--input_dir: cannot open {describe(source)} ({what})")
    return capture


class StreamDataset(IterableDataset[Sample]):
    """Frames of a live source, transformed for the model (see the module docstring)."""

    def __init__(
        self, source: str, handler: HandlerConfig, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0
    ) -> None:
        self.source = source
        self.name = stream_name(source)
        self.read_timeout_s = read_timeout_s
        self.transforms = build_transforms(handler.transforms)
        self.frames = 0
        self.end = ""
        self._stop = threading.Event()
        self._capture = open_capture(source, open_timeout_s, read_timeout_s)  # fail now, not mid-run

    def stop(self) -> None:
        """End the stream after the frame being read (safe in a signal handler: it only sets a flag)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def __iter__(self) -> Iterator[Sample]:
        """Each frame as it arrives, until the source ends, the connection drops or :meth:`stop` is called."""
        capture = self._capture if self._capture is not None else open_capture(self.source, 10.0, self.read_timeout_s)
        self._capture = None
        try:
            while not self._stop.is_set():
                ok, bgr = capture.read()
                if not ok:
                    self.end = (f"{describe(self.source)}: the stream ended after {self.frames} frames (its end, a "
                                f"dropped connection, or no frame within {self.read_timeout_s:g} s)")  # fmt: skip
                    return
                yield self._sample(bgr, self.frames)
                self.frames += 1
            self.end = f"{describe(self.source)}: stopped after {self.frames} frames"
        finally:
            capture.release()

    def _sample(self, bgr: np.ndarray, index: int) -> Sample:
        pixels = torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1)
        hw = (int(pixels.shape[1]), int(pixels.shape[2]))
        return frame_sample(pixels, FrameMeta(f"{self.name}-{index:06d}.jpg", self.name, index, "", hw, hw),
                            self.transforms, index)  # fmt: skip

    def close(self) -> None:
        """Release a capture that was opened but never read."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
