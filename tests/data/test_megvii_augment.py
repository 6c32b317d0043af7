"""vis4d's mosaic, affine, mixup, HSV and flip equal Megvii's (``yolox`` 0.3.0) given the same random draws.

``fixtures/megvii_augment`` holds what Megvii's ``MosaicDetection`` + ``TrainTransform`` made of six small frames
and every random number it drew (its ``make_fixture.py`` says how it was made). The test replays those numbers
through :meth:`FrameDataset.sample` with a generator that hands them out in order, checking that vis4d asks for
the same kind of draw at each point, and compares the output image and boxes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vis4d.config.schema import (
    AffineConfig,
    FlipConfig,
    HandlerConfig,
    HSVConfig,
    MixupConfig,
    MosaicConfig,
    ResizeConfig,
)
from vis4d.data.handler import FrameDataset
from vis4d.data.store import FrameRecord, build_store, empty_box_columns

FIXTURE = Path(__file__).parent / "fixtures" / "megvii_augment"
META = json.loads((FIXTURE / "fixture.json").read_text())
ARRAYS = np.load(FIXTURE / "fixture.npz")
CATEGORIES = ["a", "b", "c"]


class ScriptedDraws:
    """A stand-in for ``np.random.Generator`` that returns the reference's recorded draws in order."""

    def __init__(self, draws: list[list[Any]]) -> None:
        self.draws = list(draws)

    def _next(self, kind: str) -> Any:
        assert self.draws, f"vis4d drew more ({kind}) than the reference"
        recorded, value = self.draws.pop(0)
        assert recorded == kind, f"vis4d drew {kind} where the reference drew {recorded}"
        return value

    def random(self) -> float:
        return float(self._next("random"))

    def uniform(self, low: float, high: float, size: int | None = None) -> Any:
        return np.array(self._next("np_uniform")) if size is not None else float(self._next("uniform"))

    def integers(self, low: int, high: int | None = None, size: int | None = None) -> Any:
        if size is not None:
            return np.array(self._next("np_randint"))
        value = int(self._next("randint"))
        top = low if high is None else high
        assert (0 if high is None else low) <= value < top
        return value


def _dataset(tmp_path: Path, probs: dict[str, float]) -> FrameDataset:
    records = []
    for i, labels in enumerate(META["labels"]):
        path = FIXTURE / "images" / f"{i}.png"
        import cv2

        height, width = cv2.imread(str(path)).shape[:2]
        cols = empty_box_columns(len(labels))
        cols["boxes"][:] = np.array(labels, dtype=np.float32)[:, :4]
        cols["class_ids"][:] = np.array(labels)[:, 4].astype(np.int64)
        records.append(FrameRecord(f"{i}.png", f"v{i}", 0, str(path), width, height, cols))
    shape = tuple(META["input"])
    cfg = HandlerConfig(
        transforms=[
            HSVConfig(),
            ResizeConfig(shape=shape, rounding="floor", backend="opencv", box_scale="ratio"),
            FlipConfig(prob=0.5),
        ],
        mosaic=MosaicConfig(prob=probs["mosaic_prob"], shape=shape),
        affine=AffineConfig(),
        mixup=MixupConfig(prob=probs["mixup_prob"]),
        min_box_size=1.0,
    )
    return FrameDataset(build_store(CATEGORIES, records), cfg, CATEGORIES, training=True)


@pytest.mark.parametrize("sample", META["samples"], ids=lambda s: s["key"])
def test_replayed_draws_give_megvii_pixels_and_boxes(sample: dict[str, Any], tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, META["settings"][sample["setting"]])
    draws = ScriptedDraws(sample["draws"])
    view = dataset.sample(sample["index"], draws, epoch=0).views[0]  # type: ignore[arg-type]
    assert not draws.draws, "the reference drew more than vis4d"

    labels = ARRAYS[f"{sample['key']}_labels"]  # class, cx, cy, w, h
    if (labels[:, 3:].min(axis=1) <= 1).all():
        # Megvii's TrainTransform, left without a box larger than 1 pixel, falls back to the frame before its
        # HSV and flip with every box, empty ones included; vis4d keeps the sample with no box instead.
        assert len(view.targets.boxes) == 0
        return
    expected = ARRAYS[f"{sample['key']}_image"]  # 3 x H x W, BGR, letterboxed with 114
    ours = view.image.flip(0).numpy()  # vis4d decodes RGB
    h, w = view.hw
    # Mosaics are bit-exact; a plain frame is flipped after its resize in vis4d and before it in Megvii's
    # TrainTransform, which OpenCV's fixed-point bilinear weights may round 1 apart.
    tolerance = 0 if len(sample["draws"]) > 5 else 1
    assert np.abs(ours.astype(int) - expected[:, :h, :w].astype(int)).max() <= tolerance
    assert (expected[:, h:, :] == 114).all() and (expected[:, :, w:] == 114).all()

    boxes = view.targets.boxes.double()
    cxcywh = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                          boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1).numpy()  # fmt: skip
    assert len(labels) > 0 and cxcywh.shape == labels[:, 1:].shape
    np.testing.assert_allclose(cxcywh, labels[:, 1:], atol=1e-3)
    assert view.targets.class_ids.tolist() == labels[:, 0].astype(int).tolist()
