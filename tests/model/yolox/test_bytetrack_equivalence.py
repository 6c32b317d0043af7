"""ByteTrack's published YOLOX checkpoints compute in vis4d what ByteTrack's own code computes.

The oracle (``fixtures/bytetrack/``, see its README) is ByteTrack's MOT17
YOLOX-nano experiment (one class, NMS 0.7, test score 0.01 as its
``tools/track.py`` sets it) with seeded random weights, run by ByteTrack's
code on the 12 sample frames at its YOLOX-x input size 800x1440 with its
preprocessing (letterbox padded with 114, RGB, /255, ImageNet mean and std).
The weights are placed by hand in the cache under the published file name,
as a user must for ``bytetrack://`` names, and loaded through the
Megvii/ByteTrack layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.model.yolox.conventions import bytetrack_input
from tests.model.yolox.oracle import assert_same_detections, fixture, sample_frames, write_published
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.weights import load_weights
from vis4d.model.yolox.detector import YOLOX

TEST_SIZE = (800, 1440)


@pytest.mark.slow
def test_published_bytetrack_nano_detects_what_bytetrack_detects(torch_home: Path) -> None:
    keys, outputs = fixture("bytetrack")
    write_published(torch_home, "bytetrack_nano_mot17.pth.tar", keys, wrap="model", input_std=0.35)
    model = YOLOX(YOLOXConfig(size="nano", score_threshold=0.01, nms_iou=0.7), 1)
    name = "bytetrack://bytetrack_nano_mot17.pth.tar"
    checkpoint = load_weights(model, name, ["person"], strict=True, option="model.weights")
    assert checkpoint.layout == "ByteTrack YOLOX" and checkpoint.categories == ["person"]
    assert checkpoint.conventions["test_handler.channel_order"] == "RGB"
    model.eval().fold_batch_norm()
    frames = list(sample_frames())
    assert [f["name"] for f in outputs["frames"]] == [name for _, name, _ in frames]
    with torch.no_grad():
        for (_, frame, path), expected in zip(frames, outputs["frames"], strict=True):
            image, ratio = bytetrack_input(path, TEST_SIZE)
            assert image.shape[-2:] == TEST_SIZE
            (found,) = model.detect(model.extract_features(image), [tuple(expected["input_hw"])])
            assert len(found.boxes) > 40, frame
            assert_same_detections(found, ratio, expected["detections"], frame)
