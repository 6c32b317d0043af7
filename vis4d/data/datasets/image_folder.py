"""Unlabelled inputs for ``predict --input_dir``: image folders and video files.

* a folder of images is one video (named after the folder);
* a folder of subfolders of images is one video per subfolder (named after
  the subfolder); images directly in the folder form one more video;
* a video file (mp4, avi, mov, mkv), or a folder holding video files, is one
  video per file, named after the file's stem. Its frames are addressed as
  image paths ``"<absolute file>#<frame index>"`` and named
  ``<video>-<frame index:06d>.jpg`` (the ``.jpg`` suffix is what visualised
  frames and prediction files use); :mod:`vis4d.data.io` decodes them one at a
  time.

Frames are sorted in natural order (``frame2`` before ``frame10``), the frame
index is the position in that order, and the frame name is the file name.
Image sizes come from the file headers (no decode); hidden files and folders
(names starting with ``.``) are skipped without a word; any other file that is
neither an image nor a video (a README, a CSV of timestamps) is skipped with one
warning that counts them and names the first few.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cv2
from PIL import Image, UnidentifiedImageError

from vis4d.common.errors import DataError
from vis4d.config.schema import ImageFolderDatasetConfig
from vis4d.data.io import VIDEO_SUFFIXES
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore, FrameRecord, build_store

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def natural_key(name: str) -> list[int | str]:
    """Sort key that orders embedded numbers numerically (``frame2`` before ``frame10``)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _visible_entries(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: natural_key(p.name))


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header, or (0, 0) if PIL cannot tell; decoding reports real errors later."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        return 0, 0
    return int(width), int(height)


def _image_frames(folder: Path, video: str, skipped: list[Path], videos_read: bool) -> list[FrameRecord]:
    """The folder's images as one video; other files go to ``skipped`` (videos too, unless ``videos_read``)."""
    images = []
    for entry in _visible_entries(folder):
        suffix = entry.suffix.lower()
        if entry.is_file() and suffix in IMAGE_SUFFIXES:
            images.append(entry)
        elif entry.is_file() and not (videos_read and suffix in VIDEO_SUFFIXES):
            skipped.append(entry)
    return [
        FrameRecord(image.name, video, index, str(image.resolve()), *_image_size(image))
        for index, image in enumerate(images)
    ]


def _video_frames(path: Path) -> list[FrameRecord]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"cannot open video {path}")
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if count <= 0:  # some containers do not store the count: walk the packets (no pixel conversion)
            while capture.grab():
                count += 1
    finally:
        capture.release()
    if count <= 0:
        raise DataError(f"video {path} has no frames")
    video, source = path.stem, str(path.resolve())
    return [FrameRecord(f"{video}-{i:06d}.jpg", video, i, f"{source}#{i}", width, height) for i in range(count)]


def scan_input_dir(path: str | Path, categories: Sequence[str] = ("object",)) -> AnnotationStore:
    """A label-free store of the images / videos under ``path`` (see the module docstring)."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"input not found: {root}")
    if root.is_file():
        if root.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(f"{root}: expected a folder of images or a video file ({', '.join(VIDEO_SUFFIXES)})")
        return build_store(categories, _video_frames(root))
    sources: dict[str, Path] = {}  # video name -> where its frames come from
    frames: list[FrameRecord] = []

    def add(source: Path, records: list[FrameRecord]) -> None:
        if records and records[0].video_name in sources:
            name = records[0].video_name
            raise DataError(f"{root}: {sources[name]} and {source} would both be video {name!r}; rename one")
        if records:
            sources[records[0].video_name] = source
        frames.extend(records)

    skipped: list[Path] = []
    add(root, _image_frames(root, root.resolve().name, skipped, videos_read=True))
    for entry in _visible_entries(root):
        if entry.is_dir():
            add(entry, _image_frames(entry, entry.name, skipped, videos_read=False))
        elif entry.suffix.lower() in VIDEO_SUFFIXES:
            add(entry, _video_frames(entry))
    names = ", ".join(str(p.relative_to(root)) for p in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    if not frames:
        others = f"; it holds {len(skipped)} other file(s): {names}" if skipped else ""
        raise DataError(
            f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) or videos ({', '.join(VIDEO_SUFFIXES)}) found{others}"
        )
    if skipped:
        warn(f"{root}: skipped {len(skipped)} file(s) that are neither images nor videos ({names})")
    return build_store(categories, frames)


def load_image_folder(cfg: ImageFolderDatasetConfig, categories: Sequence[str]) -> AnnotationStore:
    """The dataset loader's entry point for ``type = "image_folder"``."""
    return scan_input_dir(cfg.root, categories)
