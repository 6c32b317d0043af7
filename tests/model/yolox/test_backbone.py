from __future__ import annotations

import pytest
import torch

from vis4d.config.yolox_schema import YOLOX_SIZES, YOLOXConfig
from vis4d.model.yolox.backbone import PAFPN, CSPDarknet
from vis4d.model.yolox.blocks import ConvStyle, DepthwiseConv, Focus, SPPBottleneck
from vis4d.model.yolox.detector import YOLOX

# Parameters (millions) of the published models with 80 classes: the YOLOX paper's and Megvii's README.
PUBLISHED_PARAMS = {"nano": 0.91, "tiny": 5.06, "s": 9.0, "m": 25.3, "l": 54.2, "x": 99.1}


@pytest.mark.parametrize("size", list(YOLOX_SIZES))
def test_published_sizes_have_the_papers_parameter_counts(size: str) -> None:
    with torch.device("meta"):
        model = YOLOX(YOLOXConfig(size=size), 80)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert params == pytest.approx(PUBLISHED_PARAMS[size], abs=0.006 * PUBLISHED_PARAMS[size] + 0.005)
    depthwise = any(isinstance(m, DepthwiseConv) for m in model.modules())
    assert depthwise == (size == "nano")


def test_backbone_and_neck_shapes() -> None:
    style = ConvStyle()
    backbone = CSPDarknet(0.33, 0.25, style)
    neck = PAFPN(backbone.channels, 64, 0.33, style)
    images = torch.rand(2, 3, 64, 96)
    c3, c4, c5 = backbone(images)
    assert [tuple(c.shape) for c in (c3, c4, c5)] == [(2, 64, 8, 12), (2, 128, 4, 6), (2, 256, 2, 3)]
    outputs = neck(c3, c4, c5)
    assert [tuple(o.shape) for o in outputs] == [(2, 64, 8, 12), (2, 64, 4, 6), (2, 64, 2, 3)]


def test_focus_stacks_the_four_sub_images_in_the_references_order() -> None:
    focus = Focus(1, 4, ConvStyle())
    captured = {}
    focus.conv.register_forward_hook(lambda _m, inputs, _o: captured.update(x=inputs[0]))
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    focus(image)
    stacked = captured["x"][0, :, 0, 0]  # the top-left 2x2 block: pixels 0, 1 (right), 4 (below), 5
    assert stacked.tolist() == [0.0, 4.0, 1.0, 5.0]


def test_explicit_multipliers_override_the_size() -> None:
    cfg = YOLOXConfig(size="s", width=0.25, depthwise=True)
    assert cfg.multipliers() == (0.33, 0.25, True)
    with pytest.raises(ValueError):
        YOLOXConfig(size="xl")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        YOLOXConfig(nms_threshold=0.5)  # type: ignore[call-arg]


def test_chained_pools_equal_the_spp_windows() -> None:
    spp = SPPBottleneck(8, 8, ConvStyle())
    pooled = {}
    spp.conv2.register_forward_hook(lambda _m, inputs, _o: pooled.update(x=inputs[0]))
    x = torch.randn(2, 8, 11, 13)
    spp(x)
    hidden = spp.conv1(x)
    direct = [torch.nn.functional.max_pool2d(hidden, k, 1, k // 2) for k in (5, 9, 13)]
    torch.testing.assert_close(pooled["x"], torch.cat([hidden, *direct], dim=1), rtol=0, atol=0)
