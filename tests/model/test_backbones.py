from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torchvision import models
from torchvision.ops import FrozenBatchNorm2d

from vis4d.common.errors import ConfigError
from vis4d.config.schema import BackboneConfig
from vis4d.model.backbones import FPNBackbone, build_backbone, level_stride
from vis4d.model.weights.loading import load_backbone_weights


def _with_weights(cfg: BackboneConfig) -> FPNBackbone:
    """The backbone as a training run from the recipe starts it: built, then its configured weights loaded."""
    backbone = build_backbone(cfg)
    assert cfg.weights is not None
    load_backbone_weights(backbone, cfg.weights)
    return backbone


def test_the_constructor_loads_no_weights(tmp_path: Path) -> None:
    """Weights named in the config are not read by the constructor (a test run's checkpoint holds them all)."""
    missing = str(tmp_path / "not-there.pth")
    backbone = build_backbone(BackboneConfig(type="resnet18", fpn_channels=16, weights=missing))
    assert {type(m) for m in backbone.body.modules() if "Norm" in type(m).__name__} == {FrozenBatchNorm2d}


def body(backbone: Any) -> Any:
    """The backbone body, untyped: tests reach into torchvision submodules."""
    return backbone.body


def _norm_types(module: nn.Module) -> set[type]:
    return {type(m) for m in module.modules() if isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d, nn.GroupNorm))}


@pytest.mark.parametrize(
    ("backbone_type", "levels"),
    [
        ("resnet18", ["p2", "p3", "p4", "p5", "p6"]),
        ("mobilenet_v3_small", ["p3", "p4", "p5", "p6"]),
    ],
)
def test_fpn_levels_shapes_and_strides(backbone_type: Any, levels: list[str]) -> None:
    backbone = build_backbone(BackboneConfig(type=backbone_type, fpn_channels=32))
    features = backbone(torch.randn(2, 3, 64, 128))
    assert list(features) == levels == backbone.level_names
    assert backbone.out_channels == 32
    for name, feature in features.items():
        stride = level_stride(name)
        assert backbone.strides[name] == stride
        assert feature.shape == (2, 32, 64 // stride, 128 // stride)


def test_auto_norm_is_trainable_bn_from_scratch_and_frozen_with_weights(tmp_path: Path) -> None:
    scratch = build_backbone(BackboneConfig(type="resnet18", fpn_channels=16))
    assert _norm_types(scratch.body) == {nn.BatchNorm2d}
    path = tmp_path / "r18.pth"
    torch.save(models.resnet18(weights=None).state_dict(), path)
    pretrained = _with_weights(BackboneConfig(type="resnet18", fpn_channels=16, weights=str(path)))
    assert _norm_types(pretrained.body) == {FrozenBatchNorm2d}
    explicit = _with_weights(BackboneConfig(type="resnet18", fpn_channels=16, weights=str(path), norm="bn"))
    assert _norm_types(explicit.body) == {nn.BatchNorm2d}
    group = build_backbone(BackboneConfig(type="mobilenet_v3_small", fpn_channels=16, norm="gn"))
    assert _norm_types(group.body) == {nn.GroupNorm}
    group(torch.randn(1, 3, 64, 64))


def test_weight_file_loads_into_body_and_freezes_stages(tmp_path: Path) -> None:
    reference = models.resnet18(weights=None)
    with torch.no_grad():
        reference.layer3[0].conv1.weight.normal_(mean=3.0)
        reference.bn1.running_mean.fill_(0.25)
    path = tmp_path / "imagenet.pth"
    torch.save(reference.state_dict(), path)
    backbone = _with_weights(BackboneConfig(type="resnet18", fpn_channels=16, weights=str(path), frozen_stages=1))
    assert torch.equal(body(backbone).layer3[0].conv1.weight, reference.layer3[0].conv1.weight)
    assert torch.equal(body(backbone).bn1.running_mean, reference.bn1.running_mean)
    # Stem and layer1 frozen, later stages and FPN trainable.
    assert not any(p.requires_grad for p in body(backbone).conv1.parameters())
    assert not any(p.requires_grad for p in body(backbone).layer1.parameters())
    assert all(p.requires_grad for p in body(backbone).layer2.parameters())
    assert all(p.requires_grad for p in backbone.fpn.parameters())


def test_frozen_stages_ignored_without_weights() -> None:
    backbone = build_backbone(BackboneConfig(type="resnet18", fpn_channels=16, frozen_stages=3))
    assert all(p.requires_grad for p in backbone.parameters())


def test_frozen_bn_stage_stays_in_eval_mode(tmp_path: Path) -> None:
    path = tmp_path / "r18.pth"
    torch.save(models.resnet18(weights=None).state_dict(), path)
    backbone = _with_weights(BackboneConfig(type="resnet18", fpn_channels=16, weights=str(path), norm="bn"))
    backbone.train()
    assert not body(backbone).bn1.training and not body(backbone).layer1.training
    assert body(backbone).layer2.training
    before = body(backbone).bn1.running_mean.clone()
    backbone(torch.randn(2, 3, 64, 64))
    assert torch.equal(body(backbone).bn1.running_mean, before)


def test_lightning_checkpoint_with_prefixes_and_mismatch_warning(tmp_path: Path) -> None:
    source = build_backbone(BackboneConfig(type="resnet18", fpn_channels=16))
    with torch.no_grad():
        source.fpn.inner_blocks[0][0].weight.fill_(0.5)
    state = {f"model.detector.backbone.{k}": v for k, v in source.state_dict().items()}
    state["model.detector.backbone.fpn.extra.weight"] = torch.zeros(1)
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": state, "epoch": 3}, path)
    with pytest.warns(UserWarning, match="1 unexpected keys"):
        target = _with_weights(BackboneConfig(type="resnet18", fpn_channels=16, weights=str(path), norm="bn"))
    assert torch.equal(target.fpn.inner_blocks[0][0].weight, source.fpn.inner_blocks[0][0].weight)


def test_mobilenet_loads_torchvision_state_dict(tmp_path: Path) -> None:
    reference = models.mobilenet_v3_small(weights=None)
    path = tmp_path / "mnv3.pth"
    torch.save(reference.state_dict(), path)
    backbone = _with_weights(BackboneConfig(type="mobilenet_v3_small", fpn_channels=16, weights=str(path)))
    assert torch.equal(body(backbone).features[3].block[0][0].weight, reference.features[3].block[0][0].weight)


def test_missing_or_unrelated_weight_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model.detector.backbone.weights"):
        _with_weights(BackboneConfig(type="resnet18", weights=str(tmp_path / "missing.pth")))
    path = tmp_path / "unrelated.pth"
    torch.save({"foo.weight": torch.zeros(2)}, path)
    with pytest.raises(ConfigError, match="model.detector.backbone.weights"):
        _with_weights(BackboneConfig(type="resnet18", weights=str(path)))


def _randomise_norm_statistics(module: nn.Module, seed: int = 0) -> None:
    """Give every batch norm non-trivial statistics and affine terms, so folding has something to fold."""
    generator = torch.Generator().manual_seed(seed)
    for norm in module.modules():
        if isinstance(norm, (nn.BatchNorm2d, FrozenBatchNorm2d)):
            channels = len(norm.running_mean)
            with torch.no_grad():
                norm.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
                norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
                norm.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
                norm.bias.copy_(torch.randn(channels, generator=generator) * 0.1)


@pytest.mark.parametrize(
    ("backbone_type", "norm"),
    [("resnet18", "bn"), ("resnet50", "frozen_bn"), ("mobilenet_v3_small", "bn")],
)
def test_folding_batch_norm_keeps_the_features(backbone_type: str, norm: str) -> None:
    torch.manual_seed(0)
    backbone = build_backbone(BackboneConfig(type=backbone_type, norm=norm, fpn_channels=32))  # type: ignore[arg-type]
    _randomise_norm_statistics(backbone)
    norms = sum(isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d)) for m in backbone.modules())
    images = torch.randn(2, 3, 96, 128)
    backbone.eval()
    with torch.no_grad():
        expected = backbone(images)
        assert backbone.fold_batch_norm() == norms
        folded = backbone(images)
    assert not any(isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d)) for m in backbone.modules())
    for level, feature in expected.items():
        scale = feature.abs().max().item()
        torch.testing.assert_close(folded[level], feature, rtol=0, atol=1e-4 * max(scale, 1.0))


def test_folding_batch_norm_refuses_a_training_model() -> None:
    backbone = build_backbone(BackboneConfig(type="resnet18", fpn_channels=32))
    with pytest.raises(RuntimeError, match="eval"):
        backbone.fold_batch_norm()
