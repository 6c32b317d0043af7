"""Megvii's published YOLOX checkpoints compute in vis4d what Megvii's ``yolox`` 0.3.0 computes.

The oracle (``fixtures/megvii/``, made outside the suite, see its README) is
YOLOX-nano with 80 classes and seeded random weights, run by the ``yolox``
package on the 12 sample frames at a 384x672 test size (Megvii's test-time
letterbox: BGR, raw pixels, 114 at the bottom), test score 0.01, NMS 0.65,
and its training losses on two frames with their labels. Here the same
weights are written as ``yolox_nano.pth`` in the torch.hub cache and loaded
by the catalogue's URL, so the Megvii layout detection, the renaming and the
COCO categories are on the path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.model.yolox.conventions import megvii_input
from tests.model.yolox.oracle import assert_same_detections, fixture, sample_frames, write_published
from vis4d.common.structures import Targets
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.weights import load_weights
from vis4d.model.weights.catalogue import megvii_url
from vis4d.model.weights.yolox_common import coco_categories
from vis4d.model.yolox.detector import YOLOX

TEST_SIZE = (384, 672)


def _published_nano(torch_home: Path) -> YOLOX:
    keys, _ = fixture("megvii")
    write_published(torch_home, "yolox_nano.pth", keys, wrap="model")
    model = YOLOX(YOLOXConfig(size="nano"), 80)
    checkpoint = load_weights(model, megvii_url("nano"), coco_categories(), strict=True, option="model.weights")
    assert checkpoint.layout == "Megvii YOLOX" and checkpoint.categories == coco_categories()
    return model


@pytest.mark.slow
def test_published_nano_detects_what_megvii_detects(torch_home: Path) -> None:
    model = _published_nano(torch_home).eval()
    assert model.fold_batch_norm() > 0  # as test and predict run it
    _, outputs = fixture("megvii")
    frames = list(sample_frames())
    assert [f["name"] for f in outputs["frames"]] == [name for _, name, _ in frames]
    with torch.no_grad():
        for (_, name, path), expected in zip(frames, outputs["frames"], strict=True):
            image, ratio = megvii_input(path, TEST_SIZE)
            (found,) = model.detect(model.extract_features(image), [tuple(expected["input_hw"])])
            assert len(found.boxes) > 50, name  # the fixture's weights make a busy detector
            assert_same_detections(found, ratio, expected["detections"], name)


def test_training_losses_equal_megvii(torch_home: Path) -> None:
    model = _published_nano(torch_home).train()
    _, outputs = fixture("megvii")
    reference = outputs["losses"]
    paths = {name: path for _, name, path in sample_frames()}
    images = torch.cat([megvii_input(paths[name], TEST_SIZE)[0] for name in reference["images"]])
    targets = [
        Targets(
            torch.tensor(t["boxes"]),
            torch.tensor(t["class_ids"]),
            torch.arange(len(t["boxes"])),
            torch.zeros(len(t["boxes"]), dtype=torch.bool),
        )  # fmt: skip
        for t in reference["targets"]
    ]
    for with_l1, key in ((False, "no_l1"), (True, "l1")):
        model.enable_l1_loss(with_l1)
        losses, proposals = model.losses(model.extract_features(images), [TEST_SIZE] * 2, targets)
        expected = reference[key]
        names = {"yolox_iou": "iou_loss", "yolox_obj": "conf_loss", "yolox_cls": "cls_loss"}
        if with_l1:
            names["yolox_l1"] = "l1_loss"
        assert set(losses) == set(names)
        for ours, theirs in names.items():
            torch.testing.assert_close(losses[ours].item(), expected[theirs], rtol=1e-4, atol=1e-5, msg=ours)
        total = sum(losses.values())
        torch.testing.assert_close(float(total.detach()), expected["total_loss"], rtol=1e-4, atol=1e-5)
        assert all(not p.requires_grad and p.shape[1] == 4 for p in proposals)
