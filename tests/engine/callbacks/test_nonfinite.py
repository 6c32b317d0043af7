"""A loss, gradient or weights that turn nan or inf: one line naming the step, the last good checkpoint kept.

The faults are real training runs of the tiny detector through the command
line; the nan comes from ``inject_nonfinite.py``, which poisons one loss term
at chosen steps inside the forked process (test code only), or from an absurd
learning rate that makes the weights diverge on their own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import fork_server
from tests.engine.conftest import run_cli, write_tiny_config
from tests.fork_server import Completed
from vis4d.engine.callbacks.nonfinite import describe_losses

INJECT = Path(__file__).with_name("inject_nonfinite.py")
ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _train(config: Path, version: str, *options: str, poison: tuple[str, str, str] | None = None) -> Completed:
    """``train`` of the tiny detector into ``ws/e/<version>``, seeded; ``poison``: (steps, term, nan|inf|grad)."""
    args = ["train", "--config", str(config), "--work_dir", str(config.parent / "ws"), "--exp_name", "e",
            "--version", version, "--seed", "0", *options]  # fmt: skip
    if poison is None:
        result = run_cli(*args, cwd=config.parent)
        assert isinstance(result, Completed)
        return result
    return fork_server().run("script", [str(INJECT), *poison, *args], config.parent, ENV, timeout=300)


def _checkpoint(config: Path, version: str, name: str = "last") -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(config.parent / "ws" / "e" / version / "checkpoints" / f"{name}.ckpt",
                                        weights_only=True)  # fmt: skip
    return loaded


def _finite(checkpoint: dict[str, Any]) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in checkpoint["state_dict"].values() if v.is_floating_point())


def _error_line(result: Completed) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[-1]


def test_describe_losses_names_the_terms_that_are_not_finite() -> None:
    ok, nan, inf = torch.tensor(1.0), torch.tensor(float("nan")), torch.tensor(float("inf"))
    assert describe_losses({"a": ok, "b": nan}, nan) == "loss b is nan"
    assert describe_losses({"a": inf, "b": nan}, nan) == "losses a (inf), b (nan)"
    assert describe_losses({"a": ok, "b": ok}, inf) == "the summed loss is inf"


@pytest.mark.slow
def test_a_nan_loss_stops_at_its_step_with_one_line_and_the_last_good_checkpoint_stays(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    every_2 = ["--max_epochs", "3", "--checkpoint_every_n_steps", "2"]  # 4 steps per epoch
    result = _train(config, "v", *every_2, poison=("5", "rpn_box_loss", "nan"))
    assert result.returncode == 1, result.stderr[-3000:]
    last = tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt"
    assert _error_line(result).startswith(
        f"error: training stopped at step 5 (epoch 1): loss rpn_box_loss is nan; the last good checkpoint is {last} "
        "(step 4); lower model.optimizer.lr"
    )
    for name in ("last", "best", "epoch=0"):  # nothing was written after the bad step, and all of it is finite
        saved = _checkpoint(config, "v", name)
        assert saved["global_step"] == 4 and _finite(saved), name
    assert not (last.parent / "epoch=1.ckpt").exists()
    resumed = _train(config, "v", *every_2, "--resume")  # the cause gone, the run goes on from step 4
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _checkpoint(config, "v")["global_step"] == 12


@pytest.mark.slow
def test_an_infinite_gradient_behind_a_finite_loss_stops_before_the_update(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    result = _train(config, "v", "--max_steps", "4", "--checkpoint_every_n_steps", "1",
                    poison=("2", "roi_cls_loss", "grad"))  # fmt: skip
    assert result.returncode == 1
    line = _error_line(result)
    assert line.startswith("error: training stopped at step 2 (epoch 0): the gradient of model.")
    assert "is nan (the loss is finite)" in line
    saved = _checkpoint(config, "v")
    assert saved["global_step"] == 2 and _finite(saved)


@pytest.mark.slow
def test_skip_mode_leaves_the_weights_of_a_bad_step_untouched_and_stops_after_too_many(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    clean = _train(config, "clean", "--max_steps", "2")
    assert clean.returncode == 0, clean.stderr[-3000:]
    skip = ["--on_nonfinite_loss", "skip"]
    result = _train(config, "skip", "--max_steps", "3", *skip, poison=("2", "rpn_cls_loss", "inf"))
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: step")]
    assert warnings == ["warning: step 2 (epoch 0): loss rpn_cls_loss is inf; the step is skipped, no update "
                        "(1 skipped so far; launch.on_nonfinite_loss = skip)"]  # fmt: skip
    # Step 2 changed nothing: weights, batch norm statistics and optimizer state are those after step 1.
    ours, theirs = _checkpoint(config, "skip"), _checkpoint(config, "clean")
    assert ours["global_step"] == 3
    for key, value in theirs["state_dict"].items():
        assert torch.equal(ours["state_dict"][key], value), key
    for index, state in theirs["optimizer_states"][0]["state"].items():
        for name, value in state.items():
            mine = ours["optimizer_states"][0]["state"][index][name]
            assert torch.equal(torch.as_tensor(mine), torch.as_tensor(value)), (index, name)

    result = _train(config, "many", "--max_steps", "8", *skip, "--max_nonfinite_steps", "3",
                    poison=("1,2,3,4", "roi_box_loss", "nan"))  # fmt: skip
    assert result.returncode == 1
    assert _error_line(result).startswith("error: training stopped at step 3 (epoch 0): loss roi_box_loss is nan, 3 "
                                          "steps in a row skipped (launch.max_nonfinite_steps); ")  # fmt: skip


@pytest.mark.slow
def test_weights_that_became_inf_are_never_saved(tmp_path: Path) -> None:
    """A finite step that leaves a weight inf: the checkpoint after it is refused; last.ckpt stays at the one before."""
    config = write_tiny_config(tmp_path, "detector")
    result = _train(config, "v", "--max_steps", "6", "--checkpoint_every_n_steps", "1", poison=("2", "-", "weights"))
    assert result.returncode == 1
    last = tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt"
    assert _error_line(result).startswith(
        "error: training stopped at step 3 (epoch 0): the weights are inf (model.detector.backbone.body.features.0.0."
        "weight) "
        f"after a step that diverged; not saving them; the last good checkpoint is {last} (step 2); "
    )
    saved = _checkpoint(config, "v")
    assert saved["global_step"] == 2 and _finite(saved)


@pytest.mark.slow
def test_an_absurd_learning_rate_ends_with_one_line_and_a_finite_checkpoint(tmp_path: Path) -> None:
    """No injected fault: the weights blow up by themselves; the run ends at the first nan with the line."""
    config = write_tiny_config(tmp_path, "detector")
    result = _train(config, "v", "--max_steps", "6", "--checkpoint_every_n_steps", "1",
                    "--cfg-options", "model.optimizer.lr=1e30,model.lr_scheduler.warmup_steps=0")  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    pattern = r"error: training stopped at step (\d+) \(epoch 0\): (loss \w+ is nan|losses .*\(nan\))"
    match = re.match(pattern, _error_line(result))
    assert match is not None, _error_line(result)
    saved = _checkpoint(config, "v")
    assert saved["global_step"] <= int(match.group(1)) < 6 and _finite(saved)
