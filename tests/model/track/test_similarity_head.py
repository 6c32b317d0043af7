from collections import OrderedDict

import pytest
import torch

from vis4d.common.errors import ConfigError
from vis4d.config.schema import SimilarityHeadConfig
from vis4d.model.track.similarity_head import SimilarityHead

LEVELS = ["p2", "p3", "p4", "p5"]


def features(batch: int = 2, channels: int = 16) -> OrderedDict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return OrderedDict(
        (name, torch.randn(batch, channels, 64 // stride, 96 // stride, generator=gen))
        for name, stride in zip(LEVELS, (4, 8, 16, 32), strict=True)
    )


def tiny_cfg(**kw) -> SimilarityHeadConfig:
    base = dict(num_convs=2, conv_channels=16, norm_groups=4, num_fcs=1, fc_dim=32, embedding_dim=8)
    base.update(kw)
    return SimilarityHeadConfig(**base)


def test_output_shapes_per_image_and_gradients():
    torch.manual_seed(0)
    head = SimilarityHead(tiny_cfg(), in_channels=16, featmap_names=LEVELS)
    boxes = [torch.tensor([[0.0, 0.0, 30.0, 40.0], [10.0, 5.0, 90.0, 60.0]]), torch.tensor([[5.0, 5.0, 20.0, 20.0]])]
    out = head(features(), boxes, [(64, 96), (64, 96)])
    assert [tuple(o.shape) for o in out] == [(2, 8), (1, 8)]
    assert len(head.convs) == 6  # 2 x (conv, GroupNorm, ReLU)
    torch.stack([o.sum() for o in out]).sum().backward()
    conv = head.convs[0]
    assert isinstance(conv, torch.nn.Conv2d) and conv.weight.grad is not None
    assert head.embed.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_different_boxes_give_different_embeddings_same_box_same_embedding():
    torch.manual_seed(0)
    head = SimilarityHead(tiny_cfg(), in_channels=16, featmap_names=LEVELS).eval()
    feats = features(batch=1)
    b = torch.tensor([[0.0, 0.0, 30.0, 40.0], [50.0, 10.0, 90.0, 60.0], [0.0, 0.0, 30.0, 40.0]])
    (emb,) = head(feats, [b], [(64, 96)])
    assert torch.allclose(emb[0], emb[2])
    assert not torch.allclose(emb[0], emb[1])


def test_no_boxes_and_no_norm():
    head = SimilarityHead(tiny_cfg(norm_groups=0, num_fcs=0), in_channels=16, featmap_names=LEVELS)
    assert not any(isinstance(m, torch.nn.GroupNorm) for m in head.modules())
    out = head(features(), [torch.zeros(0, 4), torch.zeros(0, 4)], [(64, 96), (64, 96)])
    assert [tuple(o.shape) for o in out] == [(0, 8), (0, 8)]
    out = head(features(), [torch.zeros(0, 4), torch.tensor([[1.0, 1.0, 30.0, 30.0]])], [(64, 96), (64, 96)])
    assert [tuple(o.shape) for o in out] == [(0, 8), (1, 8)]


def test_groupnorm_groups_must_divide_channels():
    with pytest.raises(ConfigError, match="norm_groups"):
        SimilarityHead(tiny_cfg(norm_groups=5), in_channels=16, featmap_names=LEVELS)


def test_forward_equals_plain_nchw_computation():
    torch.manual_seed(0)
    head = SimilarityHead(tiny_cfg(), in_channels=16, featmap_names=LEVELS).eval()
    feats = features(batch=1)
    boxes = [torch.tensor([[0.0, 0.0, 30.0, 40.0], [50.0, 10.0, 90.0, 60.0]])]
    with torch.no_grad():
        pooled = head.roi_align(feats, boxes).contiguous()
        expected = head.embed(head.fcs(head.convs(pooled).flatten(start_dim=1)))
        (out,) = head(feats, boxes, [(64, 96)])
    assert torch.allclose(out, expected, atol=1e-5)
