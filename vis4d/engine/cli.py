"""Command line arguments of ``python3 -m vis4d.engine.trainer ACTION ...``.

Each action (``train``, ``test``, ``predict``) has its own sub-parser, so
``train -h`` lists only what training reads. Three groups of options: the
config (``--config``, ``--cfg-options``); the launch options (the same names
as ``[launch]`` in a config: the command line wins over the config); and
Lightning Trainer options (a ``[trainer]`` section in the config wins over
these, with a warning). The parsed namespace always holds every option (the
ones an action does not take are ``None``), so :func:`split_args` and
:mod:`vis4d.engine.resolve` need not know which action took which.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from vis4d.common.errors import UsageError
from vis4d.common.parser import ArgumentParser

ACTIONS = ("train", "test", "predict")
PROG = "python3 -m vis4d.engine.trainer"

ACTION_HELP = {
    "train": "Train a model (from scratch, from --weights, or --resume a run); validation picks best.ckpt.",
    "test": "Evaluate a checkpoint on the config's test data: metrics.json and prediction files.",
    "predict": "Run a checkpoint on the config's test data or on --input_dir: predictions, --visualize pictures.",
}

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
        "help": "A folder of images (or of image subfolders, or video files) to predict on instead of the "
        "config's test data; each folder / video file is one video, frames sorted by name. Or a live source: a "
        "camera index (0) or a stream URL OpenCV opens (rtsp://..., http://...), read until it ends, the "
        "connection drops or Ctrl-C, the prediction files complete in every case."
    },
    "stream_timeout": {
        "type": float,
        "metavar": "SECONDS",
        "help": "With a camera or stream URL as --input_dir: seconds to wait for it to open and for each frame; "
        "a stream silent for longer has ended (default 10).",
    },
    "find_unused_parameters": {
        "action": "store_true",
        "default": None,
        "help": "DDP: check for unused parameters (off by default, faster).",
    },
    "visualize": {
        "action": "store_true",
        "default": None,
        "help": "Draw predictions into RUN/<action>/vis/ (a JPEG per frame, an MP4 per video).",
    },
    "seed": {"type": int, "help": "Seed python, numpy, torch and data order (default: none)."},
    "weights": {
        "help": "Checkpoint to load, the only weights read: 'best' or 'last' of the run directory, a file path "
        "(e.g. a model zoo entry's model.pt), a URL, a name (torchvision://NAME, mmdet://PATH, bdd100k://PATH; "
        "vis4d weights list), or none. Default: the run's best when the experiment has a run with checkpoints "
        "(the newest, or --version), else the config's model.weights. Any supported layout (vis4d, "
        "torchvision, mmdetection, QDTrack, Vis4D 1.0) is converted."
    },
    "checkpoint_period": {"type": int, "help": "Save checkpoints/epoch=N.ckpt every N epochs (default 1)."},
    "checkpoint_every_n_steps": {
        "type": int,
        "help": "Also write checkpoints/last.ckpt every N optimizer steps, so a killed run loses at most N "
        "steps and --resume continues at that batch (default: at epoch ends only).",
    },
    "resume": {
        "action": "store_true",
        "default": None,
        "help": "train: resume from --weights, or from last.ckpt of work_dir/exp_name/version; predict: continue "
        "the interrupted prediction run of --version after its last finished video.",
    },
    "journal_frames": {
        "type": int,
        "metavar": "N",
        "help": "predict: journal a detector's finished frames every N frames of a video, so that a killed run "
        "redoes at most N on --resume (default 100; trackers journal whole videos).",
    },
    "on_nonfinite_loss": {
        "choices": ["stop", "skip"],
        "help": "A loss or gradient that is nan or inf: stop with one line, last.ckpt kept as the last good step "
        "(stop, default), or skip the step without an update (skip).",
    },
    "max_nonfinite_steps": {
        "type": int,
        "help": "With --on_nonfinite_loss skip: stop after this many skipped steps in a row (default 20).",
    },
    "ddp_timeout": {
        "type": float,
        "metavar": "SECONDS",
        "help": "DDP: how long a process waits for the others before the run stops, e.g. when one died (default 600).",
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
    "backend": {
        "choices": ["torch", "onnxruntime", "torchscript"],
        "help": "Run the PyTorch model from --weights (torch, default), or the exported --model (vis4d export) in "
        "onnxruntime or TorchScript; the tracker runs in Python either way (docs/export.md).",
    },
    "model": {
        "metavar": "FILE",
        "help": "With --backend onnxruntime/torchscript: the .onnx / TorchScript file vis4d export wrote; the "
        "config must be the one it was exported from (the tracker section may differ).",
    },
}

TRAIN_WEIGHTS_HELP = (
    "Initialise the model from a checkpoint instead of the config's model.weights and backbone weights, or "
    "resume from it with --resume: a file path, a URL, or a name (torchvision://NAME, mmdet://PATH, "
    "bdd100k://PATH; vis4d weights list); 'last' with --resume; none: random initialisation. Any supported "
    "layout (vis4d, torchvision, mmdetection, QDTrack, Vis4D 1.0) is converted."
)


def count_or_fraction(text: str) -> int | float:
    """A batch limit as Lightning reads it: ``1`` is one batch (an int), ``1.0`` all of them (a fraction).

    argparse's ``float`` would turn ``--limit_test_batches 1`` into 1.0, which
    Lightning takes as 100 % of the batches.
    """
    stripped = text.strip()
    try:
        return int(stripped) if stripped.lstrip("+-").isdigit() else float(stripped)
    except ValueError:
        message = f"expected a fraction (0.25) or a whole number of batches, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


# Lightning Trainer options accepted on the command line.
TRAINER_OPTIONS: dict[str, dict[str, Any]] = {
    "gpus": {"help": "GPUs: a count (e.g. 8) or a comma list of ids (e.g. 2,3,4,5). Without GPUs runs use the CPU."},
    "accelerator": {"help": "cpu, gpu, mps, auto."},
    "devices": {"help": "Number of devices, a comma list of ids, or auto."},
    "strategy": {"help": "ddp (recommended for multi-GPU), ddp_spawn, fsdp, deepspeed, auto (Lightning's names)."},
    "num_nodes": {"type": int, "help": "Number of machines (with --gpus per machine)."},
    "precision": {"help": "32, 16-mixed, bf16-mixed, ..."},
    "max_epochs": {"type": int, "help": "Epochs to train (-1: no limit)."},
    "max_steps": {"type": int, "help": "Optimizer steps to train (-1: no limit)."},
    "limit_train_batches": {
        "type": count_or_fraction,
        "help": "Batches per training epoch: a fraction (0.25, 1.0 = all) or a count (40, 1).",
    },
    "limit_val_batches": {"type": count_or_fraction, "help": "Batches per validation: a fraction or a count."},
    "limit_test_batches": {"type": count_or_fraction, "help": "Batches to test: a fraction or a count."},
    "limit_predict_batches": {"type": count_or_fraction, "help": "Batches to predict: a fraction or a count."},
    "val_check_interval": {
        "type": count_or_fraction,
        "help": "Validate every fraction of an epoch (0.5) or N batches.",
    },
    "check_val_every_n_epoch": {"type": int, "help": "Validate every N epochs (default 1)."},
    "log_every_n_steps": {"type": int, "help": "Log losses every N steps (default 10)."},
    "accumulate_grad_batches": {"type": int, "help": "Sum gradients over N batches per optimizer step."},
    "gradient_clip_val": {"type": float, "help": "Clip the gradient norm to this value."},
    "deterministic": {"action": "store_true", "default": None, "help": "Use deterministic algorithms."},
    "benchmark": {"action": "store_true", "default": None, "help": "cudnn.benchmark."},
    "profiler": {
        "choices": ["simple", "advanced", "pytorch"],
        "help": "Profile the run with Lightning's profiler; the report (and pytorch's traces) go to RUN/profile/.",
    },
    "num_sanity_val_steps": {"type": int, "help": "Validation batches run before training (default 0)."},
}

# Options that only some actions read (all others apply to every action).
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "input_dir": ("predict",),
    "stream_timeout": ("predict",),
    "backend": ("test", "predict"),
    "model": ("test", "predict"),
    "find_unused_parameters": ("train",),
    "visualize": ("test", "predict"),
    "output_format": ("test", "predict"),
    "checkpoint_period": ("train",),
    "checkpoint_every_n_steps": ("train",),
    "resume": ("train", "predict"),
    "journal_frames": ("predict",),
    "on_nonfinite_loss": ("train",),
    "max_nonfinite_steps": ("train",),
    "pin_memory": ("train",),
    "max_epochs": ("train",),
    "max_steps": ("train",),
    "limit_train_batches": ("train",),
    "limit_val_batches": ("train",),
    "limit_test_batches": ("test",),
    "limit_predict_batches": ("predict",),
    "val_check_interval": ("train",),
    "check_val_every_n_epoch": ("train",),
    "log_every_n_steps": ("train",),
    "accumulate_grad_batches": ("train",),
    "gradient_clip_val": ("train",),
    "num_sanity_val_steps": ("train",),
}


def _takes(action: str, name: str) -> bool:
    return action in ONLY_FOR.get(name, ACTIONS)


class TrainerParser(ArgumentParser):
    """The top-level parser, whose errors name the action's help and the actions that take a misplaced option."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse ``args``; anything wrong is one :class:`UsageError` line."""
        words = list(sys.argv[1:] if args is None else args)
        if words and words[0].startswith("-") and words[0] not in ("-h", "--help") and set(words) & set(ACTIONS):
            raise UsageError(f"the action comes first: {PROG} ACTION [options] (got {words[0]!r} first)")
        parsed, extras = self.parse_known_args(words, namespace)
        action = parsed.action
        for word in extras:
            name = word.split("=", 1)[0].removeprefix("--")
            owners = ONLY_FOR.get(name.replace("-", "_"))
            if word.startswith("--") and owners and action not in owners:
                raise UsageError(f"--{name} only applies to {' and '.join(owners)} (see {PROG} {action} --help)")
        if extras:
            raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see {PROG} {action} --help)")
        return parsed

    def format_help(self) -> str:
        """The actions, then every option of every action, grouped as the spec lists them (``-h``)."""
        text = super().format_help()
        examples = text.find("\nEach action has its own options")
        head, tail = (text[:examples], text[examples:]) if examples >= 0 else (text, "")
        return head.rstrip("\n") + "\n\n" + _all_options_help(self) + tail


def _only(name: str) -> str:
    owners = ONLY_FOR.get(name)
    return f" [{', '.join(owners)}]" if owners else ""


def _all_options_help(parser: argparse.ArgumentParser) -> str:
    """Every option of the three actions in the spec's groups (standard, launch, Lightning), each with its actions.

    Display only: the options are parsed after the action (``ACTION --option``);
    one that only some actions take says which in brackets.
    """
    display = argparse.ArgumentParser(prog=PROG, add_help=False)
    standard = display.add_argument_group("standard options (after the action: ACTION --config FILE ...)")
    standard.add_argument("--config", metavar="FILE", help="Config file (.toml or .yaml).")
    example = "model.optimizer.lr=0.01,model.lr_scheduler.warmup_steps=1000"
    standard.add_argument("--cfg-options", "--cfg_options", metavar="KEY=VALUE,...",
                          help=f"Override config values, e.g. {example}.")  # fmt: skip
    standard.add_argument(
        "--output_format",
        metavar="FORMATS",
        help="Prediction file formats: scalabel,bdd100k,motchallenge,coco" + _only("output_format"),
    )
    standard.add_argument("--debug", action="store_true", help="Show full tracebacks on errors.")
    launch = display.add_argument_group("launch options (override [launch] in the config)")
    for name, kwargs in LAUNCH_OPTIONS.items():
        shown = {k: v for k, v in kwargs.items() if k in ("action", "metavar", "choices")}
        launch.add_argument(f"--{name}", **shown, help=str(kwargs.get("help", "")) + _only(name))
    trainer = display.add_argument_group("Lightning Trainer options (a [trainer] section in the config wins)")
    for name, kwargs in TRAINER_OPTIONS.items():
        shown = {k: v for k, v in kwargs.items() if k in ("action", "choices")}
        if "action" not in shown and "choices" not in shown:
            shown["metavar"] = name.upper()
        trainer.add_argument(f"--{name}", **shown, help=str(kwargs.get("help", "")) + _only(name))
    formatter = parser._get_formatter()
    for group in display._action_groups[2:]:  # the three groups above (not argparse's default two)
        formatter.start_section(group.title)
        formatter.add_arguments(group._group_actions)
        formatter.end_section()
    return formatter.format_help()


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python3 -m vis4d.engine.trainer``: one sub-parser per action."""
    parser = TrainerParser(
        prog=PROG,
        description="Train, test or run vis4d models from one config file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Each action has its own options: {PROG} ACTION -h.\n\nExamples:\n"
        f"  {PROG} train --config configs/experiments/qdtrack/qdtrack_R_18_FPN_synthetic.toml --max_epochs 2\n"
        f"  {PROG} test --config CFG --weights best --version V\n"
        f"  {PROG} predict --config CFG --input_dir frames/ --visualize",
    )
    actions = parser.add_subparsers(
        title="actions", dest="action", metavar="ACTION", required=True, parser_class=ArgumentParser
    )
    for action in ACTIONS:
        _add_action(actions.add_parser(action, help=ACTION_HELP[action], description=ACTION_HELP[action]), action)
    return parser


def action_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-parser of each action of :func:`build_parser`'s parser (for the generated docs and tests)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _add_action(sub: argparse.ArgumentParser, action: str) -> None:
    """The options ``action`` takes; every other option name is set to ``None`` in its namespace."""
    sub.add_argument("--config", required=False, help="Config file (.toml or .yaml).")
    sub.add_argument(
        "--cfg-options",
        "--cfg_options",
        dest="cfg_options",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="Override config values, e.g. model.optimizer.lr=0.01,model.lr_scheduler.warmup_steps=1000.",
    )
    if _takes(action, "output_format"):
        sub.add_argument(
            "--output_format",
            help="Prediction file formats, comma list of scalabel,bdd100k,motchallenge,coco "
            "(default: launch.output_formats).",
        )
    sub.add_argument("--debug", action="store_true", help="Show full tracebacks on errors.")
    absent: dict[str, None] = {"output_format": None} if not _takes(action, "output_format") else {}
    launch = sub.add_argument_group("launch options (override [launch] in the config)")
    for name, kwargs in LAUNCH_OPTIONS.items():
        if _takes(action, name):
            if name == "weights" and action == "train":
                kwargs = {**kwargs, "help": TRAIN_WEIGHTS_HELP}
            launch.add_argument(f"--{name}", dest=name, **kwargs)
        else:
            absent[name] = None
    trainer = sub.add_argument_group("Lightning Trainer options (a [trainer] section in the config wins)")
    for name, kwargs in TRAINER_OPTIONS.items():
        if not _takes(action, name):
            absent[f"trainer__{name}"] = None
            continue
        if "action" not in kwargs and "choices" not in kwargs:
            kwargs = {"metavar": name.upper(), **kwargs}
        trainer.add_argument(f"--{name}", dest=f"trainer__{name}", **kwargs)
    sub.set_defaults(**absent)


def split_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Launch options and trainer options that were given on the command line."""
    launch = {k: getattr(args, k) for k in LAUNCH_OPTIONS if getattr(args, k) is not None}
    trainer = {
        k.removeprefix("trainer__"): v for k, v in vars(args).items() if k.startswith("trainer__") and v is not None
    }
    return launch, trainer
