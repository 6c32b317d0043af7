from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.config.schema import LRSchedulerConfig
from vis4d.data.store import FrameRecord, build_store, empty_box_columns
from vis4d.engine.module import lr_factor
from vis4d.engine.weights import load_model_weights


def test_warmup_then_step_decay() -> None:
    cfg = LRSchedulerConfig(type="step", warmup_steps=10, warmup_ratio=0.1, milestones=[2, 3], gamma=0.1)
    assert lr_factor(cfg, 0, 0.0, None) == pytest.approx(0.1)
    assert lr_factor(cfg, 5, 0.1, None) == pytest.approx(0.55)
    assert lr_factor(cfg, 10, 1.0, None) == pytest.approx(1.0)
    assert lr_factor(cfg, 100, 2.0, None) == pytest.approx(0.1)
    assert lr_factor(cfg, 200, 3.5, None) == pytest.approx(0.01)


def test_cosine_reaches_min_ratio() -> None:
    cfg = LRSchedulerConfig(type="cosine", warmup_steps=0, min_lr_ratio=0.05)
    assert lr_factor(cfg, 0, 0.0, 100) == pytest.approx(1.0)
    assert lr_factor(cfg, 50, 0.0, 100) == pytest.approx(0.525)
    assert lr_factor(cfg, 100, 0.0, 100) == pytest.approx(0.05)


class _Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.layer = nn.Linear(2, width)


def test_load_model_weights_strict_and_lenient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _Tiny()
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": {f"model.{k}": v.half() for k, v in source.state_dict().items()}}, path)
    target = _Tiny()
    load_model_weights(target, path, strict=True)
    torch.testing.assert_close(target.layer.weight, source.layer.weight.half().float())

    other = _Tiny(width=4)
    with pytest.raises(ConfigError, match="shape mismatch"):
        load_model_weights(other, path, strict=True)
    load_model_weights(other, path, strict=False)
    assert "2 shape-mismatched" in capsys.readouterr().err


def _store() -> object:
    frames = []
    for i in range(3):
        cols = empty_box_columns(1)
        cols["boxes"][:] = [0, 0, 10, 10]
        frames.append(FrameRecord(f"f{i}", "v", i, f"/img/f{i}.jpg", 20, 20, cols))
    return build_store(["car"], frames)


def test_predictions_to_store_aligns_rows() -> None:
    gt = _store()

    def out(row: int, k: int) -> FrameOutput:
        meta = FrameMeta(f"f{row}", "v", row, "", (20, 20), (20, 20), frame_row=row)
        return FrameOutput(
            meta, np.full((k, 4), row, np.float32), np.full(k, 0.5, np.float32), np.zeros(k, np.int64), np.arange(k)
        )

    pred = gt.with_predictions([out(2, 2), out(0, 1)])
    assert pred.num_frames == 3 and pred.num_boxes == 3
    assert list(np.diff(pred.box_offsets)) == [1, 0, 2]
    assert pred.boxes[pred.box_slice(2)][:, 0].tolist() == [2.0, 2.0]
    assert pred.track_ids.tolist() == [0, 0, 1]
