from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.common.errors import DataError
from vis4d.config.schema import ImageFolderDatasetConfig
from vis4d.data.datasets.image_folder import load_image_folder, natural_key, scan_input_dir
from vis4d.data.io import decode_image


def _image(path: Path, height: int = 8, width: int = 8, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), value, np.uint8))


def _video(path: Path, frames: int, size_hw: tuple[int, int] = (32, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 12.0, (size_hw[1], size_hw[0]))
    for i in range(frames):
        writer.write(np.full((*size_hw, 3), 20 * i, np.uint8))
    writer.release()


def test_natural_key_orders_numbers_numerically() -> None:
    assert sorted(["x10", "x9", "x1", "X2"], key=natural_key) == ["x1", "X2", "x9", "x10"]
    assert sorted(["a-10-b", "a-2-c", "a-2-b"], key=natural_key) == ["a-2-b", "a-2-c", "a-10-b"]


def test_flat_folder_is_one_video_in_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "street"
    for name in ("frame10.jpg", "frame2.png", "frame1.jpg", "notes.txt", ".hidden.jpg"):
        if name.endswith(".txt"):
            (folder / name).write_text("not an image")
        else:
            _image(folder / name, height=12, width=20)
    store = scan_input_dir(folder)
    assert store.num_videos == 1 and str(store.video_names[0]) == "street"
    assert list(store.frame_names) == ["frame1.jpg", "frame2.png", "frame10.jpg"]
    assert store.frame_index.tolist() == [0, 1, 2]
    assert all(Path(str(p)).is_absolute() and Path(str(p)).is_file() for p in store.image_paths)
    # Sizes come from the headers.
    assert store.widths.tolist() == [20, 20, 20] and store.heights.tolist() == [12, 12, 12]
    assert store.num_boxes == 0


def test_subfolders_are_videos(tmp_path: Path) -> None:
    for video, count in (("cam10", 2), ("cam2", 3)):
        for i in range(count):
            _image(tmp_path / video / f"{i}.jpg")
    (tmp_path / ".cache").mkdir()
    _image(tmp_path / ".cache" / "x.jpg")
    _image(tmp_path / "loose.jpg")
    store = scan_input_dir(tmp_path)
    names = [str(v) for v in store.video_names]
    assert names == [tmp_path.name, "cam2", "cam10"]
    assert [len(store.frame_range(v)) for v in range(store.num_videos)] == [1, 3, 2]


def test_video_file_and_folder_of_videos(tmp_path: Path) -> None:
    _video(tmp_path / "drive.mp4", 5)
    store = scan_input_dir(tmp_path / "drive.mp4")
    assert store.num_videos == 1 and str(store.video_names[0]) == "drive" and store.num_frames == 5
    assert [str(n) for n in store.frame_names[:2]] == ["drive-000000.jpg", "drive-000001.jpg"]
    assert str(store.image_paths[3]) == f"{(tmp_path / 'drive.mp4').resolve()}#3"
    assert (int(store.widths[0]), int(store.heights[0])) == (48, 32)
    assert tuple(decode_image(str(store.image_paths[4])).shape) == (3, 32, 48)

    _video(tmp_path / "park.avi", 2)
    both = scan_input_dir(tmp_path)
    assert [str(v) for v in both.video_names] == ["drive", "park"]
    assert both.num_frames == 7


def test_clashing_video_names_are_rejected(tmp_path: Path) -> None:
    _image(tmp_path / "clip" / "0.jpg")
    _video(tmp_path / "clip.mp4", 2)
    with pytest.raises(DataError, match="'clip'"):
        scan_input_dir(tmp_path)


def test_missing_or_empty_inputs_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        scan_input_dir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no images"):
        scan_input_dir(tmp_path / "empty")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match="video file"):
        scan_input_dir(tmp_path / "a.txt")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(DataError, match="broken.mp4"):
        scan_input_dir(tmp_path / "broken.mp4")


def test_load_image_folder_uses_config_categories(tmp_path: Path) -> None:
    _image(tmp_path / "0001.jpg")
    store = load_image_folder(ImageFolderDatasetConfig(root=str(tmp_path)), ["car", "pedestrian"])
    assert store.categories == ("car", "pedestrian") and store.num_frames == 1


def test_files_that_are_neither_images_nor_videos_are_counted_in_one_warning(tmp_path: Path) -> None:
    """A README or a timestamp CSV beside the frames is skipped, and said; hidden files are skipped silently."""
    from vis4d.data.notes import collecting

    for name in ("a/0.jpg", "a/1.jpg", "b/0.png"):
        _image(tmp_path / name)
    for name in ("notes.txt", "a/readme.md", "b/times.csv", "b/clip.mp4", "a/.DS_Store"):
        (tmp_path / name).write_text("x")
    with collecting() as said:
        store = scan_input_dir(tmp_path)
    assert store.num_frames == 3 and list(store.video_names) == ["a", "b"]
    assert len(said) == 1
    # A video inside a video's folder is not read either: it is counted with the rest.
    assert (
        f"{tmp_path}: skipped 4 file(s) that are neither images nor videos (notes.txt, a/readme.md, b/clip.mp4, ...)"
        == said[0]
    )
    with collecting() as said:
        scan_input_dir(tmp_path / "a")
    assert said == [f"{tmp_path / 'a'}: skipped 1 file(s) that are neither images nor videos (readme.md)"]
    (tmp_path / "only_text").mkdir()
    (tmp_path / "only_text" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"only_text: no images .* found; it holds 1 other file\(s\): readme.txt"):
        scan_input_dir(tmp_path / "only_text")
