import math

import pytest
import torch

from vis4d.config.schema import TrackLossConfig
from vis4d.model.track.losses import (
    embedding_l2_loss,
    multi_positive_cross_entropy,
    qdtrack_losses,
    track_targets,
)


def test_multi_positive_ce_single_positive_row_matches_hand_value():
    similarity = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # row 1 has no positive: skipped
    expected = math.log(1 + math.exp(2 - 1) + math.exp(0 - 1))
    assert multi_positive_cross_entropy(similarity, targets).item() == pytest.approx(expected, rel=1e-6)


def test_multi_positive_ce_several_positives_is_mean_over_rows():
    similarity = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    row0 = math.log(1 + math.exp(2 - 1) + math.exp(2 - 0))
    row1 = math.log(1 + math.exp(0.5 + 1) + math.exp(3 + 1))
    assert multi_positive_cross_entropy(similarity, targets).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_multi_positive_ce_stable_for_large_values_and_differentiable():
    similarity = torch.tensor([[1000.0, 2000.0, -500.0]], requires_grad=True)
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    loss = multi_positive_cross_entropy(similarity, targets)
    assert loss.item() == pytest.approx(1000.0, rel=1e-6)  # log(1 + e^1000 + ...) ~ 1000
    loss.backward()
    grad = similarity.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad[0, 0] < 0 < grad[0, 1]


def test_multi_positive_ce_without_positives_or_negatives_is_zero():
    similarity = torch.randn(2, 3, requires_grad=True)
    assert multi_positive_cross_entropy(similarity, torch.zeros(2, 3)).item() == 0.0
    assert multi_positive_cross_entropy(similarity, torch.ones(2, 3)).item() == 0.0
    multi_positive_cross_entropy(similarity, torch.zeros(2, 3)).backward()  # still attached to the graph


def test_embedding_l2_loss_hard_mining_and_margin():
    cosine = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.8, -0.3]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    # positives: (1-0.9)^2, (1-0.8)^2; negatives above margin 0.3: only 0.5 -> 0.2^2
    pos = 0.1**2 + 0.2**2
    # 4 negatives > 1 x 2 positives: keep the 2 hardest (0.04 and 0)
    assert embedding_l2_loss(cosine, targets, neg_pos_ratio=1.0, neg_margin=0.3).item() == pytest.approx(
        (pos + 0.04) / 4
    )
    # ratio 3 keeps all 4 negatives
    assert embedding_l2_loss(cosine, targets, neg_pos_ratio=3.0, neg_margin=0.3).item() == pytest.approx(
        (pos + 0.04) / 6
    )
    # a positive margin shifts the positive cost: clamp(0.9 - 0.1) -> (1 - 0.8)^2
    with_margin = embedding_l2_loss(cosine, targets, neg_pos_ratio=3.0, pos_margin=0.1, neg_margin=0.3).item()
    assert with_margin == pytest.approx((0.2**2 + 0.3**2 + 0.04) / 6)


def test_embedding_l2_loss_without_positives_keeps_no_negative():
    cosine = torch.tensor([[0.9, 0.5]], requires_grad=True)
    assert embedding_l2_loss(cosine, torch.zeros(1, 2)).item() == 0.0


def test_track_targets_ignore_unknown_ids():
    targets = track_targets(torch.tensor([5, -1]), torch.tensor([5, -1, 9]))
    assert targets.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_qdtrack_losses_hand_computed():
    key = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ref = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    cfg = TrackLossConfig()  # weights 0.25 / 1.0, margin 0.3, ratio 3
    losses = qdtrack_losses(key, ref, torch.tensor([5, 7]), torch.tensor([5, -1, 9]), cfg)
    assert set(losses) == {"track_loss", "track_aux_loss"}
    # dot products [[1, 0, 1], [0, 1, 1]]; only row 0 has a positive (column 0)
    ce = math.log(1 + math.exp(0 - 1) + math.exp(1 - 1))
    assert losses["track_loss"].item() == pytest.approx(0.25 * ce, rel=1e-6)
    # cosine [[1, 0, c], [0, 1, c]], c = 1/sqrt(2); positive costs 0; 5 negatives, keep the 3 hardest
    c = 1 / math.sqrt(2)
    aux = ((1 - 0.3) ** 2 + 2 * (c - 0.3) ** 2) / 4
    assert losses["track_aux_loss"].item() == pytest.approx(aux, rel=1e-5)


def test_qdtrack_losses_average_pairs_and_temperature():
    key = torch.tensor([[1.0, 0.0]])
    ref = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ids_k, ids_r = torch.tensor([1]), torch.tensor([1, 2])
    cfg = TrackLossConfig(track_loss_weight=1.0, softmax_temperature=0.5)
    single = qdtrack_losses(key, ref, ids_k, ids_r, cfg)
    # similarity / 0.5 = [2, 0] -> log(1 + e^(0-2))
    assert single["track_loss"].item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)
    no_pos = torch.tensor([3])
    pair = qdtrack_losses([key, key], [ref, ref], [ids_k, no_pos], [ids_r, ids_r], cfg)
    assert pair["track_loss"].item() == pytest.approx(single["track_loss"].item() / 2, rel=1e-6)


def test_qdtrack_losses_rejects_mixed_arguments():
    with pytest.raises(TypeError):
        qdtrack_losses(torch.zeros(1, 2), [torch.zeros(1, 2)], torch.zeros(1), torch.zeros(1), TrackLossConfig())


def test_losses_train_a_similarity_head_to_separate_instances():
    """End to end on fixed features: sampled RoIs + losses + head learn to tell 3 objects apart."""
    from collections import OrderedDict

    from vis4d.common.structures import Targets
    from vis4d.config.schema import SimilarityHeadConfig, TrackSamplerConfig
    from vis4d.model.track.sampling import sample_track_rois
    from vis4d.model.track.similarity_head import SimilarityHead

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    feats = OrderedDict(p2=torch.randn(1, 8, 16, 24, generator=gen), p3=torch.randn(1, 8, 8, 12, generator=gen))
    gt = Targets(
        torch.tensor([[4.0, 4.0, 30.0, 40.0], [36.0, 8.0, 60.0, 56.0], [64.0, 4.0, 92.0, 30.0]]),
        torch.zeros(3, dtype=torch.int64),
        torch.tensor([1, 2, 3]),
        torch.zeros(3, dtype=torch.bool),
    )
    head = SimilarityHead(
        SimilarityHeadConfig(num_convs=1, conv_channels=8, norm_groups=2, fc_dim=32, embedding_dim=8),
        in_channels=8,
        featmap_names=["p2", "p3"],
    )
    cfg = TrackLossConfig()
    sampler = TrackSamplerConfig(batch_size_per_image=32)
    history = []
    for _ in range(15):
        proposals = gt.boxes.repeat(8, 1) + torch.randn(24, 4, generator=gen) * 2.0
        key = sample_track_rois(proposals, gt, sampler, gen)
        ref = sample_track_rois(proposals + torch.randn(24, 4, generator=gen), gt, sampler, gen)
        (key_emb,) = head(feats, [key.positive_boxes], [(64, 96)])
        (ref_emb,) = head(feats, [ref.boxes], [(64, 96)])
        losses = qdtrack_losses(key_emb, ref_emb, key.positive_track_ids, ref.track_ids, cfg)
        total = losses["track_loss"] + losses["track_aux_loss"]
        head.zero_grad()
        total.backward()
        with torch.no_grad():  # plain SGD (torch.optim's first import costs seconds)
            for param in head.parameters():
                if param.grad is not None:
                    param.sub_(0.05 * param.grad)
        history.append(total.item())
    assert sum(history[-3:]) / 3 < 0.5 * sum(history[:3]) / 3
