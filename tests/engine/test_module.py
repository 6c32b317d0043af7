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


def _yolox_module(no_aug_epochs: int = 0, ema: bool = True):  # noqa: ANN202
    from vis4d.config.schema import DetectorModelConfig, EMAConfig, OptimizerConfig, YOLOXConfig
    from vis4d.engine.module import Vis4DModule
    from vis4d.engine.recipe import TrainingRecipe
    from vis4d.model.detection import DetectionModel

    model = DetectionModel(DetectorModelConfig(detector=YOLOXConfig(size="nano", width=0.125)), 2)
    recipe = TrainingRecipe(ema=EMAConfig(ramp=10) if ema else None, no_aug_epochs=no_aug_epochs)
    return Vis4DModule(model, OptimizerConfig(), LRSchedulerConfig(), ["a", "b"], recipe)


def test_the_last_epochs_switch_yoloxs_l1_loss_on() -> None:
    import types

    module = _yolox_module(no_aug_epochs=2)
    trainer = types.SimpleNamespace(num_training_batches=4, accumulate_grad_batches=1, estimated_stepping_batches=40,
                                    global_step=0, is_global_zero=True, max_epochs=10, current_epoch=7)  # fmt: skip
    module._trainer = trainer  # type: ignore[assignment]
    module.on_train_start()  # a resumed run: the epoch hook does not come for the epoch it continues
    assert not module.model.detector.l1_loss_enabled
    trainer.current_epoch = 8
    module.on_train_epoch_start()
    assert module.model.detector.l1_loss_enabled
    trainer.current_epoch = 3
    module.on_train_start()
    assert not module.model.detector.l1_loss_enabled


def test_validation_sees_the_ema_and_checkpoints_keep_it() -> None:
    module = _yolox_module()
    assert module.ema is not None and module._inference_model() is module.ema.module
    assert not any(p is q for p in module.parameters() for q in module.ema.module.parameters())  # not trained
    with torch.no_grad():
        next(module.model.parameters()).add_(1.0)
    module.ema.update(module.model)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    assert checkpoint["ema"]["updates"] == 1 and "ema." not in "".join(module.state_dict())
    resumed = _yolox_module()
    resumed.on_load_checkpoint(checkpoint)
    assert resumed.ema is not None and resumed.ema.updates == 1
    key = next(iter(checkpoint["ema"]["state_dict"]))
    assert torch.equal(resumed.ema.module.state_dict()[key], checkpoint["ema"]["state_dict"][key])
    # A checkpoint without an EMA (trained without one): the average starts from the restored weights.
    fresh = _yolox_module()
    fresh.on_load_checkpoint({})
    next(fresh.model.parameters()).data.fill_(0.5)
    fresh.on_fit_start()
    assert torch.equal(next(fresh.ema.module.parameters()), next(fresh.model.parameters()))
    plain = _yolox_module(ema=False)
    assert plain.ema is None and plain._inference_model() is plain.model
