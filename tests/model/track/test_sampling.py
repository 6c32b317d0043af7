import torch

from vis4d.common.structures import Targets
from vis4d.config.schema import TrackSamplerConfig
from vis4d.model.track.sampling import round_robin_sample, sample_track_rois

GT_A = [0.0, 0.0, 100.0, 100.0]
GT_B = [200.0, 0.0, 300.0, 100.0]


def targets(boxes, track_ids, ignore=None) -> Targets:
    n = len(boxes)
    return Targets(
        torch.tensor(boxes, dtype=torch.float32).reshape(n, 4),
        torch.zeros(n, dtype=torch.int64),
        torch.tensor(track_ids, dtype=torch.int64),
        torch.tensor(ignore if ignore is not None else [False] * n),
    )


def strip(height: float, x0: float = 0.0) -> list[float]:
    """A box with IoU height/100 with the 100x100 ground-truth box at x0."""
    return [x0, 0.0, x0 + 100.0, height]


def test_round_robin_spreads_over_groups():
    groups = torch.tensor([0] * 50 + [1] * 2 + [2] * 3)
    picked = round_robin_sample(groups, 7, torch.Generator().manual_seed(0))
    counts = torch.bincount(groups[picked], minlength=3).tolist()
    assert len(set(picked.tolist())) == 7
    # ranks 0 and 1 take 3 + 3 (group 1 has only 2), the 7th comes from group 0 or group 2
    assert counts in ([3, 2, 2], [2, 2, 3])
    assert round_robin_sample(groups, 100).sort().values.tolist() == list(range(len(groups)))
    assert len(round_robin_sample(groups, 0)) == 0


def test_instance_balanced_positives():
    proposals = torch.tensor([strip(95 + i * 0.05) for i in range(100)] + [strip(96, 200), strip(97, 200)])
    cfg = TrackSamplerConfig(batch_size_per_image=20, positive_fraction=0.5)
    out = sample_track_rois(proposals, targets([GT_A, GT_B], [7, 9]), cfg, torch.Generator().manual_seed(0))
    assert int(out.positive.sum()) == 10
    ids = out.positive_track_ids.tolist()
    assert ids.count(9) == 3  # both of B's proposals and B's gt box: B is not crowded out by A's 101
    assert ids.count(7) == 7
    assert (out.track_ids[~out.positive] == -1).all()
    assert out.positive[: int(out.positive.sum())].all()  # positives first


def test_negatives_are_capped_and_iou_balanced():
    easy = [strip(5, 300 + 3 * i) for i in range(60)]  # IoU 0 with the gt (far away)
    hard = [strip(15), strip(16), strip(25), strip(26)]  # IoU 0.15-0.26: the hard negatives
    middle = [strip(50)]  # IoU 0.5: neither positive nor negative
    proposals = torch.tensor(easy + hard + middle)
    cfg = TrackSamplerConfig(batch_size_per_image=256, neg_pos_ub=3.0)
    out = sample_track_rois(proposals, targets([GT_A], [4]), cfg, torch.Generator().manual_seed(1))
    assert out.positive.tolist().count(True) == 1  # only the gt box itself
    negatives = out.boxes[~out.positive]
    assert len(negatives) == 3  # 3 x 1 positive
    # round robin over the IoU bins [0, .1), [.1, .2), [.2, .3): one easy, one from each hard bin
    heights = sorted(negatives[:, 3].tolist())
    assert heights[0] == 5.0 and heights[1] in (15.0, 16.0) and heights[2] in (25.0, 26.0)
    assert not any(h == 50.0 for h in out.boxes[:, 3].tolist())


def test_ignored_ground_truth_neither_positive_nor_negative():
    proposals = torch.tensor([strip(99, 200), [210.0, 10.0, 250.0, 50.0], [400.0, 0.0, 450.0, 50.0]])
    cfg = TrackSamplerConfig(add_gt_as_proposals=True)
    out = sample_track_rois(proposals, targets([GT_A, GT_B], [1, 2], ignore=[False, True]), cfg)
    assert out.positive_track_ids.tolist() == [1]  # the ignored B never becomes a positive
    negatives = out.boxes[~out.positive].tolist()
    assert negatives == [[400.0, 0.0, 450.0, 50.0]]  # boxes inside the ignore region are not negatives


def test_no_ground_truth_gives_few_negatives_only():
    proposals = torch.tensor([strip(50, 10 * i) for i in range(10)])
    out = sample_track_rois(proposals, Targets.empty(), TrackSamplerConfig())
    assert not out.positive.any() and len(out.boxes) == 3  # neg_pos_ub x max(1, #pos)
    assert (out.track_ids == -1).all()
    empty = sample_track_rois(torch.zeros(0, 4), Targets.empty(), TrackSamplerConfig())
    assert len(empty.boxes) == 0
