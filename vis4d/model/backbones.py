"""Torchvision backbones with a feature pyramid on top, and loading their weights by name.

:func:`build_backbone` returns an :class:`FPNBackbone`: images ``(B, 3, H, W)``
in, an ``OrderedDict`` of FPN levels out, each with ``out_channels`` channels.
Level ``"pK"`` has stride ``2**K``:

* ResNet 18/34/50/101: ``p2``-``p5`` from ``layer1``-``layer4`` (strides 4-32),
  plus ``p6`` (stride 64) subsampled from ``p5``.
* MobileNetV3 large/small: ``p3``-``p5`` from the last block at strides 8, 16
  and 32, plus ``p6``. Stride-4 MobileNet features are too thin (24 channels)
  to be worth a pyramid level, so there is no ``p2``.

Norm layers: ``"auto"`` picks frozen batch norm when ImageNet weights are
loaded (their statistics are meaningful and batches are small) and trainable
batch norm when training from scratch, because frozen batch norm from random
initialisation freezes identity statistics and training stalls.

Speed: at inference :meth:`FPNBackbone.fold_batch_norm` folds every batch
norm into the convolution before it, removing one pass over every feature
map per layer (the detector also runs channels-last, see
:mod:`vis4d.model.detect.faster_rcnn`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torchvision import models
from torchvision.ops import FeaturePyramidNetwork, FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock

from vis4d.config.schema import BackboneConfig

NormFactory = Callable[[int], nn.Module]


def level_stride(level: str) -> int:
    """Stride in input pixels of the FPN level named ``"pK"`` (``2**K``)."""
    return 1 << int(level[1:])


def _group_norm(num_channels: int, max_groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``max_groups`` that divides ``num_channels``."""
    return nn.GroupNorm(math.gcd(max_groups, num_channels), num_channels)


def _norm_factory(cfg: BackboneConfig, eps: float, pretrained: bool) -> NormFactory:
    """Return the norm layer constructor that ``cfg.norm`` asks for (``"auto"``: frozen when ``pretrained``)."""
    norm = cfg.norm
    eps = cfg.norm_eps if cfg.norm_eps is not None else eps
    if norm == "auto":
        norm = "frozen_bn" if pretrained else "bn"
    if norm == "frozen_bn":
        return partial(FrozenBatchNorm2d, eps=eps)
    if norm == "bn":
        return partial(nn.BatchNorm2d, eps=eps)
    return _group_norm


class _MaxPoolLevel(ExtraFPNBlock):  # type: ignore[misc]  # torchvision ships no type information
    """Adds one coarser level by stride-2 subsampling of the last one (torchvision's LastLevelMaxPool).

    Unlike torchvision's block it names the new level ``p{K+1}`` so every
    level name says its stride.
    """

    def forward(self, results: list[Tensor], x: list[Tensor], names: list[str]) -> tuple[list[Tensor], list[str]]:
        """Append the subsampled last level."""
        last_level = int(names[-1][1:])
        return [*results, F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0)], [
            *names,
            f"p{last_level + 1}",
        ]


class _ResNetBody(nn.Module):
    """A torchvision ResNet without pooling and classifier, returning the outputs of layer1-4.

    Submodule names equal torchvision's, so an ImageNet state dict loads as is.
    """

    def __init__(self, resnet: models.ResNet) -> None:
        super().__init__()
        self.conv1 = resnet.conv1
        self.bn1 = resnet.bn1
        self.relu = resnet.relu
        self.maxpool = resnet.maxpool
        self.layer1 = resnet.layer1
        self.layer2 = resnet.layer2
        self.layer3 = resnet.layer3
        self.layer4 = resnet.layer4
        self.level_names = ["p2", "p3", "p4", "p5"]
        self.channels = [_last_conv_channels(layer) for layer in (self.layer1, self.layer2, self.layer3, self.layer4)]

    def stages(self) -> list[list[nn.Module]]:
        """Stem first, then one entry per residual stage (for ``frozen_stages``)."""
        return [[self.conv1, self.bn1], [self.layer1], [self.layer2], [self.layer3], [self.layer4]]

    def forward(self, images: Tensor) -> list[Tensor]:
        """Features at strides 4, 8, 16, 32."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


class _MobileNetBody(nn.Module):
    """The ``features`` of a torchvision MobileNetV3, returning the last block at strides 8, 16, 32.

    Weights load from a torchvision state dict once its ``features.`` prefix is
    stripped (done by :func:`vis4d.model.weights.loading.load_backbone_weights`).
    """

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        # Cumulative stride after each block: the stem halves, every block marked
        # _is_cn (torchvision: "changes resolution") halves again.
        strides: list[int] = []
        stride = 1
        for index, block in enumerate(features):
            if index == 0 or getattr(block, "_is_cn", False):
                stride *= 2
            strides.append(stride)
        self.block_strides = strides
        self.return_indices = [max(i for i, s in enumerate(strides) if s == target) for target in (8, 16, 32)]
        self.level_names = ["p3", "p4", "p5"]
        self.channels = [_last_conv_channels(features[i]) for i in self.return_indices]

    def stages(self) -> list[list[nn.Module]]:
        """Blocks at stride <= 2 (stem), then one entry per stride 4, 8, 16, 32."""
        return [
            [block for block, s in zip(self.features, self.block_strides, strict=True) if s == stride]
            for stride in (2, 4, 8, 16, 32)
        ]

    def forward(self, images: Tensor) -> list[Tensor]:
        """Features at strides 8, 16, 32."""
        outputs = []
        x = images
        for index, block in enumerate(self.features):
            x = block(x)
            if index in self.return_indices:
                outputs.append(x)
            if index == self.return_indices[-1]:
                break
        return outputs

    def load_state_dict(self, state_dict: Mapping[str, Tensor], strict: bool = True, assign: bool = False) -> Any:
        """Accept torchvision keys both with and without the ``features.`` prefix."""
        renamed = {(k if k.startswith("features.") else f"features.{k}"): v for k, v in state_dict.items()}
        return super().load_state_dict(renamed, strict=strict, assign=assign)


def _last_conv_channels(module: nn.Module) -> int:
    """Output channels of the last convolution inside ``module`` (its output width)."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


class FPNBackbone(nn.Module):
    """A backbone body plus torchvision's FPN; ``forward`` returns the levels as an OrderedDict.

    Attributes:
        out_channels: channels of every output level.
        level_names: output level names, finest first (``"p2"``.. or ``"p3"``..).
        strides: stride in input pixels of each output level.

    """

    def __init__(self, body: _ResNetBody | _MobileNetBody, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(body.channels, out_channels, extra_blocks=_MaxPoolLevel())
        self.out_channels = out_channels
        last = int(body.level_names[-1][1:])
        self.level_names = [*body.level_names, f"p{last + 1}"]
        self.strides = {name: level_stride(name) for name in self.level_names}
        self._frozen: list[nn.Module] = []

    def forward(self, images: Tensor) -> OrderedDict[str, Tensor]:
        """FPN features of ``images`` (B, 3, H, W); H and W should be divisible by the coarsest stride."""
        features = self.body(images)
        levels: OrderedDict[str, Tensor] = self.fpn(OrderedDict(zip(self.body.level_names, features, strict=True)))
        return levels

    def fold_batch_norm(self) -> int:
        """Fold the body's batch norm layers into the convolutions they follow; returns how many were folded.

        For inference only (test, predict, the Python API): a folded layer
        computes ``conv(x) * scale + shift`` with the batch norm's running
        statistics, which is what an eval-mode batch norm computes, in one
        pass instead of two. The model cannot train afterwards (the folded
        statistics are no longer separate), so it must be in eval mode.
        """
        if self.training:
            raise RuntimeError("fold_batch_norm is for inference: call model.eval() first")
        return fold_conv_norm_pairs(self.body)

    def freeze_stages(self, num_stages: int) -> None:
        """Stop training the stem and the first ``num_stages`` stages (0: nothing frozen).

        Their parameters stop requiring gradients and their norm layers stay in
        eval mode even when the model trains.
        """
        stages = self.body.stages()
        self._frozen = [m for stage in stages[: num_stages + 1] for m in stage] if num_stages > 0 else []
        for module in self._frozen:
            module.eval()
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> FPNBackbone:
        """Switch mode, keeping frozen stages in eval mode."""
        super().train(mode)
        for module in self._frozen:
            module.eval()
        return self


_BATCH_NORMS = (nn.BatchNorm2d, FrozenBatchNorm2d)


def fold_conv_norm_pairs(root: nn.Module) -> int:
    """Fold each batch norm into the convolution registered just before it in the same parent module.

    torchvision's ResNets and MobileNets register every batch norm right after
    the convolution whose output it normalises (``conv1``/``bn1``, the
    ``downsample`` and ``Conv2dNormActivation`` sequences); the tests check
    the folded bodies against the unfolded ones. The norm is replaced by an
    identity, so ``forward`` code that calls it by name keeps working.
    """
    folded = 0
    for parent in list(root.modules()):
        children = list(parent.named_children())
        for (_, conv), (norm_name, norm) in zip(children, children[1:], strict=False):
            if not (isinstance(conv, nn.Conv2d) and isinstance(norm, _BATCH_NORMS)):
                continue
            stats: Any = norm  # torchvision's FrozenBatchNorm2d is untyped and has no num_features
            if conv.out_channels != len(stats.running_mean):
                continue  # not the convolution this norm follows
            _fold_into(conv, norm)
            setattr(parent, norm_name, nn.Identity())
            folded += 1
    return folded


@torch.no_grad()
def _fold_into(conv: nn.Conv2d, norm: nn.Module) -> None:
    """Fold the eval-mode ``norm`` that follows ``conv`` into ``conv``'s weight and bias, in place.

    In place keeps the convolution's class (e.g. :class:`~vis4d.model.cpu_conv.CPUConv2d`) and memory format.
    """
    stats: Any = norm  # BatchNorm2d or torchvision's (untyped) FrozenBatchNorm2d: the same buffers
    weight, bias = fuse_conv_bn_weights(
        conv.weight, conv.bias, stats.running_mean, stats.running_var, float(stats.eps), stats.weight, stats.bias
    )
    conv.weight.copy_(weight)
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
    else:
        conv.bias.copy_(bias)


_RESNETS: dict[str, Callable[..., models.ResNet]] = {
    "resnet18": models.resnet18,
    "resnet34": models.resnet34,
    "resnet50": models.resnet50,
    "resnet101": models.resnet101,
}
_MOBILENETS: dict[str, Callable[..., models.MobileNetV3]] = {
    "mobilenet_v3_large": models.mobilenet_v3_large,
    "mobilenet_v3_small": models.mobilenet_v3_small,
}


def build_backbone(cfg: BackboneConfig, model_weights: bool = False) -> FPNBackbone:
    """Build the backbone + FPN that ``cfg`` describes; its weights are loaded later, never here.

    A constructor that downloads would fetch ``cfg.weights`` for a test run
    whose checkpoint holds every weight anyway; the engine loads them only for
    training from the config's recipe
    (:func:`vis4d.model.weights.load_recipe_weights`). ``cfg.weights`` and
    ``model_weights`` (the whole model will be initialised from a checkpoint)
    count as pretrained for ``norm = "auto"`` and ``frozen_stages``, so train
    and test build the same layers. ``frozen_stages`` only applies with
    weights: freezing randomly initialised layers would leave them random forever.
    """
    pretrained = cfg.weights is not None or model_weights
    body: _ResNetBody | _MobileNetBody
    if cfg.type in _RESNETS:
        body = _ResNetBody(_RESNETS[cfg.type](weights=None, norm_layer=_norm_factory(cfg, 1e-5, pretrained)))
    else:
        # torchvision's MobileNetV3 uses eps 0.001; keep it so ImageNet weights behave as trained.
        mobilenet = _MOBILENETS[cfg.type](weights=None, norm_layer=_norm_factory(cfg, 1e-3, pretrained))
        body = _MobileNetBody(mobilenet.features)
    backbone = FPNBackbone(body, cfg.fpn_channels)
    if pretrained:
        backbone.freeze_stages(cfg.frozen_stages)
    return backbone
