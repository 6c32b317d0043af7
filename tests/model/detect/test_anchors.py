from __future__ import annotations

import pytest
import torch

from vis4d.common.errors import ConfigError
from vis4d.model.detect.anchors import AnchorGenerator, anchor_sizes_for_levels


def test_anchor_shapes_areas_and_order() -> None:
    generator = AnchorGenerator([32.0, 64.0], [0.5, 1.0, 2.0], strides=[4, 8])
    anchors = generator([(2, 3), (1, 2)], torch.device("cpu"))
    assert generator.num_anchors([(2, 3), (1, 2)]) == [18, 6]
    assert anchors.shape == (18 + 6, 4)
    first, second = anchors[:18], anchors[18:]
    second_widths = second[:, 2] - second[:, 0]
    second_heights = second[:, 3] - second[:, 1]
    torch.testing.assert_close(second_widths * second_heights, torch.full((6,), 4096.0), rtol=0.05, atol=0)
    torch.testing.assert_close((second[3, :2] + second[3, 2:]) / 2, torch.tensor([8.0, 0.0]))
    widths, heights = first[:, 2] - first[:, 0], first[:, 3] - first[:, 1]
    # aspect ratio is height / width; areas stay close to size**2 (corners are rounded)
    torch.testing.assert_close(heights[:3] / widths[:3], torch.tensor([0.5, 1.0, 2.0]), rtol=0.05, atol=0)
    torch.testing.assert_close(widths * heights, torch.full((18,), 1024.0), rtol=0.05, atol=0)
    centres = (first[:, :2] + first[:, 2:]) / 2
    # order (y, x, shape): cell (y=0, x=1) is the second group of three
    torch.testing.assert_close(centres[3], torch.tensor([4.0, 0.0]))
    torch.testing.assert_close(centres[9], torch.tensor([0.0, 4.0]))


def test_anchors_are_cached_per_size() -> None:
    generator = AnchorGenerator([32.0], [1.0], strides=[4])
    first = generator([(4, 4)], torch.device("cpu"))
    assert generator([(4, 4)], torch.device("cpu")) is first
    assert generator([(4, 5)], torch.device("cpu")).shape == (20, 4)


def test_anchor_sizes_follow_levels() -> None:
    assert anchor_sizes_for_levels([32, 64, 128, 256, 512], ["p3", "p4", "p5", "p6"]) == [64, 128, 256, 512]
    assert anchor_sizes_for_levels([8, 16, 32, 64], ["p3", "p4", "p5", "p6"]) == [8, 16, 32, 64]
    with pytest.raises(ConfigError, match="model.detector.rpn.anchor_sizes"):
        anchor_sizes_for_levels([32, 64], ["p2", "p3", "p4"])
