"""YOLOX's optimizer and schedule equal Megvii's (``yolox`` 0.3.0; fixtures/megvii_recipe/make_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.model.yolox.oracle import fixture
from tests.model.yolox.yolox_weights import state_dict_for
from vis4d.config.schema import LRSchedulerConfig, OptimizerConfig, YOLOXConfig
from vis4d.engine.optim import build_optimizer, lr_factor, parameter_groups
from vis4d.model.weights import megvii
from vis4d.model.yolox.detector import YOLOX

META = json.loads((Path(__file__).parent / "fixtures" / "megvii_recipe" / "fixture.json").read_text())


@pytest.mark.parametrize("name", ["base", "bytetrack"])
def test_yoloxwarmcos_equals_megvii_at_every_step(name: str) -> None:
    s = META["settings"][name]
    cfg = LRSchedulerConfig(type="yoloxwarmcos", warmup_epochs=s["warmup_epochs"], min_lr_ratio=s["min_lr_ratio"])
    per_epoch, total = s["iters_per_epoch"], s["iters_per_epoch"] * s["total_epochs"]
    ours = [s["lr"] * lr_factor(cfg, step, step / per_epoch, total, per_epoch, s["no_aug_epochs"])
            for step in range(total + 1)]  # fmt: skip
    assert ours == pytest.approx(META["lr"][name], rel=1e-12, abs=1e-15)
    # The key steps: 0 at the start, the full lr at the warm-up's end, the minimum over the last epochs.
    warmup, tail = per_epoch * s["warmup_epochs"], total - per_epoch * s["no_aug_epochs"]
    assert ours[0] == 0 and ours[warmup] == pytest.approx(s["lr"])
    assert ours[tail:] == pytest.approx([s["lr"] * s["min_lr_ratio"]] * (total + 1 - tail))


def test_schedule_length_can_exceed_the_run() -> None:
    """Vis4D 1.0's QDTrack-YOLOX: a 50-epoch schedule of which 25 are trained; lr_scheduler.epochs sets it."""
    cfg = LRSchedulerConfig(type="yoloxwarmcos", warmup_epochs=1, min_lr_ratio=0.05, epochs=50)
    mid = lr_factor(cfg, 25 * 10, 25.0, total_steps=25 * 10, steps_per_epoch=10, no_aug_epochs=10)
    # cosine over epochs 1..40: at epoch 25, (25 - 1) / 39 of the way
    import math

    assert mid == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 24 / 39)))


def test_parameter_groups_equal_megvii_on_yolox_nano() -> None:
    """Weight decay on convolution weights only; norms and biases without (Megvii's pg1 vs pg0 and pg2).

    Megvii's parameter names are carried through vis4d's converter: each tensor is filled with its group's
    number, converted to vis4d's layout and loaded, so every vis4d parameter says which group Megvii put it in.
    """
    keys, _ = fixture("megvii")
    group_of = {name: g for g, label in enumerate(["no_decay_norm", "decay", "bias"])
                for name in META["groups"][label]["names"]}  # fmt: skip
    state = {k: torch.full_like(v, float(group_of.get(k, -1))) if v.is_floating_point() else v
             for k, v in state_dict_for(keys).items()}  # fmt: skip
    model = YOLOX(YOLOXConfig(size="nano"), 80)
    model.load_state_dict(megvii.convert(state, {}, "yolox_nano.pth").state_dict)
    cfg = OptimizerConfig(lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4, norm_and_bias_decay=False)
    groups = parameter_groups(model, cfg)
    megvii_group = [{int(p.flatten()[0]) for p in group["params"]} for group in groups]
    assert megvii_group == [{1}, {0, 2}]  # ours: decayed, then not decayed
    assert sum(len(g["params"]) for g in groups) == sum(len(v["names"]) for v in META["groups"].values())
    optimizer = build_optimizer(groups, cfg)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [5e-4, 0.0]
    assert all(g["nesterov"] and g["momentum"] == 0.9 for g in optimizer.param_groups)
    assert META["groups"]["decay"]["weight_decay"] == 5e-4 and META["groups"]["bias"]["weight_decay"] == 0


def test_one_group_by_default() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    groups = parameter_groups(model, OptimizerConfig())
    assert len(groups) == 1 and len(groups[0]["params"]) == 4
