"""Multi-scale sizes: Megvii's rule, a function of (seed, step), the first interval at the input size."""

from __future__ import annotations

import pytest
import torch

from vis4d.common.structures import Batch, FrameMeta, Targets
from vis4d.config.schema import MultiScaleConfig
from vis4d.data.multiscale import multiscale_size, resize_batch


def test_sizes_follow_megvii_random_resize() -> None:
    cfg = MultiScaleConfig(heights=(480, 800), interval=10)
    assert multiscale_size(cfg, 0, 0, (640, 640)) == (640, 640) == multiscale_size(cfg, 0, 9, (640, 640))
    sizes = {multiscale_size(cfg, 0, step, (640, 640)) for step in range(10, 5000, 10)}
    assert sizes == {(32 * k, 32 * k) for k in range(15, 26)}  # Megvii: input / 32 +- 5, square input
    # ByteTrack's MOT17 input 800 x 1440 with random_size (18, 32): width = 32 * int(k * 1.8)
    wide = MultiScaleConfig(heights=(576, 1024))
    assert {multiscale_size(wide, 1, s, (800, 1440)) for s in range(10, 8000, 10)} == {
        (32 * k, 32 * int(k * 1.8)) for k in range(18, 33)
    }


def test_one_size_per_interval_the_same_for_every_process() -> None:
    cfg = MultiScaleConfig(heights=(64, 256), interval=4)
    sizes = [multiscale_size(cfg, 7, step, (128, 192)) for step in range(40)]
    assert all(len(set(sizes[i : i + 4])) == 1 for i in range(0, 40, 4))
    assert len(set(sizes)) > 1
    assert sizes == [multiscale_size(cfg, 7, step, (128, 192)) for step in range(40)]  # no state kept
    assert sizes != [multiscale_size(cfg, 8, step, (128, 192)) for step in range(40)]


def test_bad_ranges_are_refused() -> None:
    for heights in [(100, 200), (256, 128), (0, 64)]:
        with pytest.raises(ValueError, match="multiples of divisor"):
            MultiScaleConfig(heights=heights)


def test_resize_batch_scales_images_boxes_and_references() -> None:
    meta = FrameMeta("f", "v", 0, "f.png", (60, 90), (60, 90))
    boxes = torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    targets = Targets(boxes, torch.tensor([0]), torch.tensor([1]), torch.tensor([False]))
    ref = Batch(torch.rand(1, 3, 64, 96), [targets], [meta])
    batch = Batch(torch.rand(1, 3, 64, 96), [targets], [meta], refs=[ref])
    out = resize_batch(batch, (96, 128))
    assert out.images.shape == (1, 3, 96, 128) and out.refs[0].images.shape == (1, 3, 96, 128)
    expected = torch.tensor([[10 * 4 / 3, 20 * 1.5, 30 * 4 / 3, 40 * 1.5]])
    assert torch.allclose(out.targets[0].boxes, expected) and torch.allclose(out.refs[0].targets[0].boxes, expected)
    assert out.meta[0].input_hw == (90, 120)
    assert torch.allclose(out.images, torch.nn.functional.interpolate(batch.images, (96, 128), mode="bilinear"))
    assert resize_batch(batch, (64, 96)) is batch
