"""From the command line and the config file to one resolved run: config, run directory, weights, options.

Everything here checks user input and raises :class:`~vis4d.common.errors.ConfigError`
on a bad one, before any model or data is built, so a typo costs a second,
not a model load.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vis4d.common.errors import ConfigError
from vis4d.common.names import plain_name_problem
from vis4d.common.paths import check_output_folder
from vis4d.config.schema import Config, LaunchConfig
from vis4d.data.stream_source import is_stream_source
from vis4d.engine.cli import split_args
from vis4d.engine.trainer_options import check_trainer_options, parse_devices
from vis4d.engine.workspace import WeightsChoice, Workspace, choose_weights, resolve_workspace


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    print(f"warning: {message}", file=sys.stderr)


@dataclasses.dataclass
class Run:
    """One action, fully resolved: what the launcher needs and nothing it must still check."""

    action: str
    config: Config  # with the launch options of the command line merged into config.launch
    workspace: Workspace
    weights: WeightsChoice | None  # whole-model weights to load (or to resume from, with launch.resume)
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


# Files a machine with a CUDA (NVIDIA) or ROCm (AMD, which torch also calls cuda) GPU driver has.
GPU_DRIVER_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia/version", "/dev/kfd")


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; answered without importing torch (seconds) on a machine without a GPU driver.

    The command line checks device options before anything is built; on a
    laptop without a GPU, ``-h`` and a typo must answer at once.
    """
    if "torch" not in sys.modules and not any(os.path.exists(path) for path in GPU_DRIVER_FILES):
        return False
    import torch

    return bool(torch.cuda.is_available())


def cuda_device_count() -> int:
    """Number of CUDA GPUs (0 without a driver, torch not imported)."""
    if not cuda_available():
        return 0
    import torch

    return int(torch.cuda.device_count())


def device_options(options: dict[str, Any]) -> dict[str, Any]:
    """Translate ``--gpus`` into Lightning's accelerator/devices; fall back to the CPU without GPUs."""
    options = dict(options)
    gpus = options.pop("gpus", None)
    if "devices" in options and isinstance(options["devices"], str):
        options["devices"] = parse_devices(options["devices"])
    if gpus is not None:
        devices = parse_devices(str(gpus))
        if cuda_available():
            options.setdefault("accelerator", "gpu")
            options.setdefault("devices", devices)
        else:
            warn(f"--gpus {gpus}: no CUDA GPU available, running on the CPU")
            options.setdefault("accelerator", "cpu")
    if options.get("strategy") == "dp":
        warn("--strategy dp is strongly discouraged in Lightning; use ddp")
    return options


def _mps_available() -> bool:
    """Apple's GPU: only on macOS (torch is imported there to ask)."""
    if sys.platform != "darwin":
        return False
    import torch

    return bool(torch.backends.mps.is_available())


def check_devices(options: dict[str, Any], where: Callable[[str], str]) -> None:
    """Refuse accelerators, devices and precisions this machine does not have, before Lightning is asked.

    ``where(key)`` names the option (``--devices``, or the config file's
    ``trainer.devices``). ``--gpus`` without CUDA is not refused: it falls back
    to the CPU with a warning (:func:`device_options`).
    """
    accelerator = str(options.get("accelerator", "auto"))
    cuda = cuda_available()
    if accelerator in ("gpu", "cuda") and not cuda:
        raise ConfigError(f"{where('accelerator')}: {accelerator!r} needs a CUDA GPU and none is available; "
                          "use cpu or auto")  # fmt: skip
    if accelerator == "mps" and not _mps_available():
        raise ConfigError(f"{where('accelerator')}: 'mps' needs an Apple GPU and none is available; use cpu or auto")
    if accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise ConfigError(f"{where('accelerator')}: 'tpu' needs torch_xla, which is not installed; use cpu or auto")
    precision = str(options.get("precision", ""))
    if precision.startswith("transformer-engine") and importlib.util.find_spec("transformer_engine") is None:
        raise ConfigError(f"{where('precision')}: {precision!r} needs NVIDIA Transformer Engine, which is not "
                          "installed; use 32, 16-mixed or bf16-mixed")  # fmt: skip
    uses_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and cuda)
    for key in ("devices", "gpus"):
        if options.get(key) is None or (key == "gpus" and not cuda):
            continue
        devices = parse_devices(options[key], where(key))
        count = cuda_device_count()
        if isinstance(devices, list) and not (uses_gpu or key == "gpus"):
            reason = "the accelerator is the CPU" if cuda else "this machine has no GPU"
            raise ConfigError(f"{where(key)}: {options[key]!r} lists GPU indices, but {reason}; give a number of "
                              "CPU processes (e.g. 2) or auto")  # fmt: skip
        missing = [i for i in devices if i >= count] if isinstance(devices, list) else []
        if missing:
            raise ConfigError(f"{where(key)}: GPU {missing[0]} does not exist; this machine has {count} GPU(s), "
                              f"indices 0 to {count - 1}")  # fmt: skip
        if isinstance(devices, int) and (uses_gpu or key == "gpus") and devices > count:
            raise ConfigError(f"{where(key)}: {devices} GPUs asked for, this machine has {count}")


def _config_path(args: argparse.Namespace, launch_cli: dict[str, Any]) -> Path:
    for key in ("exp_name", "version"):  # they make a path below, even before the config is read
        problem = plain_name_problem(launch_cli[key]) if key in launch_cli else None
        if problem is not None:
            raise ConfigError(f"--{key}: {problem}")
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
    # `train --resume --weights RUN/checkpoints/X.ckpt` (the spec's): the checkpoint's run keeps its config.
    weights = launch_cli.get("weights")
    if args.action == "train" and launch_cli.get("resume") and weights and "://" not in weights:
        checkpoint = Path(weights).expanduser()
        run_dir = checkpoint.parent.parent
        if checkpoint.parent.name == "checkpoints" and (run_dir / "config.yaml").is_file():
            launch_cli.setdefault("work_dir", str(run_dir.parent.parent))
            launch_cli.setdefault("exp_name", run_dir.parent.name)
            launch_cli.setdefault("version", run_dir.name)
            return run_dir / "config.yaml"
        raise ConfigError(f"--resume --weights {weights}: not a checkpoint of a vis4d run (RUN/checkpoints/*.ckpt "
                          "beside RUN/config.yaml); pass --config")  # fmt: skip
    raise ConfigError("--config: a config file (.toml or .yaml) is required")


def _merged_config(args: argparse.Namespace, launch_cli: dict[str, Any], path: Path) -> Config:
    """The config file with ``--cfg-options``, then the launch options of the command line (which win).

    The command line's values are validated by the same schema as the file's;
    an error names the option (``--checkpoint_period: ...``).
    """
    from vis4d.config.errors import section_error
    from vis4d.config.load import load_config

    overrides = ",".join(args.cfg_options) if args.cfg_options else None
    config = load_config(path, overrides)
    launch = {**config.launch.model_dump(), **launch_cli}
    options = {key: f"--{key}" for key in launch_cli}
    if args.output_format is not None:
        launch["output_formats"] = [f.strip() for f in args.output_format.split(",") if f.strip()]
        options["output_formats"] = "--output_format"
    try:
        validated = LaunchConfig.model_validate(launch)
    except ValidationError as exc:
        raise section_error(exc, "launch", launch, options, str(path)) from None
    return config.model_copy(update={"launch": validated})


def _check_best_metric(launch: LaunchConfig) -> None:
    """The best checkpoint is chosen by a metric the evaluators compute (``launch.metrics`` names real metrics)."""
    from vis4d.eval import DETECTION_METRICS
    from vis4d.eval.track import select_metrics

    chosen = select_metrics(launch.metrics, "launch.metrics")
    names = DETECTION_METRICS + tuple(f for metric in chosen for f in (*metric.ratio_fields, *metric.count_fields))
    if launch.best_metric not in names:
        raise ConfigError(f"launch.best_metric: unknown metric {launch.best_metric!r}; expected one of {names} "
                          "(launch.metrics chooses the tracking metrics)")  # fmt: skip


def _check_action_options(action: str, launch: LaunchConfig) -> None:
    """Options that do not fit the action."""
    if action == "test" and launch.resume:
        raise ConfigError("--resume only applies to train and predict")
    if launch.input_dir and action != "predict":
        raise ConfigError("--input_dir only applies to predict")
    if action == "predict" and is_stream_source(launch.input_dir):
        if launch.visualize:
            raise ConfigError(f"--visualize: the frames of {launch.input_dir} are not kept to draw on; predict "
                              "writes the prediction files (record the stream to a file to draw on it)")  # fmt: skip
        return
    if action == "predict" and launch.input_dir is not None and not Path(launch.input_dir).exists():
        raise ConfigError(f"--input_dir: not found: {launch.input_dir}")
    if action == "predict" and launch.input_dir is not None and Path(launch.input_dir).is_file():
        from vis4d.data.io import VIDEO_SUFFIXES

        if Path(launch.input_dir).suffix.lower() not in VIDEO_SUFFIXES:
            raise ConfigError(f"--input_dir: {launch.input_dir} is a file; expected a folder of images or a video "
                              f"file ({', '.join(VIDEO_SUFFIXES)})")  # fmt: skip


def _check_backend(launch: LaunchConfig, config: Config, weights_option: str, where: str) -> bool:
    """Whether the run uses an exported model (``--backend``); if so, that ``--model`` is one for this config.

    The file is opened and its metadata compared with the config here, so a
    wrong file or config costs a second, not a data set load.
    """
    if launch.backend == "torch":
        if launch.model is not None:
            raise ConfigError("--model: only read with --backend onnxruntime or torchscript; the torch backend "
                              "loads --weights")  # fmt: skip
        return False
    if launch.model is None:
        raise ConfigError(f"--backend {launch.backend}: needs --model FILE, the file vis4d export wrote")
    if launch.weights is not None:
        raise ConfigError(f"{weights_option}: the exported --model carries its weights; drop --weights "
                          f"with --backend {launch.backend}")  # fmt: skip
    from vis4d.model.exported import check_config, open_exported

    _, meta = open_exported(launch.model, launch.backend)
    check_config(meta, config.model.model_dump(mode="json"), config.categories, where)
    return True


def resolve_run(args: argparse.Namespace) -> Run:
    """Config, run directory, weights and Lightning options of the command line ``args``."""
    from vis4d.model.weights.sources import check_checkpoint_file  # torch: imported when needed

    launch_cli, trainer_cli = split_args(args)
    path = _config_path(args, launch_cli)
    config = _merged_config(args, launch_cli, path)
    launch = config.launch
    merged_options = resolve_trainer_options(trainer_cli, config.trainer)

    def where(key: str) -> str:
        return f"{path}: trainer.{key}" if key in config.trainer else f"--{key}"

    check_trainer_options(merged_options, where)
    check_devices(merged_options, where)
    _check_action_options(args.action, launch)
    for key in ("work_dir", "cache_dir"):
        if getattr(launch, key):
            check_output_folder(getattr(launch, key), f"--{key}" if key in launch_cli else f"{path}: launch.{key}")
    exp_name = launch.exp_name or config.model_name
    weights_option = "--weights" if "weights" in launch_cli else f"{path}: launch.weights"
    exported = _check_backend(launch, config, weights_option, f"--config {path}")
    # An exported model is a file of its own: like an explicit weights file, it starts a new version.
    run_weights = launch.model if exported else launch.weights
    model_weights = None if exported else config.model.weights
    workspace = resolve_workspace(
        args.action, launch.work_dir, exp_name, launch.version, run_weights, launch.resume, model_weights
    )
    weights = None
    if not exported:
        weights = choose_weights(args.action, workspace, launch.weights, launch.resume, model_weights, weights_option)
    if weights is not None:
        check_checkpoint_file(weights.path, weights.option if weights.option != "model.weights" else
                              f"{path}: model.weights")  # fmt: skip
    recipe = args.action == "train" and not launch.resume and launch.weights is None
    if recipe and model_weights and "://" not in model_weights and Path(model_weights).expanduser().is_file():
        check_checkpoint_file(Path(model_weights).expanduser(), f"{path}: model.weights")
    if args.action != "train" and launch.weights in (None, "best") and weights is not None:
        if weights.path.stem == "last":
            warn(f"no best.ckpt in {workspace.checkpoint_dir}; using last.ckpt")
    _check_best_metric(launch)  # last of the checks: it reads the metric registry (SciPy, half a second)
    options = device_options(merged_options)
    num_workers = max(config.train_handler.num_workers, config.test_handler.num_workers)
    if options.get("strategy") == "ddp_spawn" and num_workers > 0:
        warn("ddp_spawn together with data loader workers is discouraged (slow start, memory); use ddp")
    options.setdefault("num_sanity_val_steps", 0)
    options.setdefault("log_every_n_steps", 10)
    return Run(args.action, config, workspace, weights, options)
