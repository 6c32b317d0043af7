from __future__ import annotations

import io
import random

import numpy as np
import torch

from vis4d.engine.callbacks.random_state import RandomStateCheckpoint, collect_random_state, restore_random_state


def _draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_states_survive_a_weights_only_checkpoint_and_replay_the_same_draws() -> None:
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    _draw()
    buffer = io.BytesIO()
    torch.save({"callbacks": {"RandomStateCheckpoint": collect_random_state()}}, buffer)
    expected = [_draw() for _ in range(3)]
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["callbacks"]["RandomStateCheckpoint"]
    restore_random_state(state)
    assert [_draw() for _ in range(3)] == expected


def test_the_callback_restores_when_training_starts_not_when_loading() -> None:
    callback = RandomStateCheckpoint()
    torch.manual_seed(0)
    saved = callback.state_dict()
    expected = float(torch.rand(1))
    callback.load_state_dict(saved)
    torch.rand(5)  # e.g. Lightning's sanity check between loading and training
    callback.on_train_start(None, None)  # type: ignore[arg-type]
    assert float(torch.rand(1)) == expected
    callback.on_train_start(None, None)  # type: ignore[arg-type]  # only once
