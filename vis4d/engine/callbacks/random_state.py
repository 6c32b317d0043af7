"""The global random generators, saved in every checkpoint and restored on resume.

The model draws from torch's global generator (proposal and embedding
sampling); Python's and numpy's are saved too, for user code. States are
captured when a checkpoint is written and put back when training starts again
(``on_train_start``: after Lightning's sanity check, before the first batch),
which is the same point of the random sequence the uninterrupted run was at.
Everything is stored as tensors and plain Python values, so the checkpoint
stays loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch


def collect_random_state() -> dict[str, Any]:
    """Python's, numpy's, torch's (and every CUDA device's) generator state."""
    version, internal, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict[str, Any]) -> None:
    """Put back what :func:`collect_random_state` captured."""
    python = state["python"]
    random.setstate((python["version"], tuple(int(v) for v in python["state"].tolist()), python["gauss"]))
    numpy = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": numpy["key"].numpy().astype(np.uint32), "pos": numpy["pos"]},
            "has_gauss": numpy["has_gauss"],
            "gauss": numpy["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStateCheckpoint(pl.Callback):
    """Saves the generators with every checkpoint; restores them when a resumed run starts training."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:  # noqa: D102 - Lightning calls it while writing a checkpoint
        return collect_random_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # noqa: D102
        self._pending = state_dict

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        if self._pending is not None:
            restore_random_state(self._pending)
            self._pending = None
