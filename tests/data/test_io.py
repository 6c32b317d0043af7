from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vis4d.common.errors import DataError
from vis4d.data import io as data_io
from vis4d.data.io import decode_image, is_video_frame, video_fps


def _write_video(path: Path, frames: int, fps: float = 12.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (48, 32))
    for i in range(frames):
        writer.write(np.full((32, 48, 3), 20 * i, np.uint8))
    writer.release()


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif", ".webp"])
def test_decode_is_rgb_uint8_chw(tmp_path: Path, suffix: str) -> None:
    image = np.zeros((10, 20, 3), np.uint8)
    image[..., 2] = 250  # red in BGR
    path = tmp_path / f"red{suffix}"
    assert cv2.imwrite(str(path), image)
    decoded = decode_image(str(path))
    assert decoded.dtype.is_floating_point is False and tuple(decoded.shape) == (3, 10, 20)
    assert int(decoded[0].min()) > 200 and int(decoded[2].max()) < 40


def test_grayscale_becomes_three_channels(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((6, 7), 99, np.uint8))
    decoded = decode_image(str(tmp_path / "gray.png"))
    assert tuple(decoded.shape) == (3, 6, 7) and decoded.unique().tolist() == [99]


def test_missing_and_corrupt_files_raise_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing.jpg"):
        decode_image(str(tmp_path / "missing.jpg"))
    cv2.imwrite(str(tmp_path / "ok.jpg"), np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="cut.jpg"):
        decode_image(str(tmp_path / "cut.jpg"))
    (tmp_path / "junk.bmp").write_bytes(b"BMnot really a bitmap")
    with pytest.raises(DataError, match="junk.bmp"):
        decode_image(str(tmp_path / "junk.bmp"))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image.save(tmp_path / "rot.jpg", exif=exif)
    assert tuple(decode_image(str(tmp_path / "rot.jpg")).shape) == (3, 40, 20)


def test_video_frames_decode_in_order_and_after_seeking(tmp_path: Path) -> None:
    movie = tmp_path / "movie.mp4"
    _write_video(movie, 6)
    paths = [f"{movie}#{i}" for i in range(6)]
    assert all(is_video_frame(p) for p in paths) and not is_video_frame(str(movie))
    means = [float(decode_image(p).float().mean()) for p in paths]
    assert means == sorted(means) and means[-1] - means[0] > 80
    # Backwards and skipping forwards seek to the right frame.
    assert abs(float(decode_image(paths[1]).float().mean()) - means[1]) < 3
    assert abs(float(decode_image(paths[4]).float().mean()) - means[4]) < 3
    assert str(movie) in data_io._VIDEOS.open_videos
    with pytest.raises(DataError, match="frame 9"):
        decode_image(f"{movie}#9")
    with pytest.raises(DataError, match="not found"):
        decode_image(f"{tmp_path / 'gone.mp4'}#0")


def test_forked_process_does_not_reuse_parent_captures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    movie = tmp_path / "clip.mp4"
    _write_video(movie, 3)
    readers = data_io._VideoReaders()
    readers.read(str(movie), 0)
    parent_capture = readers._captures[str(movie)][0]
    monkeypatch.setattr(data_io.os, "getpid", lambda: -5)  # as seen from a forked worker
    readers.read(str(movie), 1)
    assert readers._captures[str(movie)][0] is not parent_capture


def test_open_captures_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_io, "_MAX_OPEN_VIDEOS", 2)
    readers = data_io._VideoReaders()
    for name in ("a", "b", "c"):
        _write_video(tmp_path / f"{name}.mp4", 1)
        readers.read(str(tmp_path / f"{name}.mp4"), 0)
    assert readers.open_videos == [str(tmp_path / "b.mp4"), str(tmp_path / "c.mp4")]


def test_video_fps(tmp_path: Path) -> None:
    _write_video(tmp_path / "movie.mp4", 2, fps=12.0)
    assert video_fps(str(tmp_path / "movie.mp4")) == pytest.approx(12.0)
    with pytest.raises(DataError, match="not found"):
        video_fps(str(tmp_path / "none.mp4"))
