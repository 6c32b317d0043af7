"""FrameVisualizer: one JPEG per frame, one MP4 per video, fps per video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.vis.draw import track_color
from vis4d.vis.video import read_video_frame_count
from vis4d.vis.writer import FrameVisualizer


def add(vis: FrameVisualizer, video: str, index: int, size: tuple[int, int] = (48, 64)) -> None:
    image = np.full((*size, 3), 40, np.uint8)
    boxes = np.array([[8.0, 20.0, 40.0, 44.0]], np.float32)
    vis.add_frame(image, video, f"{video}-{index:07d}.jpg", boxes, np.array([0]), np.array([0.8]), np.array([3]))


def test_pictures_and_one_mp4_per_video(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"], fps=4)
    vis.set_video_fps("b", 12.5)
    for i in range(3):
        add(vis, "a", i)
    for i in range(5):
        add(vis, "b", i, size=(40, 80))
    written = vis.close()
    assert written == [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    assert read_video_frame_count(tmp_path / "a.mp4") == 3
    assert read_video_frame_count(tmp_path / "b.mp4") == 5
    capture = cv2.VideoCapture(str(tmp_path / "b.mp4"))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(12.5)
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (80, 40)
    capture.release()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"a-{i:07d}.jpg" for i in range(3)]
    picture = cv2.cvtColor(cv2.imread(str(tmp_path / "a" / "a-0000000.jpg")), cv2.COLOR_BGR2RGB)
    assert picture.shape == (48, 64, 3)
    assert not list(tmp_path.rglob(".*"))  # no temporary files left


def test_jpeg_holds_the_drawing(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"], write_video=False)
    plain = np.full((180, 320, 3), 40, np.uint8)
    drawn = vis.add_frame(plain, "c", "c-0.jpg", [[64, 72, 224, 162]], [0], [0.8], [3])
    np.testing.assert_array_equal(drawn[100, 64], track_color(3))  # left edge in the track colour
    np.testing.assert_array_equal(drawn[100, 120], 40)  # interior untouched
    picture = cv2.cvtColor(cv2.imread(str(tmp_path / "c" / "c-0.jpg")), cv2.COLOR_BGR2RGB).astype(int)
    changed = np.any(drawn != plain, axis=2)
    assert changed.sum() > 300
    # On the drawn pixels the JPEG is far nearer the drawing than the plain frame (JPEG is lossy).
    error_to_drawing = np.abs(picture - drawn.astype(int))[changed].mean()
    error_to_plain = np.abs(picture - plain.astype(int))[changed].mean()
    assert error_to_drawing < 0.5 * error_to_plain


def test_frames_of_another_size_are_resized_into_the_video(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"], write_images=False)
    add(vis, "v", 0, size=(48, 64))
    add(vis, "v", 1, size=(96, 128))
    assert vis.close() == [tmp_path / "v.mp4"]
    assert read_video_frame_count(tmp_path / "v.mp4") == 2
    assert not (tmp_path / "v").exists()


def test_frames_without_video_get_pictures_only(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"])
    add(vis, "", 0)
    assert vis.close() == []
    assert [p.name for p in tmp_path.iterdir()] == ["-0000000.jpg"]


def test_abort_drops_the_unfinished_video(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"], write_images=False)
    add(vis, "done", 0)
    add(vis, "open", 0)
    vis.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.mp4"]


def test_fps_must_be_set_before_the_video_starts(tmp_path: Path) -> None:
    vis = FrameVisualizer(tmp_path, ["car"], write_images=False)
    add(vis, "v", 0)
    with pytest.raises(ValueError, match="already started"):
        vis.set_video_fps("v", 30)
    vis.abort()
