from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from vis4d.common.errors import ConfigError
from vis4d.engine.weights import load_model_weights


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
