"""Command line arguments of ``python -m vis4d.engine.trainer`` (the spec's contract).

Three groups: the positional action and ``--config``; the launch options (the
same names as ``[launch]`` in a config: the command line wins over the
config); and Lightning Trainer options (a ``[trainer]`` section in the config
wins over these, with a warning).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from vis4d.common.errors import ConfigError
from vis4d.common.parser import ArgumentParser

ACTIONS = ("train", "test", "predict")

# Launch options: name -> (argparse kwargs). Defaults are None so that "not given"
# can be told apart from "given", and the config's [launch] value is kept.
LAUNCH_OPTIONS: dict[str, dict[str, Any]] = {
    "work_dir": {
        "help": "Directory for checkpoints, logs, outputs; runs go to work_dir/exp_name/version "
        "(default ./vis4d-workspace/)."
    },
    "exp_name": {"help": "Experiment name (default: the model's name)."},
    "version": {"help": "Version of the experiment (default: a timestamp YYYY-MM-DD_HH-MM-SS)."},
    "input_dir": {
        "help": "predict: a folder of images (or of image subfolders, or video files); "
        "each folder / video file is one video, frames sorted by name."
    },
    "find_unused_parameters": {
        "action": "store_true",
        "default": None,
        "help": "DDP: check for unused parameters (off by default, faster).",
    },
    "visualize": {
        "action": "store_true",
        "default": None,
        "help": "test/predict: draw predictions into RUN/<action>/vis/.",
    },
    "seed": {"type": int, "help": "Seed python, numpy, torch and data order (default: none)."},
    "weights": {
        "help": "Checkpoint to load: 'best' (default for test/predict), 'last', a file path, a URL, or a name "
        "(torchvision://NAME, mmdet://PATH, bdd100k://PATH; vis4d weights list). Any supported layout "
        "(vis4d, torchvision, mmdetection, QDTrack, Vis4D 1.0) is converted. train: initialise from it "
        "(or resume from it with --resume)."
    },
    "checkpoint_period": {"type": int, "help": "Save checkpoints/epoch=N.ckpt every N epochs (default 1)."},
    "checkpoint_every_n_steps": {
        "type": int,
        "help": "train: also write checkpoints/last.ckpt every N optimizer steps, so a killed run loses at most N "
        "steps and --resume continues at that batch (default: at epoch ends only).",
    },
    "resume": {
        "action": "store_true",
        "default": None,
        "help": "train: resume from --weights, or from last.ckpt of work_dir/exp_name/version.",
    },
    "pin_memory": {"action": "store_true", "default": None, "help": "Pin memory in training data loaders."},
    "wandb": {
        "action": "store_true",
        "default": None,
        "help": "Log to Weights & Biases (offline without an API key) instead of TensorBoard.",
    },
    "strict": {
        "action": argparse.BooleanOptionalAction,
        "default": None,
        "help": "Require checkpoint keys to match the model's (default: true).",
    },
    "tqdm": {"action": "store_true", "default": None, "help": "Use tqdm progress bars."},
}

# Lightning Trainer options accepted on the command line.
TRAINER_OPTIONS: dict[str, dict[str, Any]] = {
    "gpus": {"help": "GPUs: a count (e.g. 8) or a comma list of ids (e.g. 2,3,4,5). Without GPUs runs use the CPU."},
    "accelerator": {"help": "cpu, gpu, mps, auto."},
    "devices": {"help": "Number of devices, a comma list of ids, or auto."},
    "strategy": {"help": "ddp (recommended for multi-GPU), ddp_spawn, fsdp, deepspeed, auto (Lightning's names)."},
    "num_nodes": {"type": int},
    "precision": {"help": "32, 16-mixed, bf16-mixed, ..."},
    "max_epochs": {"type": int},
    "max_steps": {"type": int},
    "limit_train_batches": {"type": float},
    "limit_val_batches": {"type": float},
    "limit_test_batches": {"type": float},
    "limit_predict_batches": {"type": float},
    "val_check_interval": {"type": float},
    "check_val_every_n_epoch": {"type": int},
    "log_every_n_steps": {"type": int},
    "accumulate_grad_batches": {"type": int},
    "gradient_clip_val": {"type": float},
    "deterministic": {"action": "store_true", "default": None},
    "benchmark": {"action": "store_true", "default": None, "help": "cudnn.benchmark."},
    "profiler": {
        "choices": ["simple", "advanced", "pytorch"],
        "help": "Profile the run with Lightning's profiler; the report (and pytorch's traces) go to RUN/profile/.",
    },
    "num_sanity_val_steps": {"type": int},
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m vis4d.engine.trainer``."""
    parser = ArgumentParser(
        prog="python3 -m vis4d.engine.trainer",
        description="Train, test or run vis4d models from one config file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
        "  python3 -m vis4d.engine.trainer train --config configs/experiments/qdtrack/"
        "qdtrack_r18_fpn_synthetic.toml --max_epochs 2\n"
        "  python3 -m vis4d.engine.trainer test --config CFG --weights best --version V\n"
        "  python3 -m vis4d.engine.trainer predict --config CFG --input_dir frames/ --visualize",
    )
    parser.add_argument("action", choices=ACTIONS, help="train / test / predict")
    parser.add_argument("--config", required=False, help="Config file (.toml or .yaml).")
    parser.add_argument(
        "--cfg-options",
        "--cfg_options",
        dest="cfg_options",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="Override config values, e.g. model.optimizer.lr=0.01,model.lr_scheduler.warmup_steps=1000.",
    )
    parser.add_argument(
        "--output_format",
        help="Prediction file formats, comma list of scalabel,bdd100k,motchallenge,coco "
        "(default: launch.output_formats).",
    )
    parser.add_argument("--debug", action="store_true", help="Show full tracebacks on errors.")
    launch = parser.add_argument_group("launch options (override [launch] in the config)")
    for name, kwargs in LAUNCH_OPTIONS.items():
        launch.add_argument(f"--{name}", dest=name, **kwargs)
    trainer = parser.add_argument_group("Lightning Trainer options (a [trainer] section in the config wins)")
    for name, kwargs in TRAINER_OPTIONS.items():
        if "action" not in kwargs and "choices" not in kwargs:
            kwargs = {"metavar": name.upper(), **kwargs}
        trainer.add_argument(f"--{name}", dest=f"trainer__{name}", **kwargs)
    return parser


def split_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Launch options and trainer options that were given on the command line."""
    launch = {k: getattr(args, k) for k in LAUNCH_OPTIONS if getattr(args, k) is not None}
    trainer = {
        k.removeprefix("trainer__"): v for k, v in vars(args).items() if k.startswith("trainer__") and v is not None
    }
    return launch, trainer


DEVICES_EXPECTED = "expected a number of devices (1 or more), a comma-separated list of device indices, or auto"


def parse_devices(value: Any, option: str = "--devices") -> int | list[int] | str:
    """``8`` -> 8, ``2,3`` -> [2, 3], ``auto`` -> "auto"; anything else is a :class:`ConfigError` naming ``option``.

    ``-1`` (Lightning's "all devices") is refused: say how many, or ``auto``.
    A list from a config file (``devices = [0, 1]``) is checked the same way.
    """
    if isinstance(value, list):
        indices = value
    elif isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
        return value
    else:
        text = str(value).strip()
        if text == "auto":
            return text
        if "," not in text:
            if not text.isdigit() or int(text) < 1:
                raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
            return int(text)
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts or not all(part.isdigit() for part in parts):
            raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
        indices = [int(part) for part in parts]
    if not indices or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices):
        raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
    if len(set(indices)) != len(indices):
        raise ConfigError(f"{option}: a device index is listed twice in {value!r}")
    return list(indices)


# Lightning's precision names (lightning.fabric's _PRECISION_INPUT), as the command line spells them.
PRECISIONS = (
    "64", "32", "16", "bf16", "64-true", "32-true", "16-true", "16-mixed", "bf16-true", "bf16-mixed",
    "transformer-engine", "transformer-engine-float16",
)  # fmt: skip
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


def _count(minimum: int, allow_minus_one: bool = False) -> Callable[[Any], str | None]:
    """A check for a whole number >= ``minimum`` (or -1, Lightning's "no limit")."""

    def check(value: Any) -> str | None:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if whole and (value >= minimum or (allow_minus_one and value == -1)):
            return None
        return f"expected a whole number >= {minimum}" + (" (or -1 for no limit)" if allow_minus_one else "")

    return check


def _batches(positive: bool) -> Callable[[Any], str | None]:
    """A check for Lightning's batch limits: a fraction in [0, 1] or a whole number of batches."""

    def check(value: Any) -> str | None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        fits = number and 0 <= value < float("inf") and (value <= 1 or float(value).is_integer())
        if fits and (value > 0 or not positive):
            return None
        low = "(0, 1]" if positive else "[0, 1]"
        return f"expected a fraction in {low} or a whole number of batches"

    return check


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if str(value) in choices else f"expected one of {', '.join(choices)}"

    return check


def _non_negative(value: Any) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return None if number and 0 <= value < float("inf") else "expected a number >= 0"


# What each Lightning option accepts; Lightning itself accepts some of these wrong values silently (a zero
# accumulation, a negative clip value) or fails only after the model is built.
_OPTION_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "num_nodes": _count(1),
    "max_epochs": _count(1, allow_minus_one=True),
    "max_steps": _count(1, allow_minus_one=True),
    "limit_train_batches": _batches(positive=False),
    "limit_val_batches": _batches(positive=False),
    "limit_test_batches": _batches(positive=False),
    "limit_predict_batches": _batches(positive=False),
    "val_check_interval": _batches(positive=True),
    "check_val_every_n_epoch": _count(1),
    "log_every_n_steps": _count(1),
    "accumulate_grad_batches": _count(1),
    "gradient_clip_val": _non_negative,
    "num_sanity_val_steps": _count(0, allow_minus_one=True),
    "precision": _choice(PRECISIONS),
    "accelerator": _choice(ACCELERATORS),
}


def check_trainer_options(options: dict[str, Any], where: Callable[[str], str]) -> None:
    """Check the Lightning options before Lightning sees them; ``where(key)`` names one (``--key`` or its file).

    Devices are parsed (:func:`parse_devices`) and strategies looked up in
    Lightning's registry; whether the machine has what they ask for is
    :func:`vis4d.engine.resolve.check_devices`'s job.
    """
    for key, value in options.items():
        check = _OPTION_CHECKS.get(key)
        problem = check(value) if check is not None else None
        if problem is not None:
            raise ConfigError(f"{where(key)}: {problem}, got {value!r}")
        if key in ("devices", "gpus"):
            parse_devices(value, where(key))
        if key == "strategy" and isinstance(value, str):
            _check_strategy(value, where(key))


def _check_strategy(name: str, option: str) -> None:
    from lightning.pytorch.strategies import StrategyRegistry

    if name == "dp":
        raise ConfigError(f"{option}: 'dp' (DataParallel) does not exist in Lightning 2; use ddp")
    known = ("auto", *sorted(StrategyRegistry.available_strategies()))
    if name not in known:
        common = "auto, ddp, ddp_spawn, fsdp, deepspeed"
        raise ConfigError(f"{option}: unknown strategy {name!r}; expected one of {common} (or another of Lightning's)")
