from __future__ import annotations

import torch

from vis4d.model.detect.matcher import box_iof, ignore_overlapping, match_boxes, sample_balanced


def test_thresholds_split_fg_ignore_bg() -> None:
    iou = torch.tensor([[0.9, 0.5, 0.2, 0.0], [0.1, 0.6, 0.25, 0.75]])
    matched, labels = match_boxes(iou, fg_thr=0.7, bg_thr=0.3, allow_low_quality=False)
    assert labels.tolist() == [1, -1, 0, 1]
    assert matched[0] == 0 and matched[3] == 1


def test_low_quality_matches_give_every_gt_a_positive() -> None:
    # gt 1's best candidate (index 2, IoU 0.4) is below fg_thr but becomes positive.
    iou = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.2, 0.4]])
    matched, labels = match_boxes(iou, fg_thr=0.7, bg_thr=0.3, allow_low_quality=True)
    assert labels.tolist() == [1, 0, 1]
    assert matched[2] == 1
    without = match_boxes(iou, 0.7, 0.3, allow_low_quality=False)[1]
    assert without.tolist() == [1, 0, -1]
    # A gt overlapping nothing does not turn zero-IoU candidates into positives.
    iou_none = torch.tensor([[0.0, 0.0, 0.0]])
    assert match_boxes(iou_none, 0.7, 0.3, allow_low_quality=True)[1].tolist() == [0, 0, 0]


def test_no_ground_truth_means_all_background() -> None:
    matched, labels = match_boxes(torch.zeros(0, 5), 0.7, 0.3, allow_low_quality=True)
    assert labels.tolist() == [0] * 5 and matched.shape == (5,)


def test_ignore_regions_by_intersection_over_candidate_area() -> None:
    candidates = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [40.0, 40.0, 50.0, 50.0]])
    region = torch.tensor([[0.0, 0.0, 100.0, 30.0]])  # large crowd region: IoU small, IoF 1
    torch.testing.assert_close(box_iof(candidates, region), torch.tensor([[1.0, 1.0, 0.0]]))
    labels = torch.tensor([0, 1, 0])
    assert ignore_overlapping(labels, candidates, region).tolist() == [-1, -1, 0]
    assert ignore_overlapping(labels, candidates, torch.zeros(0, 4)).tolist() == [0, 1, 0]


def test_sample_balanced_respects_fraction_and_fills_with_negatives() -> None:
    labels = torch.tensor([1] * 40 + [0] * 100 + [-1] * 10)
    generator = torch.Generator().manual_seed(0)
    pos, neg = sample_balanced(labels, batch_size=64, positive_fraction=0.25, generator=generator)
    assert pos.numel() == 16 and neg.numel() == 48
    assert (labels[pos] == 1).all() and (labels[neg] == 0).all()
    assert pos.unique().numel() == 16 and neg.unique().numel() == 48
    few = torch.tensor([1] * 3 + [0] * 100)
    pos, neg = sample_balanced(few, batch_size=64, positive_fraction=0.5)
    assert pos.numel() == 3 and neg.numel() == 61


def test_sample_balanced_is_random_but_seedable() -> None:
    labels = torch.tensor([1] * 50 + [0] * 50)
    first = sample_balanced(labels, 20, 0.5, torch.Generator().manual_seed(1))
    again = sample_balanced(labels, 20, 0.5, torch.Generator().manual_seed(1))
    other = sample_balanced(labels, 20, 0.5, torch.Generator().manual_seed(2))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])
