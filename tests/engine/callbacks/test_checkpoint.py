from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_a_full_disk_is_one_line_with_the_free_space_and_the_old_checkpoint_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from vis4d.common.errors import ResourceError

    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)

    def full_disk(obj: object, handle: Any) -> None:
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(ResourceError, match=rf"^cannot write {path}: no space left on the device \(\d+ MiB free\)"):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


class _Payload:
    """Unpickling this runs ``touch marker``: what a crafted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_refused_even_when_torch_is_told_to_allow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vis4d.common.errors import ConfigError

    marker = tmp_path / "payload_ran"
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": _Payload(marker)}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(ConfigError, match=r"holds Python objects that would run code when loaded"):
        AtomicCheckpointIO().load_checkpoint(path, weights_only=False)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the file really does run its payload when loaded unsafely
    assert marker.exists()
