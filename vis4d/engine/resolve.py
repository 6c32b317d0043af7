"""From the command line and the config file to one resolved run: config, run directory, weights, options.

Everything here checks user input and raises :class:`~vis4d.common.errors.ConfigError`
on a bad one, before any model or data is built, so a typo costs a second,
not a model load.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError
from vis4d.config.schema import Config, LaunchConfig
from vis4d.engine.cli import parse_devices, split_args
from vis4d.engine.workspace import Workspace, resolve_weights, resolve_workspace


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    print(f"warning: {message}", file=sys.stderr)


@dataclasses.dataclass
class Run:
    """One action, fully resolved: what the launcher needs and nothing it must still check."""

    action: str
    config: Config  # with the launch options of the command line merged into config.launch
    workspace: Workspace
    weights: Path | None  # checkpoint to initialise from (or to resume from, with launch.resume)
    trainer_options: dict[str, Any]  # Lightning Trainer keyword arguments

    @property
    def launch(self) -> LaunchConfig:
        """The merged launch options."""
        return self.config.launch

    @property
    def action_dir(self) -> Path:
        """Outputs of test / predict: ``RUN/<action>``."""
        return self.workspace.action_dir(self.action)

    @property
    def input_dir(self) -> str | None:
        """``--input_dir`` of predict (None for the other actions)."""
        return self.launch.input_dir if self.action == "predict" else None


def resolve_trainer_options(cli: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Merge Lightning options: the config's ``[trainer]`` wins over the command line (spec), with a warning."""
    merged = dict(cli)
    for key, value in config.items():
        if key in cli and cli[key] != value:
            warn(f"[trainer] {key} = {value!r} in the config overrides --{key} {cli[key]!r} from the command line")
        merged[key] = value
    return merged


def device_options(options: dict[str, Any]) -> dict[str, Any]:
    """Translate ``--gpus`` into Lightning's accelerator/devices; fall back to the CPU without GPUs."""
    import torch

    options = dict(options)
    gpus = options.pop("gpus", None)
    if "devices" in options and isinstance(options["devices"], str):
        options["devices"] = parse_devices(options["devices"])
    if gpus is not None:
        devices = parse_devices(str(gpus))
        if torch.cuda.is_available():
            options.setdefault("accelerator", "gpu")
            options.setdefault("devices", devices)
        else:
            warn(f"--gpus {gpus}: no CUDA GPU available, running on the CPU")
            options.setdefault("accelerator", "cpu")
    if options.get("strategy") == "dp":
        warn("--strategy dp is strongly discouraged in Lightning; use ddp")
    return options


def _config_path(args: argparse.Namespace, launch_cli: dict[str, Any]) -> Path:
    if args.config:
        return Path(args.config)
    # `train --resume --work_dir W --exp_name E --version V` needs no --config: the run keeps its own.
    if args.action == "train" and launch_cli.get("resume") and launch_cli.get("exp_name"):
        work_dir = launch_cli.get("work_dir", "./vis4d-workspace/")
        ws = resolve_workspace("train", work_dir, launch_cli["exp_name"], launch_cli.get("version"), None, True)
        path = ws.run_dir / "config.yaml"
        if path.is_file():
            return path
        raise ConfigError(f"--resume: no config.yaml in {ws.run_dir}; pass --config")
    raise ConfigError("--config: a config file (.toml or .yaml) is required")


def _merged_config(args: argparse.Namespace, launch_cli: dict[str, Any]) -> Config:
    """The config file with ``--cfg-options``, then the launch options of the command line (which win)."""
    from vis4d.config.load import load_config

    overrides = ",".join(args.cfg_options) if args.cfg_options else None
    config = load_config(_config_path(args, launch_cli), overrides)
    launch = {**config.launch.model_dump(), **launch_cli}
    if args.output_format:
        launch["output_formats"] = [f.strip() for f in args.output_format.split(",") if f.strip()]
    return config.model_copy(update={"launch": LaunchConfig.model_validate(launch)})


def _check_best_metric(launch: LaunchConfig) -> None:
    """The best checkpoint is chosen by a metric the evaluators compute."""
    from vis4d.eval import METRIC_NAMES

    if launch.best_metric not in METRIC_NAMES:
        raise ConfigError(f"launch.best_metric: unknown metric {launch.best_metric!r}; expected one of {METRIC_NAMES}")


def _check_action_options(action: str, launch: LaunchConfig) -> None:
    """Options that do not fit the action."""
    if action != "train" and launch.resume:
        raise ConfigError("--resume only applies to train")
    if launch.input_dir and action != "predict":
        raise ConfigError("--input_dir only applies to predict")
    if action == "predict" and launch.input_dir is not None and not Path(launch.input_dir).exists():
        raise ConfigError(f"--input_dir: not found: {launch.input_dir}")


def resolve_run(args: argparse.Namespace) -> Run:
    """Config, run directory, weights and Lightning options of the command line ``args``."""
    launch_cli, trainer_cli = split_args(args)
    config = _merged_config(args, launch_cli)
    launch = config.launch
    _check_best_metric(launch)
    exp_name = launch.exp_name or config.model_name
    workspace = resolve_workspace(args.action, launch.work_dir, exp_name, launch.version, launch.weights, launch.resume)
    weights = resolve_weights(launch.weights, workspace, args.action, launch.resume)
    if args.action != "train" and launch.weights in (None, "best") and weights is not None and weights.stem == "last":
        warn(f"no best.ckpt in {workspace.checkpoint_dir}; using last.ckpt")
    _check_action_options(args.action, launch)
    options = device_options(resolve_trainer_options(trainer_cli, config.trainer))
    num_workers = max(config.train_handler.num_workers, config.test_handler.num_workers)
    if options.get("strategy") == "ddp_spawn" and num_workers > 0:
        warn("ddp_spawn together with data loader workers is discouraged (slow start, memory); use ddp")
    options.setdefault("num_sanity_val_steps", 0)
    options.setdefault("log_every_n_steps", 10)
    return Run(args.action, config, workspace, weights, options)
