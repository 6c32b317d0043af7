"""A vis4d checkpoint that holds an EMA of the weights (model.ema) gives the average wherever it is read."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vis4d.config.schema import DetectorModelConfig, YOLOXConfig
from vis4d.model.detection import DetectionModel
from vis4d.model.weights import load_weights
from vis4d.model.weights.checkpoint import read_state


def _model() -> DetectionModel:
    return DetectionModel(DetectorModelConfig(detector=YOLOXConfig(size="nano", width=0.125)), 2)


def test_the_ema_is_read_in_preference_to_the_trained_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained, average = _model(), _model()
    with torch.no_grad():
        for p in average.parameters():
            p.fill_(0.25)
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in trained.state_dict().items()},
                "ema": {"state_dict": average.state_dict(), "updates": 3, "decay": 0.9998, "ramp": 2000.0},
                "vis4d": {"layout": "vis4d", "categories": ["a", "b"]}}, path)  # fmt: skip
    state, meta = read_state(path, "--weights")
    assert meta["ema"] and meta["vis4d"]["categories"] == ["a", "b"]
    model = _model()
    load_weights(model, str(path), ["a", "b"])
    assert all(bool((p == 0.25).all()) for p in model.parameters())
    assert "[vis4d, EMA weights]" in capsys.readouterr().out

    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in trained.state_dict().items()}}, plain)
    assert "ema" not in read_state(plain, "--weights")[1]
    load_weights(model, str(plain), ["a", "b"])
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), trained.parameters(), strict=True))
    assert "EMA" not in capsys.readouterr().out
