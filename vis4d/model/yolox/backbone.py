"""YOLOX's CSPDarknet backbone and PAFPN neck.

:class:`CSPDarknet` returns the stride 8, 16 and 32 maps of stages
``dark3``-``dark5``; :class:`PAFPN` fuses them top-down then bottom-up
(path aggregation) and ends, per level, with the 1x1 convolution to the
head's width (``int(256 * width)``) that Megvii's code calls the head's
``stems`` and mmdetection the neck's ``out_convs``. Placing it in the neck
gives every level the same number of channels, so a tracker's RoI pooler can
pool from any level (Vis4D 1.0's QDTrack-YOLOX does exactly this).

Widths and depths follow Megvii's ``CSPDarknet``/``YOLOPAFPN``: base width
``int(64 * width)``, ``max(round(3 * depth), 1)`` bottlenecks in ``dark2`` and
``dark5``, three times that in ``dark3`` and ``dark4``, ``round(3 * depth)`` in
every neck CSP layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vis4d.model.yolox.blocks import ConvNormAct, ConvStyle, CSPLayer, Focus, SPPBottleneck, conv3x3


class CSPDarknet(nn.Module):
    """Focus stem and four CSP stages; returns the stride 8, 16, 32 maps (``dark3``, ``dark4``, ``dark5``)."""

    def __init__(self, depth: float, width: float, style: ConvStyle) -> None:
        super().__init__()
        base = int(width * 64)
        blocks = max(round(depth * 3), 1)
        self.stem = Focus(3, base, style)
        self.dark2 = self._stage(base, 2 * base, blocks, style)
        self.dark3 = self._stage(2 * base, 4 * base, 3 * blocks, style)
        self.dark4 = self._stage(4 * base, 8 * base, 3 * blocks, style)
        self.dark5 = nn.Sequential(
            conv3x3(8 * base, 16 * base, 2, style),
            SPPBottleneck(16 * base, 16 * base, style),
            CSPLayer(16 * base, 16 * base, blocks, shortcut=False, style=style),
        )
        self.channels = [4 * base, 8 * base, 16 * base]

    @staticmethod
    def _stage(in_channels: int, out_channels: int, blocks: int, style: ConvStyle) -> nn.Sequential:
        return nn.Sequential(
            conv3x3(in_channels, out_channels, 2, style),
            CSPLayer(out_channels, out_channels, blocks, shortcut=True, style=style),
        )

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Maps at strides 8, 16, 32 of ``images`` (B, 3, H, W), H and W divisible by 32."""
        c3 = self.dark3(self.dark2(self.stem(images)))
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class PAFPN(nn.Module):
    """Path-aggregation neck over (c3, c4, c5); every output level has ``out_channels`` channels."""

    def __init__(self, in_channels: list[int], out_channels: int, depth: float, style: ConvStyle) -> None:
        super().__init__()
        c3, c4, c5 = in_channels
        blocks = round(3 * depth)
        self.reduce_p5 = ConvNormAct(c5, c4, 1, 1, style)
        self.top_down_p4 = CSPLayer(2 * c4, c4, blocks, shortcut=False, style=style)
        self.reduce_p4 = ConvNormAct(c4, c3, 1, 1, style)
        self.top_down_p3 = CSPLayer(2 * c3, c3, blocks, shortcut=False, style=style)
        self.downsample_p3 = conv3x3(c3, c3, 2, style)
        self.bottom_up_p4 = CSPLayer(2 * c3, c4, blocks, shortcut=False, style=style)
        self.downsample_p4 = conv3x3(c4, c4, 2, style)
        self.bottom_up_p5 = CSPLayer(2 * c4, c5, blocks, shortcut=False, style=style)
        self.out_convs = nn.ModuleList(ConvNormAct(c, out_channels, 1, 1, style) for c in in_channels)

    def forward(self, c3: Tensor, c4: Tensor, c5: Tensor) -> list[Tensor]:
        """The fused maps at strides 8, 16, 32."""
        p5 = self.reduce_p5(c5)
        p4 = self.reduce_p4(self.top_down_p4(torch.cat((_upsample(p5), c4), dim=1)))
        out3 = self.top_down_p3(torch.cat((_upsample(p4), c3), dim=1))
        out4 = self.bottom_up_p4(torch.cat((self.downsample_p3(out3), p4), dim=1))
        out5 = self.bottom_up_p5(torch.cat((self.downsample_p4(out4), p5), dim=1))
        return [conv(x) for conv, x in zip(self.out_convs, (out3, out4, out5), strict=True)]
