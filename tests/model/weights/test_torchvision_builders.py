"""Every torchvision builder vis4d supports computes, with the builder's own weights, what torchvision computes.

The weights are random (no download): written under the official file names
into a temporary TORCH_HOME and loaded by their ``torchvision://`` names,
through the same path a user's download takes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision import models

from tests.model.weights.conftest import cache_dir
from vis4d.config.schema import BackboneConfig
from vis4d.model.backbones import build_backbone
from vis4d.model.weights.sources import resolve_source


def _randomise_norms(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Non-trivial batch-norm statistics, so that a wrong epsilon or a skipped norm shows."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)


@pytest.mark.parametrize("builder", ["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large"])
def test_imagenet_backbones_compute_torchvisions_features(builder: str, torch_home: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    reference = getattr(models, builder)(weights=None).eval()
    _randomise_norms(reference, generator)
    torch.save(reference.state_dict(), cache_dir(torch_home) / resolve_source(f"torchvision://{builder}").path.name)
    ours = build_backbone(BackboneConfig(type=builder, weights=f"torchvision://{builder}", fpn_channels=8)).eval()
    image = torch.randn(1, 3, 96, 128, generator=generator)
    with torch.no_grad():
        features = ours.body(image)
        if builder.startswith("resnet"):
            x = reference.maxpool(reference.relu(reference.bn1(reference.conv1(image))))
            expected = []
            for layer in (reference.layer1, reference.layer2, reference.layer3, reference.layer4):
                x = layer(x)
                expected.append(x)
        else:
            expected, x = [], image
            for index, block in enumerate(reference.features):
                x = block(x)
                if index in ours.body.return_indices:
                    expected.append(x)
    assert len(features) == len(expected)
    for got, want in zip(features, expected, strict=True):
        # Frozen batch norm folds scale and shift, eval-mode BatchNorm2d does not: rounding differs, relative 1e-6.
        assert got.shape == want.shape
        assert (got - want).abs().max() <= 1e-5 * want.abs().max()
