"""Weights tests never reach the network: torch.hub's cache is a temporary TORCH_HOME per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME; files placed under ``hub/checkpoints/`` with official names are 'already downloaded'."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def cache_dir(home: Path) -> Path:
    """Where torch.hub keeps checkpoints under ``home``."""
    path = home / "hub" / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path
