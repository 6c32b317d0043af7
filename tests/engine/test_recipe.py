"""Where the recipe's last epochs start: counted back from the schedule's length, else the run's."""

from __future__ import annotations

import pytest

from tests.engine.conftest import write_tiny_config
from vis4d.common.errors import ConfigError
from vis4d.config.load import load_config
from vis4d.engine.recipe import TrainingRecipe


def test_no_aug_epochs_count_back_from_the_end() -> None:
    assert TrainingRecipe(no_aug_epochs=15).no_aug_start(300) == 285
    assert TrainingRecipe(no_aug_epochs=10, schedule_epochs=50).no_aug_start(25) == 40  # Vis4D 1.0: never reached
    assert TrainingRecipe(no_aug_epochs=5).no_aug_start(3) == 0  # all of a short run
    assert TrainingRecipe().no_aug_start(None) is None
    with pytest.raises(ConfigError, match="give --max_epochs, or model.lr_scheduler.epochs"):
        TrainingRecipe(no_aug_epochs=2).no_aug_start(-1)


def test_from_config(tmp_path) -> None:  # noqa: ANN001
    config = load_config(write_tiny_config(tmp_path, "detector", detector="yolox"))
    recipe = TrainingRecipe.from_config(config, seed=7)
    assert recipe.ema is not None and recipe.ema.ramp == 10 and recipe.no_aug_epochs == 1
    assert recipe.multiscale is not None and recipe.multiscale.heights == (32, 96) and recipe.seed == 7
    plain = TrainingRecipe.from_config(load_config(write_tiny_config(tmp_path, "detector")), seed=0)
    assert plain == TrainingRecipe()
