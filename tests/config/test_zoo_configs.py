"""A model zoo entry's config.yaml works from any directory; it is its run's config, as the exporter writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.export_weights import export_config
from vis4d.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = sorted(p.parent.name for p in (ROOT / "zoo").glob("*/config.resolved.yaml"))


def test_there_are_zoo_entries() -> None:
    assert "qdtrack_r18_fpn_synthetic" in ENTRIES


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_config_loads_from_another_directory_and_is_the_runs(
    entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(ROOT / "zoo" / entry / "config.yaml")
    run = load_config(ROOT / "zoo" / entry / "config.resolved.yaml")
    assert config.model_dump(exclude={"launch"}) == run.model_dump(exclude={"launch"})
    # Its own runs: not the training run's folder, nor the model's name (the recipe's runs), a new version each.
    assert (config.launch.exp_name, config.launch.version, config.launch.weights) == (f"zoo_{entry}", None, None)
    assert config.launch.seed == run.launch.seed and config.launch.best_metric == run.launch.best_metric


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_shipped_config_is_what_the_exporter_writes(entry: str, tmp_path: Path) -> None:
    written = tmp_path / entry / "config.yaml"
    written.parent.mkdir()
    export_config(ROOT / "zoo" / entry / "config.resolved.yaml", written, (ROOT / "zoo" / entry / "model.pt").is_file())
    assert written.read_text() == (ROOT / "zoo" / entry / "config.yaml").read_text()
