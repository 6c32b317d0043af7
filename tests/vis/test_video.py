"""MP4 writing: decodable, right frame count, atomic, clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.common.errors import DataError
from vis4d.vis.video import VideoWriter, read_video_frame_count


def frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    return [np.full((height, width, 3), (i * 20) % 256, dtype=np.uint8) for i in range(count)]


def test_mp4_decodes_with_the_right_frame_count_and_size(tmp_path: Path) -> None:
    path = tmp_path / "out" / "clip.mp4"
    writer = VideoWriter(path, fps=7.0, frame_size=(64, 48))
    for frame in frames(9):
        writer.write(frame)
    assert not path.exists()  # only the temporary file exists while writing
    assert writer.close() == path
    assert read_video_frame_count(path) == 9
    capture = cv2.VideoCapture(str(path))
    ok, first = capture.read()
    assert ok and first.shape == (48, 64, 3)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(7.0)
    capture.release()
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.mp4"]
    json_file = tmp_path / "out" / "plain.json"
    json_file.write_text("{}")  # created the ordinary way: the mode every output should have
    assert path.stat().st_mode & 0o777 == json_file.stat().st_mode & 0o777


def test_colours_survive_encoding(tmp_path: Path) -> None:
    path = tmp_path / "red.mp4"
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 0] = 220  # RGB red
    with VideoWriter(path, 5, (64, 48)) as writer:
        writer.write(red)
    capture = cv2.VideoCapture(str(path))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    b, g, r = bgr[24, 32].astype(int)
    assert r > 180 and g < 50 and b < 50


def test_abort_and_exceptions_leave_no_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, 5, (64, 48)) as writer:
            writer.write(frames(1)[0])
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_size_is_an_error(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "clip.mp4", 5, (64, 48))
    with pytest.raises(ValueError, match=r"expected \(48, 64, 3\) uint8"):
        writer.write(np.zeros((64, 48, 3), np.uint8))
    writer.abort()
    with pytest.raises(ValueError, match="positive"):
        VideoWriter(tmp_path / "x.mp4", 0, (64, 48))


def test_unreadable_video_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot open video"):
        read_video_frame_count(tmp_path / "missing.mp4")
