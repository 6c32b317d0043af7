from __future__ import annotations

import torch

from vis4d.common.structures import Targets
from vis4d.model.yolox.decode import decode_boxes, grid_priors
from vis4d.model.yolox.head import HeadOutput
from vis4d.model.yolox.losses import l1_targets, paired_iou, yolox_losses
from vis4d.model.yolox.simota import SimOTASettings


def test_paired_iou() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 2.0, 2.0]])
    targets = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [5.0, 5.0, 6.0, 6.0]])
    torch.testing.assert_close(paired_iou(boxes, targets), torch.tensor([1.0, 1 / 3, 0.0]))


def test_l1_targets_decode_back_to_the_boxes() -> None:
    cells = torch.tensor([[3.0, 1.0], [0.0, 5.0]])
    strides = torch.tensor([[8.0], [16.0]])
    gt = torch.tensor([[20.0, 4.0, 50.0, 30.0], [2.0, 70.0, 40.0, 100.0]])
    torch.testing.assert_close(decode_boxes(l1_targets(gt, cells, strides), cells, strides), gt)


def _head(batch: int, sizes: list[tuple[int, int]], classes: int, generator: torch.Generator) -> HeadOutput:
    cells = sum(h * w for h, w in sizes)
    return HeadOutput(
        torch.randn(batch, cells, classes, generator=generator, requires_grad=True),
        (0.1 * torch.randn(batch, cells, 4, generator=generator)).requires_grad_(),
        torch.randn(batch, cells, generator=generator, requires_grad=True),
        sizes,
    )


def test_losses_with_an_empty_image_an_ignored_box_and_the_l1_switch() -> None:
    generator = torch.Generator().manual_seed(0)
    sizes = [(8, 8), (4, 4), (2, 2)]
    head = _head(2, sizes, 3, generator)
    cells, strides = grid_priors(sizes, [8, 16, 32], torch.device("cpu"))
    boxes = decode_boxes(head.box_offsets, cells, strides)
    first = Targets(torch.tensor([[8.0, 8.0, 40.0, 40.0], [30.0, 30.0, 60.0, 50.0]]), torch.tensor([0, 2]),
                    torch.tensor([0, 1]), torch.tensor([False, True]))  # fmt: skip
    targets = [first, Targets.empty()]
    without = yolox_losses(head, boxes, cells, strides, targets, SimOTASettings(), 5.0, with_l1=False)
    with_l1 = yolox_losses(head, boxes, cells, strides, targets, SimOTASettings(), 5.0, with_l1=True)
    assert set(without) == {"yolox_iou", "yolox_obj", "yolox_cls"}
    assert set(with_l1) == set(without) | {"yolox_l1"}
    for key in without:
        torch.testing.assert_close(without[key], with_l1[key])
    ignored_dropped = Targets(first.boxes[:1], first.class_ids[:1], first.track_ids[:1], first.ignore[:1])
    same = yolox_losses(head, boxes, cells, strides, [ignored_dropped, Targets.empty()], SimOTASettings(), 5.0, False)
    for key in without:
        torch.testing.assert_close(without[key], same[key])
    torch.stack(list(with_l1.values())).sum().backward()
    assert head.class_logits.grad is not None and head.class_logits.grad[1].abs().sum() == 0  # no box: no class loss
    assert head.objectness_logits.grad is not None and head.objectness_logits.grad[1].abs().sum() > 0


def test_no_boxes_at_all_only_objectness_learns() -> None:
    generator = torch.Generator().manual_seed(1)
    sizes = [(2, 2), (1, 1), (1, 1)]
    head = _head(1, sizes, 2, generator)
    cells, strides = grid_priors(sizes, [8, 16, 32], torch.device("cpu"))
    losses = yolox_losses(head, decode_boxes(head.box_offsets, cells, strides), cells, strides, [Targets.empty()],
                          SimOTASettings(), 5.0, with_l1=True)  # fmt: skip
    assert losses["yolox_iou"] == 0 and losses["yolox_cls"] == 0 and losses["yolox_l1"] == 0
    expected = torch.nn.functional.softplus(head.objectness_logits).sum()  # BCE against 0, normalised by 1
    torch.testing.assert_close(losses["yolox_obj"], expected)
