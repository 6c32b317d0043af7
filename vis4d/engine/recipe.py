"""What a training run adds to a model's own optimisation: the EMA, the recipe's last epochs, multi-scale batches.

The config spreads a training recipe over its sections (``model.ema``,
``train_handler.no_aug_epochs``, ``train_handler.multiscale``); the engine
gathers it here, so that the data module (which turns mosaic off in the last
epochs) and the Lightning module (which tells the model those epochs started,
keeps the EMA and resizes batches) agree on one reading.
"""

from __future__ import annotations

import dataclasses

from vis4d.common.errors import ConfigError
from vis4d.config.schema import Config, EMAConfig, MultiScaleConfig


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    """The recipe's parts the Lightning module applies (all off by default)."""

    ema: EMAConfig | None = None
    no_aug_epochs: int = 0
    schedule_epochs: int | None = None  # model.lr_scheduler.epochs: where no_aug_epochs count back from
    multiscale: MultiScaleConfig | None = None
    seed: int = 0  # multi-scale sizes are drawn from (seed, step)

    @classmethod
    def from_config(cls, config: Config, seed: int) -> TrainingRecipe:
        """The recipe of ``config``'s training run (``seed``: the run's data seed)."""
        handler = config.train_handler
        return cls(config.model.ema, handler.no_aug_epochs, config.model.lr_scheduler.epochs, handler.multiscale, seed)

    def no_aug_start(self, max_epochs: int | None) -> int | None:
        """The first epoch (0-based) of the last ``no_aug_epochs``, or None if the recipe has none.

        They count back from the schedule's length (``model.lr_scheduler.epochs``),
        else from the run's ``max_epochs``; a run limited only by steps has no
        end in epochs to count from.
        """
        if self.no_aug_epochs == 0:
            return None
        length = self.schedule_epochs or (max_epochs if max_epochs is not None and max_epochs > 0 else None)
        if length is None:
            raise ConfigError(
                f"train_handler.no_aug_epochs = {self.no_aug_epochs} counts back from the end of training in "
                "epochs: give --max_epochs, or model.lr_scheduler.epochs"
            )
        return max(0, length - self.no_aug_epochs)
