"""The data handler makes exactly the inputs the YOLOX references make, from config options alone.

tests/model/yolox/conventions.py writes out each reference's test-time
preprocessing (Megvii's yolox, ByteTrack, Vis4D 1.0); the equivalence tests
there feed those inputs to the model. Here the same frames go through
vis4d's own handler with the options a config sets (channel order, raw
0-255 pixels, OpenCV's resize, rounding, the letterbox's one ratio, padding
with 114 to a canvas, a square or a multiple of 32): the tensors must be
equal, so the published configs compute what the references compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.model.yolox.conventions import bytetrack_input, megvii_input, vis4d_v1_input
from vis4d.config.schema import HandlerConfig, ImageFolderDatasetConfig
from vis4d.data.datasets.image_folder import load_image_folder
from vis4d.data.handler import FrameDataset, make_collate

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "assets" / "bdd100k_sample" / "images" / "b1c66a42-6f7d68ca"
RAW = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0), "pad_value": 114}
IMAGENET = {"mean": (123.675, 116.28, 103.53), "std": (58.395, 57.12, 57.375), "pad_value": 114}


def _handler(shape: tuple[int, int], resize: dict[str, Any], **options: Any) -> HandlerConfig:
    transform = {"type": "resize", "shape": list(shape), "keep_ratio": True, **resize}
    return HandlerConfig.model_validate({"batch_size": 1, "transforms": [transform], **options})


def _ours(handler: HandlerConfig) -> tuple[torch.Tensor, Any]:
    store = load_image_folder(ImageFolderDatasetConfig(root=str(FOLDER)), ["car"])
    batch = make_collate(handler)([FrameDataset(store, handler, ["car"], training=False)[0]])
    return batch.images, batch.meta[0]


CASES = {
    # Megvii's yolox ValTransform: BGR raw pixels, floor-rounded OpenCV resize, a 640x640 canvas of 114.
    "megvii": (
        lambda path: megvii_input(path, (640, 640)),
        _handler((640, 640), {"rounding": "floor", "backend": "opencv", "box_scale": "ratio"},
                 channel_order="BGR", pad_to=[640, 640], **RAW),
    ),
    # ByteTrack: the same letterbox on an 800x1440 canvas, then RGB with ImageNet's mean and std.
    "bytetrack": (
        lambda path: bytetrack_input(path, (800, 1440)),
        _handler((800, 1440), {"rounding": "floor", "backend": "opencv", "box_scale": "ratio"},
                 channel_order="RGB", pad_to=[800, 1440], **IMAGENET),
    ),
    # Vis4D 1.0's YOLOX COCO pipeline: round-half-up OpenCV resize, padded to a square of a multiple of 32.
    "vis4d 1.0": (
        lambda path: vis4d_v1_input(path, (640, 640), backend="cv2", square=True),
        _handler((640, 640), {"rounding": "round", "backend": "opencv"}, channel_order="BGR", pad_square=True, **RAW),
    ),
    # Vis4D 1.0's QDTrack-YOLOX: torch's bilinear on float pixels, padded to a multiple of 32.
    "vis4d 1.0 qdtrack": (
        lambda path: vis4d_v1_input(path, (224, 416), backend="torch", square=False),
        _handler((224, 416), {"rounding": "round", "antialias": False}, channel_order="BGR", **RAW),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_the_handler_makes_the_references_input(name: str) -> None:
    reference, handler = CASES[name]
    expected, ratio = reference(sorted(FOLDER.glob("*.jpg"))[0])
    images, meta = _ours(handler)
    assert images.shape == expected.shape
    torch.testing.assert_close(images, expected, rtol=0, atol=1e-4 if name == "bytetrack" else 0)
    assert meta.scale == pytest.approx(ratio, rel=1e-12)  # boxes map back as the reference maps them
