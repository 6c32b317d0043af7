"""The trainer's command line: a help page per action, a misplaced option named in one line, complete namespaces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vis4d.engine.cli import ACTIONS, LAUNCH_OPTIONS, ONLY_FOR, TRAINER_OPTIONS, build_parser, split_args
from vis4d.engine.trainer import main

PROG = "python3 -m vis4d.engine.trainer"
ROOT = Path(__file__).resolve().parents[2]
ZOO = "zoo/qdtrack_r18_fpn_synthetic"


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("action", "shown", "hidden"),
    [
        (
            "train",
            ["--resume", "--checkpoint_every_n_steps", "--max_epochs", "--limit_train_batches", "--pin_memory"],
            ["--input_dir", "--visualize", "--output_format", "--limit_test_batches", "--limit_predict_batches"],
        ),
        (
            "test",
            ["--visualize", "--output_format", "--limit_test_batches"],
            ["--resume", "--input_dir", "--max_epochs", "--checkpoint_every_n_steps", "--limit_predict_batches"],
        ),
        (
            "predict",
            ["--input_dir", "--visualize", "--output_format", "--limit_predict_batches", "--resume"],
            ["--max_epochs", "--limit_train_batches", "--limit_test_batches", "--pin_memory", "--on_nonfinite_loss"],
        ),
    ],
)
def test_each_action_shows_only_its_own_options(
    action: str, shown: list[str], hidden: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help([action, "-h"], capsys)
    assert text.startswith(f"usage: {PROG} {action} ")
    common = ["--config", "--cfg-options", "--weights", "--work_dir", "--seed", "--devices", "--precision", "--debug"]
    for option in [*common, *shown]:
        assert f"{option} " in text or f"{option}\n" in text, option
    for option in hidden:
        assert option not in text, option


def test_the_help_pages_differ_and_the_top_one_lists_the_actions(capsys: pytest.CaptureFixture[str]) -> None:
    pages = {action: _help([action, "-h"], capsys) for action in ACTIONS}
    assert len(set(pages.values())) == 3
    top = _help(["-h"], capsys)
    assert all(f"\n    {action} " in top for action in ACTIONS), top
    assert f"{PROG} ACTION -h" in top


def test_the_top_help_lists_every_option_in_the_specs_groups(capsys: pytest.CaptureFixture[str]) -> None:
    """``-h`` enumerates every launch option (the spec: "To list all possible arguments and options, use -h")."""
    top = _help(["-h"], capsys)
    groups = ["standard options", "launch options", "Lightning Trainer options"]
    starts = [top.index(f"\n{group}") for group in groups]
    assert starts == sorted(starts)
    every = {opt for action in ACTIONS for opt in re.findall(r"--[a-z][a-z_-]*", _help([action, "-h"], capsys))}
    every -= {"--help"}
    for option in sorted(every):
        assert re.search(rf"(  |, ){option}[ ,\n]", top), option
    assert "[train]" in top.split("--checkpoint_every_n_steps")[1].split("\n  --")[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--input_dir", "frames/"], "--input_dir only applies to predict (see " + PROG + " train --help)"),
        (["train", "--visualize"], "--visualize only applies to test and predict"),
        (["test", "--resume"], "--resume only applies to train and predict (see " + PROG + " test --help)"),
        (["predict", "--max_epochs=3"], "--max_epochs only applies to train"),
        (["test", "--limit_predict_batches", "2"], "--limit_predict_batches only applies to predict"),
        (["train", "--nonsense", "1"], "unrecognized arguments: --nonsense 1 (see " + PROG + " train --help)"),
        (["train", "--max_epoch", "2"], "unrecognized arguments: --max_epoch 2"),  # no abbreviations: a typo stops
        (["--config", "x.toml", "train"], "the action comes first"),
        (["fit", "--config", "x.toml"], "invalid choice: 'fit'"),
        ([], "ACTION"),
    ],
)
def test_an_option_the_action_does_not_take_is_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("error: ") and expected in line, line


@pytest.mark.parametrize("action", ACTIONS)
def test_every_namespace_holds_every_option(action: str) -> None:
    """resolve.py reads every launch option and ``args.output_format`` whatever the action."""
    args = build_parser().parse_args([action, "--config", "c.toml"])
    assert args.action == action and args.config == "c.toml" and args.cfg_options == []
    assert args.output_format is None
    assert all(getattr(args, name) is None for name in LAUNCH_OPTIONS)
    assert all(getattr(args, f"trainer__{name}") is None for name in TRAINER_OPTIONS)
    assert split_args(args) == ({}, {})


def test_options_parse_as_before() -> None:
    train = ["train", "--config", "c.toml", "--cfg-options", "a=1", "--cfg_options", "b=2", "--resume", "--seed", "3"]
    train += ["--weights", "w.pt", "--no-strict", "--max_epochs", "2", "--limit_train_batches", "0.5", "--gpus", "2,3"]
    args = build_parser().parse_args(train)
    assert args.cfg_options == ["a=1", "b=2"]
    launch, trainer = split_args(args)
    assert launch == {"resume": True, "seed": 3, "weights": "w.pt", "strict": False}
    assert trainer == {"max_epochs": 2, "limit_train_batches": 0.5, "gpus": "2,3"}
    predict = ["predict", "--config", "c.toml", "--input_dir", "f/", "--visualize", "--output_format", "coco"]
    args = build_parser().parse_args([*predict, "--limit_predict_batches", "4", "--devices", "1"])
    assert args.output_format == "coco"
    assert split_args(args) == ({"input_dir": "f/", "visualize": True}, {"limit_predict_batches": 4.0, "devices": "1"})


def test_every_option_limited_to_some_actions_exists() -> None:
    known = {*LAUNCH_OPTIONS, *TRAINER_OPTIONS, "output_format"}
    assert set(ONLY_FOR) <= known
    assert all(set(actions) <= set(ACTIONS) for actions in ONLY_FOR.values())


@pytest.mark.parametrize(("config", "extra"), [("config.resolved.yaml", []), ("config.yaml", ["--version", "v"])])
def test_best_weights_of_a_zoo_config_without_a_run_name_the_zoo_weights(
    config: str, extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["test", "--config", f"{ZOO}/{config}", "--work_dir", str(tmp_path), *extra]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --weights best: no checkpoint at ")
    assert line.endswith(f"for the model zoo entry qdtrack_r18_fpn_synthetic pass --weights {ZOO}/model.pt"), line


def test_the_listed_lightning_names_are_the_installed_ones() -> None:
    """The lists that let the command line answer without importing Lightning are Lightning's own."""
    from lightning.pytorch.strategies import StrategyRegistry

    from vis4d.config.load import TRAINER_ARGUMENTS, installed_trainer_arguments
    from vis4d.engine.trainer_options import LIGHTNING_STRATEGIES

    assert TRAINER_ARGUMENTS == installed_trainer_arguments()
    assert sorted(LIGHTNING_STRATEGIES) == sorted(StrategyRegistry.available_strategies())


NO_TORCH_SCRIPT = """
import contextlib, io, sys
from vis4d.engine.trainer import main
config = sys.argv[1]
for argv in (["-h"], ["train", "-h"], ["test", "--config", "missing.toml"], ["train", "--config", config,
             "--max_steps", "0"], ["test", "--config", config, "--accelerator", "gpu"], ["predict", "--config",
             config, "--strategy", "ddpp"], ["test", "--config", config, "--weights", "missing.ckpt"],
             ["train", "--config", config, "--cfg-options", "model.optimizer.lr=-1"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    assert code in (0, 2), (argv, code)
heavy = sorted(name for name in ("torch", "lightning", "torchvision", "cv2") if name in sys.modules)
print(" ".join(heavy) or "none")
"""


def test_help_and_errors_before_the_model_import_neither_torch_nor_lightning(tmp_path: Path) -> None:
    """What keeps ``-h`` and a typo under a second (benchmarks/bench_cli.py times it): no heavy import."""
    import subprocess
    import sys

    config = (
        Path(__file__).resolve().parents[2] / "configs" / "experiments" / "qdtrack" / "qdtrack_R_18_FPN_synthetic.toml"
    )
    result = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, str(config)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("15", 15), ("1.0", 1.0), ("0.25", 0.25), ("0", 0)])
def test_a_batch_limit_of_1_is_one_batch_and_1_0_is_all(text: str, value: float) -> None:
    """argparse's float would make ``--limit_test_batches 1`` Lightning's 1.0, i.e. every batch."""
    args = build_parser().parse_args(["test", "--config", "c.toml", "--limit_test_batches", text])
    assert args.trainer__limit_test_batches == value and type(args.trainer__limit_test_batches) is type(value)
