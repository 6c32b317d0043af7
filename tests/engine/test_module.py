from __future__ import annotations

import pytest

from vis4d.config.schema import LRSchedulerConfig
from vis4d.engine.module import lr_factor


def test_warmup_then_step_decay() -> None:
    cfg = LRSchedulerConfig(type="step", warmup_steps=10, warmup_ratio=0.1, milestones=[2, 3], gamma=0.1)
    assert lr_factor(cfg, 0, 0.0, None) == pytest.approx(0.1)
    assert lr_factor(cfg, 5, 0.1, None) == pytest.approx(0.55)
    assert lr_factor(cfg, 10, 1.0, None) == pytest.approx(1.0)
    assert lr_factor(cfg, 100, 2.0, None) == pytest.approx(0.1)
    assert lr_factor(cfg, 200, 3.5, None) == pytest.approx(0.01)


def test_cosine_reaches_min_ratio() -> None:
    cfg = LRSchedulerConfig(type="cosine", warmup_steps=0, min_lr_ratio=0.05)
    assert lr_factor(cfg, 0, 0.0, 100) == pytest.approx(1.0)
    assert lr_factor(cfg, 50, 0.0, 100) == pytest.approx(0.525)
    assert lr_factor(cfg, 100, 0.0, 100) == pytest.approx(0.05)
