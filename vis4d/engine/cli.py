"""Command line arguments of ``python -m vis4d.engine.trainer`` (the spec's contract).

Three groups: the positional action and ``--config``; the launch options (the
same names as ``[launch]`` in a config: the command line wins over the
config); and Lightning Trainer options (a ``[trainer]`` section in the config
wins over these, with a warning).
"""

from __future__ import annotations

import argparse
from typing import Any

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
    "strategy": {"help": "ddp (recommended for multi-GPU), ddp_spawn, dp (discouraged), auto."},
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
    parser = argparse.ArgumentParser(
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


def parse_devices(value: str) -> int | list[int] | str:
    """``8`` -> 8, ``2,3`` -> [2, 3], ``auto`` -> "auto"."""
    value = str(value).strip()
    if value == "auto":
        return value
    if "," in value:
        return [int(v) for v in value.split(",") if v.strip()]
    return int(value)
