"""The convolution blocks YOLOX is built from: conv + BatchNorm + activation, CSP layers, SPP, Focus.

Every learned convolution is a :class:`ConvNormAct` whose BatchNorm follows
its convolution as the next child, so
:func:`vis4d.model.backbones.fold_conv_norm_pairs` can fold the norm into
the convolution for inference. Once folded, :meth:`ConvNormAct.fuse_activation`
lets CPU inference run convolution and activation as one oneDNN primitive
(``torch.ops.mkldnn._convolution_pointwise``, the fused kernel PyTorch's own
compiler emits) on a weight reordered once into oneDNN's blocked layout
(eager convolutions reorder it at every call): one pass less over every
feature map and no per-call weight reorder, together about 10 % of YOLOX-s
at 640x640, with the same outputs to float rounding (5e-7). Training, other
devices and dtypes, autocast and tracing (export) take the plain path.
Channel counts follow the YOLOX paper: a block's hidden width is
``int(out_channels * expansion)``.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from vis4d.model.detect.box_coder import is_tracing


@dataclasses.dataclass(frozen=True)
class ConvStyle:
    """What every convolution block of one model shares: activation, norm settings, depthwise 3x3s."""

    activation: str = "silu"
    norm_eps: float = 1e-3
    norm_momentum: float = 0.03
    depthwise: bool = False


# oneDNN's names (and parameters) of the activations it can fuse into a convolution.
_ONEDNN_ACTIVATIONS: dict[str, tuple[str, list[float]]] = {
    "silu": ("swish", []),
    "relu": ("relu", []),
    "lrelu": ("leaky_relu", [0.1]),
}


def _activation(name: str) -> nn.Module:
    if name == "silu":
        return nn.SiLU(inplace=True)
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    raise ValueError(f"unknown activation {name!r}; expected silu, relu or lrelu")


class ConvNormAct(nn.Module):
    """Convolution (no bias, 'same' padding) -> BatchNorm -> activation."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, style: ConvStyle, groups: int = 1
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias=False
        )
        self.bn: nn.Module = nn.BatchNorm2d(out_channels, eps=style.norm_eps, momentum=style.norm_momentum)
        self.act = _activation(style.activation)
        self.activation = style.activation
        self.fused = False
        self._packed: Tensor | None = None  # the weight in oneDNN's layout, made at the first fused call

    def fuse_activation(self) -> bool:
        """Run conv + activation as one oneDNN primitive at CPU inference; only once the norm is folded.

        The weight is reordered at the first call after this one: load
        weights before folding, not after.
        """
        self.fused = (
            isinstance(self.bn, nn.Identity)
            and self.conv.bias is not None
            and torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
            and hasattr(torch.ops.mkldnn, "_reorder_convolution_weight")
        )
        self._packed = None
        return self.fused

    def forward(self, x: Tensor) -> Tensor:
        """conv, norm, activation (fused for CPU inference, see the module docstring)."""
        if self.fused and _fused_pays(x):
            conv = self.conv
            options = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
            if self._packed is None:
                self._packed = torch.ops.mkldnn._reorder_convolution_weight(conv.weight, *options, list(x.shape))
            attr, scalars = _ONEDNN_ACTIVATIONS[self.activation]
            fused: Tensor = torch.ops.mkldnn._convolution_pointwise(
                x, self._packed, conv.bias, *options, attr, scalars, ""
            )
            return fused
        out: Tensor = self.act(self.bn(self.conv(x)))
        return out

    def __getstate__(self) -> dict[str, object]:
        """Pickle and deep-copy without the reordered weight (oneDNN tensors have no storage to copy)."""
        state = dict(self.__dict__)
        state["_packed"] = None
        return state


def _fused_pays(x: Tensor) -> bool:
    """The fused primitive: CPU float32 inference outside autocast and tracing."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and not is_tracing()
    )


class DepthwiseConv(nn.Module):
    """Depthwise ``kernel`` x ``kernel`` convolution then pointwise 1x1, each with norm and activation (nano)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, style: ConvStyle) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, kernel, stride, style, groups=in_channels)
        self.pointwise = ConvNormAct(in_channels, out_channels, 1, 1, style)

    def forward(self, x: Tensor) -> Tensor:
        """depthwise, then pointwise."""
        out: Tensor = self.pointwise(self.depthwise(x))
        return out


def conv3x3(in_channels: int, out_channels: int, stride: int, style: ConvStyle) -> nn.Module:
    """The model's 3x3 convolution block: plain, or depthwise-separable when ``style.depthwise``."""
    if style.depthwise:
        return DepthwiseConv(in_channels, out_channels, 3, stride, style)
    return ConvNormAct(in_channels, out_channels, 3, stride, style)


class Bottleneck(nn.Module):
    """1x1 then 3x3 convolution, plus the input when ``shortcut`` (and the widths agree)."""

    def __init__(self, channels: int, shortcut: bool, style: ConvStyle) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(channels, channels, 1, 1, style)
        self.conv2 = conv3x3(channels, channels, 1, style)
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        """The residual branch (plus ``x`` with a shortcut)."""
        out: Tensor = self.conv2(self.conv1(x))
        return out + x if self.shortcut else out


class CSPLayer(nn.Module):
    """Cross-stage partial layer: half the width through ``num_blocks`` bottlenecks, half around, then fused.

    The two halves are concatenated main branch first, as in the reference.
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int, shortcut: bool, style: ConvStyle) -> None:
        super().__init__()
        hidden = int(out_channels * 0.5)
        self.main_conv = ConvNormAct(in_channels, hidden, 1, 1, style)
        self.short_conv = ConvNormAct(in_channels, hidden, 1, 1, style)
        self.final_conv = ConvNormAct(2 * hidden, out_channels, 1, 1, style)
        self.blocks = nn.Sequential(*(Bottleneck(hidden, shortcut, style) for _ in range(num_blocks)))

    def forward(self, x: Tensor) -> Tensor:
        """Both branches of ``x``, concatenated and fused."""
        main = self.blocks(self.main_conv(x))
        out: Tensor = self.final_conv(torch.cat((main, self.short_conv(x)), dim=1))
        return out


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: max pools of 5, 9 and 13 pixels (stride 1) beside the input, fused by a 1x1."""

    def __init__(self, in_channels: int, out_channels: int, style: ConvStyle, kernels: tuple[int, ...] = (5, 9, 13)):
        super().__init__()
        hidden = in_channels // 2
        self.kernels = tuple(kernels)
        self.conv1 = ConvNormAct(in_channels, hidden, 1, 1, style)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernels)
        self.conv2 = ConvNormAct(hidden * (len(kernels) + 1), out_channels, 1, 1, style)

    def forward(self, x: Tensor) -> Tensor:
        """Reduce, pool at every size, concatenate, fuse.

        Max pools of 5, 9 and 13 are 1, 2 and 3 chained pools of 5 (a window
        of windows, edges padded with -inf alike): the same numbers for less
        than a third of the comparisons.
        """
        x = self.conv1(x)
        if self.kernels == (5, 9, 13):
            first = self.pools[0](x)
            second = self.pools[0](first)
            pooled = [first, second, self.pools[0](second)]
        else:
            pooled = [pool(x) for pool in self.pools]
        out: Tensor = self.conv2(torch.cat([x, *pooled], dim=1))
        return out


class Focus(nn.Module):
    """Space-to-depth: every 2x2 pixel block becomes 4x the channels, then a 3x3 convolution.

    The four sub-images are stacked top-left, bottom-left, top-right,
    bottom-right, the reference's order, so its weights load unchanged.
    """

    def __init__(self, in_channels: int, out_channels: int, style: ConvStyle) -> None:
        super().__init__()
        self.conv = ConvNormAct(4 * in_channels, out_channels, 3, 1, style)

    def forward(self, x: Tensor) -> Tensor:
        """Halve the resolution into channels, then convolve."""
        stacked = torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), dim=1)
        out: Tensor = self.conv(stacked)
        return out
