"""``python -m vis4d.engine.trainer train|test|predict --config FILE [options]``.

Resolves the config (file + ``--cfg-options`` + launch options), the run
directory and the weights, then hands model, data and callbacks to a
Lightning ``Trainer``. Bad input ends with one line on stderr and exit code 2
(``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, Vis4DError
from vis4d.engine.cli import build_parser, parse_devices, split_args

log = logging.getLogger("vis4d")

# Metric names a best checkpoint can be chosen by (keys of metrics.json det / track.mean).
DET_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")
TRACK_METRICS = ("MOTA", "MOTP", "IDF1", "IDP", "IDR", "HOTA", "DetA", "AssA", "LocA", "IDSW", "FP", "FN")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def resolve_trainer_options(cli: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Merge Lightning options: the config's ``[trainer]`` wins over the command line (spec), with a warning."""
    merged = dict(cli)
    for key, value in config.items():
        if key in cli and cli[key] != value:
            _warn(f"[trainer] {key} = {value!r} in the config overrides --{key} {cli[key]!r} from the command line")
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
            _warn(f"--gpus {gpus}: no CUDA GPU available, running on the CPU")
            options.setdefault("accelerator", "cpu")
    strategy = options.get("strategy")
    if strategy == "dp":
        _warn("--strategy dp is strongly discouraged in Lightning; use ddp")
    return options


def _check_spawn_workers(options: dict[str, Any], num_workers: int) -> None:
    if options.get("strategy") == "ddp_spawn" and num_workers > 0:
        _warn("ddp_spawn together with data loader workers is discouraged (slow start, memory); use ddp")


def load_model_weights(model: Any, path: Path, strict: bool) -> None:
    """Load a vis4d/Lightning checkpoint or a plain state dict into ``model``; list mismatches."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        raise ConfigError(f"--weights: cannot read checkpoint {path}: {err}") from err
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"--weights: {path} holds no state dict")
    state = {k.removeprefix("model."): v for k, v in state.items()}
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape))
    if strict and (missing or unexpected or mismatched):
        parts = [
            f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched))
            if keys
        ]
        raise ConfigError(f"--weights {path}: keys do not match the model ({'; '.join(parts)}); use --no-strict")
    for key in mismatched:
        state.pop(key)
    model.load_state_dict(state, strict=False)
    if missing or unexpected or mismatched:
        _warn(
            f"loaded {path} non-strictly: {len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(mismatched)} shape-mismatched keys (first: {(missing + unexpected + mismatched)[:3]})"
        )
    print(f"loaded weights: {path}")


def _tracking_options(config: Any, input_dir: str | None = None) -> list[dict[str, Any]]:
    """Per test dataset, the benchmark's conventions for tracking evaluation.

    MOTChallenge drops predictions matched to ignore regions (its devkit's rule);
    BDD100K drops those mostly inside them and also reports super-category averages.
    """
    if input_dir is not None:
        return [{}]
    from vis4d.data.datasets.bdd100k import tracking_super_categories
    from vis4d.data.mapping import load_label_config

    options: list[dict[str, Any]] = []
    for cfg in config.test:
        option: dict[str, Any] = {"ignore_rule": "mot" if cfg.type == "motchallenge" else "bdd100k"}
        label_config = getattr(cfg, "label_config", None)
        groups = tracking_super_categories(
            load_label_config(label_config) if label_config else None, cfg.type == "bdd100k"
        )
        if groups is not None:
            option["super_categories"] = groups
        options.append(option)
    return options


def _config_path(args: argparse.Namespace, launch_cli: dict[str, Any]) -> Path:
    if args.config:
        return Path(args.config)
    # `train --resume --work_dir W --exp_name E --version V` needs no --config: the run keeps its own.
    if args.action == "train" and launch_cli.get("resume") and launch_cli.get("exp_name"):
        from vis4d.engine.workspace import resolve_workspace

        ws = resolve_workspace(
            "train",
            launch_cli.get("work_dir", "./vis4d-workspace/"),
            launch_cli["exp_name"],
            launch_cli.get("version"),
            None,
            True,
        )
        path = ws.run_dir / "config.yaml"
        if path.is_file():
            return path
        raise ConfigError(f"--resume: no config.yaml in {ws.run_dir}; pass --config")
    raise ConfigError("--config: a config file (.toml or .yaml) is required")


def run(args: argparse.Namespace) -> int:
    """Execute one action; raises :class:`Vis4DError` on bad input."""
    launch_cli, trainer_cli = split_args(args)
    config_path = _config_path(args, launch_cli)

    from vis4d.config.load import dump_config, load_config
    from vis4d.config.schema import LaunchConfig

    overrides = ",".join(args.cfg_options) if args.cfg_options else None
    config = load_config(config_path, overrides)
    launch = LaunchConfig.model_validate({**config.launch.model_dump(), **launch_cli})
    if args.output_format:
        launch = LaunchConfig.model_validate(
            {**launch.model_dump(), "output_formats": [f.strip() for f in args.output_format.split(",") if f.strip()]}
        )
    config = config.model_copy(update={"launch": launch})
    if launch.best_metric not in DET_METRICS + TRACK_METRICS:
        raise ConfigError(
            f"launch.best_metric: unknown metric {launch.best_metric!r}; expected one of {DET_METRICS + TRACK_METRICS}"
        )

    from vis4d.engine.workspace import resolve_weights, resolve_workspace

    exp_name = launch.exp_name or config.model_name
    workspace = resolve_workspace(args.action, launch.work_dir, exp_name, launch.version, launch.weights, launch.resume)
    weights = resolve_weights(launch.weights, workspace, args.action, launch.resume)
    if args.action != "train" and launch.weights in (None, "best") and weights is not None and weights.stem == "last":
        _warn(f"no best.ckpt in {workspace.checkpoint_dir}; using last.ckpt")
    if args.action != "train" and launch.resume:
        raise ConfigError("--resume only applies to train")

    import lightning.pytorch as pl
    import torch

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*The number of training batches.*")
    warnings.filterwarnings("ignore", ".*overridden `transfer_batch_to_device`.*")
    warnings.filterwarnings("ignore", ".*isinstance\\(treespec, LeafSpec\\).*")
    if launch.seed is not None:
        pl.seed_everything(launch.seed, workers=True, verbose=False)

    from vis4d.engine.callbacks import AtomicCheckpointIO, Evaluator, LogProgress, PredictionFileWriter, Visualizer
    from vis4d.engine.datamodule import Vis4DDataModule
    from vis4d.engine.module import Vis4DModule
    from vis4d.model.base import build_model

    model = build_model(config.model, len(config.categories))
    if weights is not None and not (args.action == "train" and launch.resume):
        load_model_weights(model, weights, launch.strict)
    module = Vis4DModule(model, config.model.optimizer, config.model.lr_scheduler)

    cache_dir = Path(launch.cache_dir) if launch.cache_dir else Path(launch.work_dir) / ".cache" / "datasets"
    input_dir = launch.input_dir if args.action == "predict" else None
    if launch.input_dir and args.action != "predict":
        raise ConfigError("--input_dir only applies to predict")
    if input_dir is not None and not Path(input_dir).exists():
        raise ConfigError(f"--input_dir: not found: {input_dir}")
    datamodule = Vis4DDataModule(config, cache_dir, input_dir=input_dir, pin_memory=launch.pin_memory)

    options = device_options(resolve_trainer_options(trainer_cli, config.trainer))
    _check_spawn_workers(options, max(config.train_handler.num_workers, config.test_handler.num_workers))
    if options.get("strategy") == "ddp" and launch.find_unused_parameters:
        from lightning.pytorch.strategies import DDPStrategy

        options["strategy"] = DDPStrategy(find_unused_parameters=True)
    options.setdefault("num_sanity_val_steps", 0)
    options.setdefault("log_every_n_steps", 10)

    run_dir = workspace.run_dir
    callbacks: list[pl.Callback] = []
    if launch.tqdm:
        from lightning.pytorch.callbacks import TQDMProgressBar

        callbacks.append(TQDMProgressBar())
    else:
        callbacks.append(LogProgress(refresh=int(options["log_every_n_steps"])))

    action_dir = workspace.action_dir(args.action)
    if args.action == "train":
        from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

        callbacks.append(
            ModelCheckpoint(
                dirpath=workspace.checkpoint_dir,
                filename="epoch={epoch}",
                auto_insert_metric_name=False,
                every_n_epochs=launch.checkpoint_period,
                save_top_k=-1,
                save_last=True,
                enable_version_counter=False,
            )
        )
        if config.test and options.get("limit_val_batches", 1) != 0:
            callbacks.append(Evaluator(datamodule.test_stores(), tracking_options=_tracking_options(config)))
            callbacks.append(
                ModelCheckpoint(
                    dirpath=workspace.checkpoint_dir,
                    filename="best",
                    monitor=f"val/{launch.best_metric}",
                    mode=launch.best_mode,
                    save_top_k=1,
                    auto_insert_metric_name=False,
                    enable_version_counter=False,
                )
            )
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    else:
        stores = datamodule.test_stores()
        if not stores:
            raise ConfigError(f"{args.action}: the config lists no test dataset (and no --input_dir was given)")
        if args.action == "test":
            callbacks.append(
                Evaluator(stores, output_dir=action_dir, tracking_options=_tracking_options(config, input_dir))
            )
        callbacks.append(
            PredictionFileWriter(
                action_dir,
                datamodule.dataset_names(),
                config.categories,
                launch.output_formats,
                per_video=launch.per_video_predictions,
                zip_submission=launch.zip_submission,
                category_ids=[store.category_ids.tolist() for _, store in stores],
            )
        )
        if launch.visualize:
            callbacks.append(Visualizer(action_dir / "vis", config.categories, stores))

    logger: Any
    if launch.wandb:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise ConfigError("--wandb: Weights & Biases is not installed; pip install 'vis4d[wandb]'")
        from lightning.pytorch.loggers import WandbLogger

        offline = not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "online"
        logger = WandbLogger(save_dir=str(run_dir), name=f"{exp_name}/{workspace.version}", offline=offline)
    else:
        from lightning.pytorch.loggers import TensorBoardLogger

        logger = TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=args.action)

    trainer = pl.Trainer(
        default_root_dir=str(run_dir),
        callbacks=callbacks,
        logger=logger,
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,
        enable_model_summary=False,
        **options,
    )
    print(f"vis4d {args.action}: run directory {run_dir}")
    if args.action == "train":
        if trainer.is_global_zero:
            dump_config(config, run_dir / "config.yaml")
        ckpt_path = str(weights) if launch.resume and weights is not None else None
        if ckpt_path:
            print(f"resuming from {ckpt_path}")
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        print(f"checkpoints: {workspace.checkpoint_dir}")
    elif args.action == "test":
        trainer.test(module, datamodule=datamodule, verbose=False)
    else:
        trainer.predict(module, datamodule=datamodule, return_predictions=False)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(args)
    except Vis4DError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
