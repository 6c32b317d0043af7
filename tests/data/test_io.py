from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vis4d.common.errors import DataError
from vis4d.data.datasets.image_folder import natural_key, scan_input_dir
from vis4d.data.io import decode_image, video_fps


def _write_video(path: Path, frames: int, fps: float = 12.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (48, 32))
    for i in range(frames):
        writer.write(np.full((32, 48, 3), 20 * i, np.uint8))
    writer.release()


def test_decode_rgb_and_errors(tmp_path: Path) -> None:
    image = np.zeros((10, 20, 3), np.uint8)
    image[..., 2] = 255  # red in BGR
    cv2.imwrite(str(tmp_path / "red.png"), image)
    decoded = decode_image(str(tmp_path / "red.png"))
    assert decoded.shape == (3, 10, 20) and decoded[0].min() == 255 and decoded[2].max() == 0
    with pytest.raises(DataError, match="not found"):
        decode_image(str(tmp_path / "missing.jpg"))
    cv2.imwrite(str(tmp_path / "ok.jpg"), np.full((64, 64, 3), 128, np.uint8))
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="cut.jpg"):
        decode_image(str(tmp_path / "cut.jpg"))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image.save(tmp_path / "rot.jpg", exif=exif)
    assert tuple(decode_image(str(tmp_path / "rot.jpg")).shape) == (3, 40, 20)


def test_image_folders_sort_naturally(tmp_path: Path) -> None:
    for name in ("frame10.jpg", "frame2.jpg", "frame1.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "clip").mkdir()
    cv2.imwrite(str(tmp_path / "clip" / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    store = scan_input_dir(tmp_path)
    assert store.num_videos == 2
    assert list(store.frame_names[store.frame_range(0)]) == ["frame1.jpg", "frame2.jpg", "frame10.jpg"]
    assert sorted(["x10", "x9", "x1"], key=natural_key) == ["x1", "x9", "x10"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images"):
        scan_input_dir(empty)


def test_video_files_are_sequences_decoded_frame_by_frame(tmp_path: Path) -> None:
    _write_video(tmp_path / "movie.mp4", 5)
    store = scan_input_dir(tmp_path / "movie.mp4")
    assert store.num_videos == 1 and store.num_frames == 5
    assert str(store.frame_names[3]) == "movie-000003.jpg"
    frames = [decode_image(str(p)) for p in store.image_paths]
    assert tuple(frames[0].shape) == (3, 32, 48)
    means = [float(f.float().mean()) for f in frames]
    assert means == sorted(means) and means[-1] - means[0] > 50  # frames in order
    again = decode_image(str(store.image_paths[1]))  # seeking back works
    assert abs(float(again.float().mean()) - means[1]) < 3
    assert video_fps(str(tmp_path / "movie.mp4")) == pytest.approx(12.0)
