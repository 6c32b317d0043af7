"""Unlabelled inputs for ``predict --input_dir``: image folders and video files.

* a folder of images is one video (named after the folder);
* a folder of subfolders of images is one video per subfolder;
* a video file (mp4, avi, mov, mkv), or a folder of them, is one video per
  file; its frames are addressed as ``"<file>#<index>"`` and named
  ``<video>-<index:06d>.jpg``, decoded one at a time by :mod:`vis4d.data.io`.

Frames are sorted in natural order (``frame2`` before ``frame10``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cv2

from vis4d.common.errors import DataError
from vis4d.config.schema import ImageFolderDatasetConfig
from vis4d.data.io import VIDEO_SUFFIXES
from vis4d.data.store import AnnotationStore, FrameRecord, build_store

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def natural_key(name: str) -> list[int | str]:
    """Sort key that orders embedded numbers numerically."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _images(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: natural_key(p.name),
    )


def _video_frames(path: Path) -> list[FrameRecord]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"cannot open video {path}")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    video = path.stem
    return [FrameRecord(f"{video}-{i:06d}.jpg", video, i, f"{path.resolve()}#{i}", width, height) for i in range(count)]


def scan_input_dir(path: str | Path, categories: Sequence[str] = ("object",)) -> AnnotationStore:
    """A label-free store of the images / videos under ``path``."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"input not found: {root}")
    frames: list[FrameRecord] = []
    if root.is_file():
        if root.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(f"{root}: expected a folder of images or a video file ({', '.join(VIDEO_SUFFIXES)})")
        frames = _video_frames(root)
    else:
        for i, image in enumerate(_images(root)):
            frames.append(FrameRecord(image.name, root.resolve().name, i, str(image.resolve())))
        for entry in sorted(root.iterdir(), key=lambda p: natural_key(p.name)):
            if entry.is_dir():
                for i, image in enumerate(_images(entry)):
                    frames.append(FrameRecord(image.name, entry.name, i, str(image.resolve())))
            elif entry.suffix.lower() in VIDEO_SUFFIXES:
                frames.extend(_video_frames(entry))
    if not frames:
        raise DataError(
            f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) or videos ({', '.join(VIDEO_SUFFIXES)}) found"
        )
    return build_store(categories, frames)


def load_image_folder(cfg: ImageFolderDatasetConfig, categories: Sequence[str]) -> AnnotationStore:
    """The dataset loader's entry point for ``type = "image_folder"``."""
    return scan_input_dir(cfg.root, categories)
