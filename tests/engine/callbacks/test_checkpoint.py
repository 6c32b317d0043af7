from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vis4d.engine.callbacks.checkpoint import AtomicCheckpointIO


def test_a_failed_save_keeps_the_previous_checkpoint_and_no_temporary_file(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever pickling raises
        io.save_checkpoint({"step": 2, "bad": lambda: None}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
