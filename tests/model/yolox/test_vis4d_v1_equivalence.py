"""Vis4D 1.0's and mmdetection's YOLOX checkpoints compute in vis4d what Vis4D 1.0 computes.

The oracle (``fixtures/vis4d_1_0/``, see its README) is Vis4D 1.0's zoo
YOLOX-tiny (80 classes, inside its EMA adapter) with seeded random weights,
run through that zoo config's own test pipeline on the 12 sample frames: BGR,
resize to fit 416x416 (OpenCV, size rounded), padded with 114 to a square,
raw pixels, score 0.01, NMS 0.65, boxes scaled back and clipped. The EMA and
training copies hold different weights, so a converter that loaded the
training copy would fail here.

Vis4D 1.0 loads mmdetection's YOLOX files by renaming their keys, so its
outputs are the oracle for mmdetection's layout too: the same EMA weights
under mmdetection's names (plus the ``ema_*`` buffers mmdetection's EMA hook
saves, which must be left out) give the same detections.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tests.model.weights.conftest import cache_dir
from tests.model.yolox.conventions import vis4d_v1_input
from tests.model.yolox.oracle import assert_same_detections, fixture, sample_frames, write_published
from tests.model.yolox.yolox_weights import state_dict_for
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.weights import load_weights
from vis4d.model.weights.yolox_common import coco_categories
from vis4d.model.yolox.detector import YOLOX

TEST_SIZE = (416, 416)
MMDET_TINY = "mmdet://yolox/yolox_tiny_8x8_300e_coco/yolox_tiny_8x8_300e_coco_20211124_171234-b4047906.pth"
OBJECTNESS = (2.0, -10.0)  # the fixture's objectness predictor (README)
_V1_TO_MMDET = (("basemodel.", "backbone."), ("fpn.", "neck."), ("yolox_head.", "bbox_head."))


def _to_mmdet(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Vis4D 1.0 names -> mmdetection's (the inverse of the renaming Vis4D 1.0 applies when it loads mmdet files)."""
    renamed = {}
    for key, value in state.items():
        new = key
        for old, prefix in _V1_TO_MMDET:
            if new.startswith(old):
                new = prefix + new.removeprefix(old)
        if ".norm." in new:
            new = new.replace(".norm.", ".bn.")
        elif new.endswith(".weight") and key.removesuffix("weight") + "norm.weight" in state:
            new = new.removesuffix("weight") + "conv.weight"
        renamed[new] = value
    return renamed


def _write(layout: str, torch_home: Path, tmp_path: Path) -> str:
    keys, _ = fixture("vis4d_1_0")
    state = state_dict_for(keys, objectness=OBJECTNESS)
    if layout == "vis4d 1.0":  # a Lightning checkpoint of the EMA adapter
        path = tmp_path / "yolox_tiny_300e_coco.ckpt"
        torch.save({"state_dict": {f"model.{k}": v for k, v in state.items()}, "epoch": 300}, path)
        return str(path)
    ema = {k.removeprefix("ema_model."): v for k, v in state.items() if k.startswith("ema_model.")}
    mmdet = _to_mmdet(ema)
    mmdet.update({"ema_" + re.sub(r"\.", "_", k): torch.zeros(()) for k in list(mmdet)[:5]})  # the EMA hook's buffers
    meta = {"CLASSES": tuple(coco_categories())}
    torch.save({"state_dict": mmdet, "meta": meta}, cache_dir(torch_home) / MMDET_TINY.rsplit("/", 1)[1])
    return MMDET_TINY


@pytest.mark.slow
@pytest.mark.parametrize(("layout", "frames"), [("vis4d 1.0", 12), ("mmdetection", 4)])
def test_published_tiny_detects_what_vis4d_1_0_detects(
    layout: str, frames: int, torch_home: Path, tmp_path: Path
) -> None:
    name = _write(layout, torch_home, tmp_path)
    model = YOLOX(YOLOXConfig(size="tiny", clip_boxes=True), 80)
    checkpoint = load_weights(model, name, coco_categories(), strict=True, option="model.weights")
    expected_layout = "vis4d 1.0 YOLOX (EMA weights)" if layout == "vis4d 1.0" else "mmdetection YOLOX"
    assert checkpoint.layout == expected_layout and checkpoint.categories == coco_categories()
    model.eval().fold_batch_norm()
    _, outputs = fixture("vis4d_1_0")
    with torch.no_grad():
        for (_, frame, path), expected in list(zip(sample_frames(), outputs, strict=True))[:frames]:
            assert expected["name"] == frame
            image, ratio = vis4d_v1_input(path, TEST_SIZE, backend="cv2", square=True)
            assert list(image.shape) == expected["images_shape"]
            (found,) = model.detect(model.extract_features(image), [tuple(expected["input_hw"])])
            assert len(found.boxes) > 30, frame
            assert_same_detections(found, ratio, expected["detections"], frame)


QDTRACK_YOLOX = "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_yolox_x_25e_bdd100k_c14af2.pt"
BDD100K = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]


@pytest.mark.slow
def test_published_qdtrack_yolox_detector_detects_what_vis4d_1_0_detects(
    torch_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The detector of Vis4D 1.0's QDTrack-YOLOX-x (``fixtures/qdtrack_vis4d_1_0``) on three frames.

    Its published file is a Lightning checkpoint of the EMA adapter around
    YOLOXQDTrack; its test pipeline resizes with torch's bilinear interpolation
    and pads with 114 to a multiple of 32 (the fixture at 224x416 instead of
    800x1440). Detections are the test postprocessor's (score 0.1, NMS 0.65),
    before the tracker. The tracks are the lead's test (QDTrack holding YOLOX).
    """
    keys, outputs = fixture("qdtrack_vis4d_1_0")
    write_published(torch_home, QDTRACK_YOLOX.rsplit("/", 1)[1], keys, wrap="state_dict", prefix="model.",
                    objectness=(0.5, -12.0))  # fmt: skip
    model = YOLOX(YOLOXConfig(size="x", clip_boxes=True, score_threshold=0.1), len(BDD100K))
    # The tracker's file holds its similarity head too: into the detector alone it loads non-strictly, said in a line.
    checkpoint = load_weights(model, QDTRACK_YOLOX, BDD100K, strict=False, option="model.weights")
    assert checkpoint.layout == "vis4d 1.0 YOLOX (EMA weights)" and checkpoint.categories == BDD100K
    assert any(k.startswith("similarity_head.") for k in checkpoint.state_dict)  # for QDTrack, not the detector
    assert "unused: similarity_head" in capsys.readouterr().err  # the skipped keys are counted, not dropped silently
    model.eval().fold_batch_norm()
    with torch.no_grad():
        for (_, frame, path), expected in list(zip(sample_frames(), outputs, strict=True))[:3]:
            image, ratio = vis4d_v1_input(path, (224, 416), backend="torch", square=False)
            assert list(image.shape) == expected["images_shape"]
            (found,) = model.detect(model.extract_features(image), [tuple(expected["input_hw"])])
            assert len(found.boxes) > 50, frame
            assert_same_detections(found, ratio, expected["detections"], frame)
