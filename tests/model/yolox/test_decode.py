from __future__ import annotations

import torch

from vis4d.model.yolox.decode import SelectionSettings, decode_boxes, grid_priors, select_detections


def test_grid_priors_are_row_major_per_level_finest_first() -> None:
    cells, strides = grid_priors([(2, 3), (1, 2)], [8, 16], torch.device("cpu"))
    assert cells.tolist() == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1], [0, 0], [1, 0]]
    assert strides.squeeze(1).tolist() == [8] * 6 + [16] * 2


def test_decoding_centres_on_the_cell_corner_plus_offset() -> None:
    cells = torch.tensor([[2.0, 1.0]])
    strides = torch.tensor([[8.0]])
    offsets = torch.tensor([[[0.5, 0.25, 0.0, torch.log(torch.tensor(2.0))]]])
    boxes = decode_boxes(offsets.half(), cells, strides)  # AMP outputs decode in float32
    assert boxes.dtype == torch.float32
    # centre (2.5 * 8, 1.25 * 8) = (20, 10); size (8, 16)
    torch.testing.assert_close(boxes, torch.tensor([[[16.0, 2.0, 24.0, 18.0]]]), atol=1e-2, rtol=0)


def _scored(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [50.0, 50.0, 60.0, 60.0], [0, 0, 10, 9.0]])
    class_probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.95, 0.0]])
    objectness = torch.tensor([1.0, 0.9, 0.5, 0.005])
    return boxes[None, :n], class_probs[None, :n], objectness[None, :n]


def test_selection_scores_threshold_and_per_class_nms() -> None:
    boxes, probs, objectness = _scored(4)
    ((kept, scores, classes),) = select_detections(boxes, probs, objectness, SelectionSettings(0.01, 0.5))
    # box 3 scores 0.005 * 0.95 < 0.01; boxes 0 and 1 overlap (IoU 0.82) but differ in class
    torch.testing.assert_close(scores, torch.tensor([0.9, 0.72, 0.35]))
    assert classes.tolist() == [0, 1, 0] and kept[2].tolist() == [50.0, 50.0, 60.0, 60.0]
    ((_, scores, _),) = select_detections(boxes, probs, objectness, SelectionSettings(0.01, 0.5, class_agnostic=True))
    torch.testing.assert_close(scores, torch.tensor([0.9, 0.35]))
    ((_, scores, _),) = select_detections(boxes, probs, objectness, SelectionSettings(0.01, 0.5, max_detections=2))
    assert len(scores) == 2
    ((_, scores, _),) = select_detections(boxes, probs, objectness, SelectionSettings(0.0, 0.5, pre_nms_top_k=1))
    torch.testing.assert_close(scores, torch.tensor([0.9]))


def test_selection_is_per_image() -> None:
    boxes, probs, objectness = _scored(3)
    empty_objectness = torch.zeros_like(objectness)
    results = select_detections(
        torch.cat((boxes, boxes)), torch.cat((probs, probs)), torch.cat((objectness, empty_objectness)),
        SelectionSettings(0.01, 0.5),
    )  # fmt: skip
    assert [len(scores) for _, scores, _ in results] == [3, 0]
