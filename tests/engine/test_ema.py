"""The EMA equals Megvii's ``ModelEMA`` bitwise (fixtures/megvii_recipe/make_fixture.py, ``ema_run``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vis4d.config.schema import EMAConfig
from vis4d.engine.ema import ModelEMA

SAVED = torch.load(Path(__file__).parent / "fixtures" / "megvii_recipe" / "ema.pt", weights_only=True)


def _small_model() -> nn.Module:  # the fixture's model, same seed and layers
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(), nn.Conv2d(8, 4, 1))


def test_ema_equals_megvii_model_ema_step_by_step() -> None:
    model = _small_model().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ema = ModelEMA(model, EMAConfig(decay=0.9998, ramp=2000))
    generator = torch.Generator().manual_seed(1)
    for step in range(6):
        loss = model(torch.randn(2, 3, 8, 8, generator=generator)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
        if step == 2:
            for key, value in SAVED["ema_step3"].items():
                assert torch.equal(ema.module.state_dict()[key], value), key
            ema.updates = 4000  # as Megvii's trainer sets it when it resumes: the decay is ramped up
    for key, value in SAVED["model"].items():
        assert torch.equal(model.state_dict()[key], value), key  # the same training as the reference's
    for key, value in SAVED["ema_step6"].items():
        assert torch.equal(ema.module.state_dict()[key], value), key
    # Batch-norm statistics are averaged too, the step counter is not; the copy never trains.
    averaged = ema.module.state_dict()
    assert not torch.equal(averaged["1.running_mean"], model.state_dict()["1.running_mean"])
    assert int(averaged["1.num_batches_tracked"]) == 0
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())


def test_state_round_trip() -> None:
    model = _small_model()
    ema = ModelEMA(model, EMAConfig())
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)
    state = ema.state_dict()
    other = ModelEMA(_small_model(), EMAConfig())
    other.load_state_dict(state)
    assert other.updates == 1
    assert all(torch.equal(a, b) for a, b in zip(other.module.state_dict().values(), ema.module.state_dict().values()))
    assert ema.decay(1) == 0.9998 * (1 - torch.exp(torch.tensor(-1 / 2000, dtype=torch.float64)).item())
