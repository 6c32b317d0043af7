from __future__ import annotations

import types
from typing import Any

import pytest

from vis4d.engine.callbacks.progress import LogProgress


def _trainer(**overrides: Any) -> Any:
    base = {"is_global_zero": True, "sanity_checking": False, "num_val_batches": [200], "num_test_batches": [120],
            "num_predict_batches": [60]}  # fmt: skip
    return types.SimpleNamespace(**{**base, **overrides})


def test_one_line_every_five_refresh_periods_per_stage(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LogProgress(refresh=2)
    trainer = _trainer()
    progress.on_test_epoch_start(trainer, None)  # type: ignore[arg-type]
    for batch_idx in range(20):
        progress.on_test_batch_end(trainer, None, None, None, batch_idx)  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["[test] 10/120", "[test] 20/120"]


def test_validation_lines_are_called_val_and_sanity_checks_are_silent(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LogProgress(refresh=1)
    progress.on_validation_epoch_start(_trainer(), None)  # type: ignore[arg-type]
    progress.on_validation_batch_end(_trainer(sanity_checking=True), None, None, None, 4)  # type: ignore[arg-type]
    progress.on_validation_batch_end(_trainer(), None, None, None, 4)  # type: ignore[arg-type]
    assert capsys.readouterr().out.startswith("[val] 5/200")


def test_only_the_first_process_prints(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LogProgress(refresh=1)
    progress.on_predict_epoch_start(_trainer(), None)  # type: ignore[arg-type]
    progress.on_predict_batch_end(_trainer(is_global_zero=False), None, None, None, 4)  # type: ignore[arg-type]
    assert capsys.readouterr().out == ""


def test_a_count_past_its_total_never_shows_that_total(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LogProgress(refresh=1)
    progress.on_test_epoch_start(_trainer(), None)  # type: ignore[arg-type]
    progress.on_test_batch_end(_trainer(num_test_batches=[3]), None, None, None, 4)  # type: ignore[arg-type]
    progress.on_test_batch_end(_trainer(num_test_batches=[0]), None, None, None, 9)  # type: ignore[arg-type]
    assert [line.split(" (")[0] for line in capsys.readouterr().out.splitlines()] == ["[test] 5/?", "[test] 10/?"]
