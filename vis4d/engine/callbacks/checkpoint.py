"""Checkpoints written atomically and read safely.

``last.ckpt`` written at the end of an epoch is the epoch's checkpoint again,
byte for byte: it is a hard link to ``epoch=N.ckpt`` (:class:`EpochCheckpoint`)
instead of a second copy (an R50 QDTrack checkpoint is 433 MB and takes a
second to write on a CPU machine).

A killed save never leaves a truncated ``.ckpt`` under a final name, a full
disk is one line naming the file and the free space (the previous checkpoint
stays as it was), and a checkpoint is always read with
``torch.load(weights_only=True)``, which unpickles tensors and plain
containers only: a crafted ``last.ckpt`` cannot run code on ``--resume``,
whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says (torch lets that variable
override only calls that leave ``weights_only`` unset).
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from vis4d.common.errors import ConfigError
from vis4d.common.io import atomic_link, atomic_open


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` into a temporary file beside the target, then rename into place; safe loading."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        """Write ``checkpoint`` to ``path`` atomically."""
        with atomic_open(path, "wb", sync=False) as handle:  # a killed process, not a power cut: no fsync
            torch.save(checkpoint, handle)

    def load_checkpoint(self, path: Any, map_location: Any | None = None, weights_only: bool | None = None) -> Any:
        """Read a checkpoint with ``weights_only=True``, whatever the caller or the environment asks for."""
        try:
            return torch.load(path, map_location=map_location or "cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else "not plain tensors and containers"
            raise ConfigError(
                f"--resume: {path} holds Python objects that would run code when loaded; vis4d reads checkpoints "
                f"with weights_only=True and refuses it ({reason})"
            ) from None


class EpochCheckpoint(ModelCheckpoint):
    """``epoch=N.ckpt`` plus ``last.ckpt``, where ``last.ckpt`` is a hard link to the epoch's file.

    Lightning's ``save_last="link"`` makes ``last.ckpt`` a symbolic link, and
    removes the old one before linking (a kill in between leaves no
    ``last.ckpt`` to resume from). Here the link is a hard link, put in place
    by a rename (:func:`~vis4d.common.io.atomic_link`): ``last.ckpt`` is a plain
    file that survives moving or deleting the epoch files, and is never missing.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Arguments of :class:`ModelCheckpoint`; ``save_last`` is always ``"link"``."""
        super().__init__(save_last="link", **kwargs)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A run resumed from this epoch's own file (``last.ckpt`` linked to it) does not write it again.

        Lightning replays the end of the epoch a checkpoint was saved at; without this,
        every such ``--resume`` rewrote ``epoch=N.ckpt`` (433 MB for R50 QDTrack) unchanged.
        """
        super().on_train_start(trainer, pl_module)
        resumed, own = trainer.ckpt_path, self.format_checkpoint_name(self._monitor_candidates(trainer))
        if resumed and os.path.isfile(resumed) and os.path.isfile(own) and os.path.samefile(resumed, own):
            self._last_global_step_saved = trainer.global_step

    @staticmethod
    def _link_checkpoint(trainer: pl.Trainer, filepath: str, linkpath: str) -> None:
        if trainer.is_global_zero and os.path.abspath(filepath) != os.path.abspath(linkpath):
            atomic_link(filepath, linkpath)
        trainer.strategy.barrier()
