from __future__ import annotations

import math

import torch

from vis4d.model.detect.box_coder import DEFAULT_SCALE_CLAMP, clip_boxes, decode_boxes, encode_boxes


def _random_boxes(count: int, generator: torch.Generator) -> torch.Tensor:
    top_left = torch.rand(count, 2, generator=generator) * 100
    size = torch.rand(count, 2, generator=generator) * 50 + 1
    return torch.cat((top_left, top_left + size), dim=1)


def test_encode_decode_round_trip() -> None:
    generator = torch.Generator().manual_seed(0)
    reference, proposals = _random_boxes(50, generator), _random_boxes(50, generator)
    for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
        deltas = encode_boxes(reference, proposals, weights)
        torch.testing.assert_close(decode_boxes(deltas, proposals, weights), reference, rtol=1e-4, atol=1e-3)


def test_encode_known_values() -> None:
    proposal = torch.tensor([[0.0, 0.0, 10.0, 20.0]])
    reference = torch.tensor([[5.0, 0.0, 25.0, 20.0]])  # centre +10 in x, twice as wide
    deltas = encode_boxes(reference, proposal, (10.0, 10.0, 5.0, 5.0))
    torch.testing.assert_close(deltas, torch.tensor([[10.0, 0.0, 5 * math.log(2.0), 0.0]]))


def test_decode_clamps_scale_and_broadcasts_over_classes() -> None:
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]])
    huge = torch.tensor([[[0.0, 0.0, 100.0, 100.0], [0.0, 0.0, 0.0, 0.0]]])  # (1 box, 2 classes, 4)
    decoded = decode_boxes(huge, boxes[:, None, :])
    assert decoded.shape == (1, 2, 4)
    width = decoded[0, 0, 2] - decoded[0, 0, 0]
    torch.testing.assert_close(width, torch.tensor(16 * math.exp(DEFAULT_SCALE_CLAMP)))
    torch.testing.assert_close(decoded[0, 1], boxes[0])
    assert decode_boxes(huge.half(), boxes).dtype == torch.float32


def test_clip_boxes_with_per_image_sizes() -> None:
    boxes = torch.tensor([[[-5.0, -5.0, 200.0, 200.0]], [[-5.0, 10.0, 200.0, 20.0]]])
    heights = torch.tensor([[50.0], [30.0]])
    widths = torch.tensor([[60.0], [100.0]])
    clipped = clip_boxes(boxes, heights, widths)
    torch.testing.assert_close(clipped, torch.tensor([[[0.0, 0.0, 60.0, 50.0]], [[0.0, 10.0, 100.0, 20.0]]]))
    torch.testing.assert_close(clip_boxes(boxes[0], 10.0, 20.0), torch.tensor([[0.0, 0.0, 20.0, 10.0]]))
