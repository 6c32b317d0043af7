"""``python -m vis4d.engine.trainer train|test|predict --config FILE [options]``.

Four steps, one function each: resolve the run (config file + ``--cfg-options``
+ launch options, run directory, weights; :mod:`vis4d.engine.resolve`), build
the callbacks, build the logger, and launch a Lightning ``Trainer`` on the
model and data. Bad input ends with one line on stderr and exit code 2
(``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings
import zlib
from typing import Any

from vis4d.common.errors import ConfigError, Vis4DError
from vis4d.engine.cli import build_parser
from vis4d.engine.resolve import Run, resolve_run

log = logging.getLogger("vis4d")
STAGES = {"train": "fit", "test": "test", "predict": "predict"}  # Lightning's stage of each action


def build_callbacks(run: Run, datamodule: Any) -> list[Any]:
    """Progress, and per action: checkpoints and validation (train); evaluator, writers, pictures (test/predict)."""
    from vis4d.engine.callbacks import (
        Evaluator,
        LogProgress,
        NonFiniteGuard,
        PredictionFileWriter,
        RandomStateCheckpoint,
        StopOnSignal,
        StopStreamOnSignal,
        Visualizer,
    )
    from vis4d.eval.conventions import dataset_conventions

    launch, options = run.launch, run.trainer_options
    callbacks: list[Any] = []
    if launch.tqdm:
        from lightning.pytorch.callbacks import TQDMProgressBar

        callbacks.append(TQDMProgressBar())
    else:
        callbacks.append(LogProgress(refresh=int(options["log_every_n_steps"])))
    # Evaluation conventions of the test sets (train validates on them, test scores them; predict has no labels).
    conventions = [dataset_conventions(section) for section in run.config.test] if run.action != "predict" else []
    if run.action == "train":
        callbacks.append(RandomStateCheckpoint())
        callbacks.append(StopOnSignal(run.workspace.checkpoint("last")))
        callbacks.append(NonFiniteGuard(launch.on_nonfinite_loss, run.workspace.checkpoint_dir,
                                        launch.max_nonfinite_steps))  # fmt: skip
        callbacks.append(_checkpoint_callback(run, "epoch={epoch}"))
        if launch.checkpoint_every_n_steps:
            callbacks.append(_checkpoint_callback(run, "last"))
        if run.config.test and options.get("limit_val_batches", 1) != 0:
            callbacks.append(Evaluator(datamodule.test_stores(), conventions=conventions, metrics=launch.metrics))
            callbacks.append(_checkpoint_callback(run, "best"))
        return callbacks
    stores = datamodule.test_stores()
    if not stores:
        raise ConfigError(f"{run.action}: the config lists no test dataset (and no --input_dir was given)")
    writer = PredictionFileWriter(
        run.action_dir,
        datamodule.dataset_names(),
        run.config.categories,
        launch.output_formats,
        per_video=launch.per_video_predictions,
        zip_submission=launch.zip_submission,
        category_ids=[store.category_ids.tolist() for _, store in stores],
    )
    if run.action == "predict" and not datamodule.streams:  # before the writer: it replays a resumed run's part
        from vis4d.engine.callbacks.journal import PredictionJournal

        stored = [store for _, store in stores]
        callbacks.append(
            PredictionJournal(
                run.action_dir / "progress", writer, stored, launch.journal_frames, whole_videos=launch.visualize
            )
        )
    callbacks.append(writer)
    if launch.visualize:
        callbacks.append(Visualizer(run.action_dir / "vis", run.config.categories, stores))
    if datamodule.streams:  # Ctrl-C ends a live stream like its own end: the files above close complete
        callbacks.append(StopStreamOnSignal(datamodule.stop_stream))
    if run.action == "test":  # last: metrics.json is written after the prediction files, so it means "finished"
        callbacks.append(Evaluator(stores, output_dir=run.action_dir, conventions=conventions, metrics=launch.metrics))
    return callbacks


def _checkpoint_callback(run: Run, name: str) -> Any:
    """One of the checkpoint writers.

    ``epoch={epoch}``: ``epoch=N.ckpt`` every ``checkpoint_period`` epochs plus ``last.ckpt`` (a hard link to it);
    ``best``: ``best.ckpt`` by the best metric; ``last``: ``last.ckpt`` alone every ``checkpoint_every_n_steps`` steps
    (a killed run loses at most that many).
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    launch = run.launch
    common: dict[str, Any] = {
        "dirpath": run.workspace.checkpoint_dir,
        "filename": name,
        "auto_insert_metric_name": False,
        "enable_version_counter": False,
    }
    if name == "best":
        return ModelCheckpoint(monitor=f"val/{launch.best_metric}", mode=launch.best_mode, save_top_k=1, **common)
    if name == "last":
        return ModelCheckpoint(
            every_n_train_steps=launch.checkpoint_every_n_steps, save_top_k=0, save_last=True, **common
        )
    from vis4d.engine.callbacks.checkpoint import EpochCheckpoint

    return EpochCheckpoint(every_n_epochs=launch.checkpoint_period, save_top_k=-1, **common)


def build_logger(run: Run) -> Any:
    """TensorBoard under ``RUN/tensorboard/<action>`` (default), or Weights & Biases with ``--wandb``."""
    if run.launch.wandb:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise ConfigError("--wandb: Weights & Biases is not installed; pip install 'vis4d[wandb]'")
        from lightning.pytorch.loggers import WandbLogger

        offline = not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "online"
        name = f"{run.workspace.exp_name}/{run.workspace.version}"
        return WandbLogger(save_dir=str(run.workspace.run_dir), name=name, offline=offline)
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=str(run.workspace.run_dir), name="tensorboard", version=run.action)


def _quiet_lightning() -> None:
    """Lightning's hints that do not apply to vis4d's loaders and batches."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)  # "terminating process": vis4d says why
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*exists and is not empty.*")  # resuming: train refuses other reuse
    warnings.filterwarnings("ignore", ".*The number of training batches.*")
    warnings.filterwarnings("ignore", ".*overridden `transfer_batch_to_device`.*")
    warnings.filterwarnings("ignore", ".*isinstance\\(treespec, LeafSpec\\).*")


def build_run_model(run: Run) -> Any:
    """The run's model: built from the config with its weights, or the exported ``--model`` (``--backend``).

    One source of whole-model weights is read (:func:`vis4d.engine.workspace.choose_weights`);
    only training without ``--weights`` starts from the config's recipe
    (backbone weights, then ``model.weights``); a resumed run gets its
    weights from the checkpoint Lightning restores.
    """
    from vis4d.model.build import build_model
    from vis4d.model.weights import load_recipe_weights, load_weights

    config, launch_options = run.config, run.launch
    if launch_options.backend != "torch" and launch_options.model is not None:
        from vis4d.model.exported import load_exported

        return load_exported(launch_options.model, launch_options.backend, config.model, config.categories, "--config")
    model = build_model(config.model, len(config.categories))
    if run.action == "train" and launch_options.resume:
        return model
    if run.weights is not None:
        choice = run.weights
        strict = launch_options.strict and choice.strict
        load_weights(model, str(choice.path), config.categories, strict, choice.option, config, choice.describe())
    elif run.action == "train" and launch_options.weights is None:
        load_recipe_weights(model, config)
    else:
        print(f"weights: none (--weights {launch_options.weights}): the model keeps its random initialisation")
    return model


def launch(run: Run) -> int:
    """Build model, data, callbacks and logger, and run the action with a Lightning ``Trainer``."""
    from pathlib import Path

    import lightning.pytorch as pl
    import torch

    from vis4d.engine.callbacks import AtomicCheckpointIO
    from vis4d.engine.datamodule import Vis4DDataModule
    from vis4d.engine.module import Vis4DModule
    from vis4d.engine.profiling import build_profiler, clear_profile, report_profile
    from vis4d.engine.recipe import TrainingRecipe

    config, launch_options = run.config, run.launch
    _quiet_lightning()
    if launch_options.seed is not None:
        pl.seed_everything(launch_options.seed, workers=True, verbose=False)
    model = build_run_model(run)
    model.set_input_normalization(config.test_handler.mean, config.test_handler.std, config.test_handler.channel_order)
    work_dir = Path(launch_options.work_dir)
    cache_dir = Path(launch_options.cache_dir) if launch_options.cache_dir else work_dir / ".cache" / "datasets"
    # An unseeded run still gets one fixed data order per run directory, so --resume continues it.
    data_seed = (
        launch_options.seed if launch_options.seed is not None else zlib.crc32(str(run.workspace.run_dir).encode())
    )
    # The EMA, last epochs and multi-scale batches belong to training; test and predict read the EMA from the file.
    recipe = TrainingRecipe.from_config(config, data_seed) if run.action == "train" else None
    module = Vis4DModule(model, config.model.optimizer, config.model.lr_scheduler, config.categories, recipe)
    datamodule = Vis4DDataModule(
        config,
        cache_dir,
        input_dir=run.input_dir,
        pin_memory=launch_options.pin_memory,
        data_seed=data_seed,
        action=run.action,
        stream_timeout=launch_options.stream_timeout,
    )

    options = dict(run.trainer_options)
    if options.get("strategy") == "ddp" and launch_options.find_unused_parameters:
        from lightning.pytorch.strategies import DDPStrategy

        options["strategy"] = DDPStrategy(find_unused_parameters=True)
    profile_dir, stage = run.workspace.run_dir / "profile", STAGES[run.action]
    profiler = build_profiler(options.pop("profiler", None), profile_dir)
    if run.action != "train":
        options.setdefault("enable_checkpointing", False)  # Lightning's default checkpoint callback has no use here
    trainer = pl.Trainer(
        default_root_dir=str(run.workspace.run_dir),
        callbacks=build_callbacks(run, datamodule),
        logger=build_logger(run),
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,
        enable_model_summary=False,
        profiler=profiler,
        **options,
    )
    set_ddp_timeout(trainer, launch_options.ddp_timeout)
    if profiler is not None and trainer.is_global_zero:
        clear_profile(profile_dir, stage)
    # Lightning's own precision notice is silenced with its other info lines; a non-default one is worth a word.
    precision = "" if trainer.precision == "32-true" else f" (precision {trainer.precision})"
    print(f"vis4d {run.action}: run directory {run.workspace.run_dir}{precision}")
    _run_action(run, trainer, module, datamodule)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    if profiler is not None and trainer.is_global_zero:
        report_profile(profiler, profile_dir, stage)
    return 0


def _stream_ended(trainer: Any, datamodule: Any) -> None:
    """After predicting from a live source: say why it ended; a signal ends the run with 128 + its number."""
    from vis4d.common.errors import StreamStopped
    from vis4d.engine.callbacks import StopStreamOnSignal

    if datamodule.stream is None:
        return
    stopper = next((c for c in trainer.callbacks if isinstance(c, StopStreamOnSignal)), None)
    if stopper is not None and stopper.received is not None:
        raise StreamStopped(stopper.received, datamodule.stream.end or "stopped")
    print(datamodule.stream.end or f"{datamodule.stream.name}: {datamodule.stream.frames} frames")


def _run_action(run: Run, trainer: Any, module: Any, datamodule: Any) -> None:
    """Train, test or predict; a fault (a loss that is not finite, a dead loader worker or DDP process) is one line.

    Under ``ddp_fork``/``ddp_spawn`` an error raised in a process reaches this
    one as torch's ``ProcessRaisedException``; vis4d's own errors are taken
    out of it, so they end the run as they would on one process.
    """
    from vis4d.engine.faults import as_fault, child_error, watch_ddp_children

    watch_ddp_children(trainer, run.workspace.checkpoint_dir, run.action)
    try:
        if run.action == "train":
            _fit(run, trainer, module, datamodule)
        elif run.action == "test":
            trainer.test(module, datamodule=datamodule, verbose=False)
        else:
            from vis4d.engine.predict_resume import predict

            predict(run, trainer, module, datamodule)
            _stream_ended(trainer, datamodule)
    except Exception as err:
        error = child_error(err)
        distributed = trainer.world_size > 1
        fault = as_fault(error, run.workspace.checkpoint_dir, run.action, run.launch.ddp_timeout, distributed)
        if fault is not None:
            raise fault from err
        if error is not err:
            raise error from err
        raise


def set_ddp_timeout(trainer: Any, seconds: float) -> None:
    """How long a DDP process waits in a collective (``launch.ddp_timeout``), whichever way DDP was chosen.

    Lightning's ``DDPStrategy`` passes its timeout to ``init_process_group``
    when the processes start; it is set here on the strategy the trainer
    chose (``--strategy ddp``, ``ddp_fork``, or Lightning's own choice for
    several devices), before they start. Gloo and NCCL (with its watchdog,
    torch's default) then end a collective that waits longer with an error.
    """
    import datetime

    from lightning.pytorch.strategies import DDPStrategy

    if isinstance(trainer.strategy, DDPStrategy):
        trainer.strategy._timeout = datetime.timedelta(seconds=seconds)


def _fit(run: Run, trainer: Any, module: Any, datamodule: Any) -> None:
    """Save the resolved config beside the checkpoints, then train (resuming from the weights with --resume)."""
    from vis4d.config.load import dump_config

    if trainer.is_global_zero:
        dump_config(run.config, run.workspace.run_dir / "config.yaml")
    ckpt_path = str(run.weights.path) if run.launch.resume and run.weights is not None else None
    if ckpt_path:
        print(f"resuming from {ckpt_path}")
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    print(f"checkpoints: {run.workspace.checkpoint_dir}")


def run(args: argparse.Namespace) -> int:
    """Execute one action; raises :class:`Vis4DError` on bad input.

    The launching process holds the run directory's lock for the whole run;
    under it, ``train`` refuses a directory that already holds a run (unless
    resuming) and leftovers of killed writes are removed.
    """
    from vis4d.engine.workspace import check_new_run, is_launching_process, remove_stale_temporaries, run_lock

    resolved = resolve_run(args)
    if not is_launching_process():  # DDP child ranks, other nodes: the launching process owns the directory
        return launch(resolved)
    with run_lock(resolved.workspace):
        if resolved.action == "train" and not resolved.launch.resume:
            check_new_run(resolved.workspace)
        for path in remove_stale_temporaries(resolved.workspace.run_dir):
            log.info(f"removed {path} (left by a write that was killed)")
        return launch(resolved)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    Bad input, wherever it is found (the command line, the config, a data
    file met by a data loader worker, an option Lightning refuses), is one
    line ``error: ...`` on stderr and exit code 2; ``--debug`` adds the
    traceback.
    """
    from vis4d.common.errors import RunFault, RunInterrupted, StreamStopped, is_user_error, one_line
    from vis4d.engine.faults import report
    from vis4d.engine.workspace import is_launching_process

    args_list = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args_list
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(build_parser().parse_args(args_list))
    except (RunInterrupted, StreamStopped) as stopped:  # a signal: last.ckpt saved, or a stream's files complete
        print(stopped, file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RunFault as fault:  # not the input's fault: a loss that is not finite, a dead worker or DDP process
        if debug:
            traceback.print_exc()
        if is_launching_process() or not fault.all_ranks:  # a fault all processes agreed on: said once
            report(fault)
        return fault.exit_code
    except Exception as err:
        if not isinstance(err, Vis4DError) and not is_user_error(err):  # a bug: its traceback is the report
            raise
        if debug:
            traceback.print_exc()
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from vis4d.common.process import exit_now

    exit_now(main())
