from __future__ import annotations

import pytest
import torch

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


def test_a_run_shorter_than_its_warm_up_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    import types

    from vis4d.config.schema import OptimizerConfig
    from vis4d.engine.module import Vis4DModule

    module = Vis4DModule(torch.nn.Linear(1, 1), OptimizerConfig(lr=0.02), LRSchedulerConfig(warmup_steps=100))  # type: ignore[arg-type]
    trainer = types.SimpleNamespace(num_training_batches=10, accumulate_grad_batches=1, estimated_stepping_batches=40,
                                    global_step=0, is_global_zero=True)  # fmt: skip
    module._trainer = trainer  # type: ignore[assignment]
    module.on_train_start()
    err = capsys.readouterr().err
    assert "model.lr_scheduler.warmup_steps = 100 is longer than this run (40 steps)" in err
    assert "ends at 0.39 x model.optimizer.lr" in err  # 0.001 + 0.999 * 39 / 100
    trainer.estimated_stepping_batches = 101
    module.on_train_start()
    assert capsys.readouterr().err == ""


def test_test_and_predict_fold_batch_norm_but_validation_does_not() -> None:
    from torch import nn
    from torchvision.ops import FrozenBatchNorm2d

    from tests.model.detect.conftest import tiny_config
    from vis4d.config.schema import OptimizerConfig
    from vis4d.engine.module import Vis4DModule
    from vis4d.model.detect.faster_rcnn import FasterRCNN

    def norms(module: nn.Module) -> int:
        return sum(isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d)) for m in module.modules())

    module = Vis4DModule(FasterRCNN(tiny_config(), 2), OptimizerConfig(), LRSchedulerConfig())
    before = norms(module)
    assert before > 0
    module.train()
    module.on_test_start()  # a model still training (e.g. trainer.test after fit in one script) keeps its norms
    assert norms(module) == before
    module.eval()
    module.on_validation_start()
    assert norms(module) == before
    module.on_predict_start()
    assert norms(module) == 0
