"""``predict`` whose progress survives a kill: ``predict --resume`` continues after the last finished video.

Every prediction run journals what it finished in ``RUN/predict/progress/``
(:class:`~vis4d.engine.callbacks.journal.PredictionJournal`: one file per
finished video, or per chunk of frames for a detector) beside
``settings.json``, what the prediction files depend on: categories, model,
data and handler sections, the input folder, the weights file (path, size,
modification time), the output formats and options. ``predict --resume`` into
the same run directory (``--exp_name``/``--version``) checks those are
unchanged, leaves the finished frames out of the data loaders, hands their
journaled outputs to the writers in order, and predicts the rest: the final
files equal an uninterrupted run's. When the run completes, the journal's
frame files are removed and ``settings.json`` says ``finished``; a plain
``predict`` into the same directory starts over.

What a killed run leaves is valid: every prediction file, picture and video
is written atomically (complete or absent; a per-video file appears when its
video ends, a dataset-level file when the run ends), and so is every journal
file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError
from vis4d.common.io import atomic_write_json
from vis4d.engine.resolve import Run, warn

SETTINGS = "settings.json"


def run_settings(run: Run) -> dict[str, Any]:
    """What the prediction files of ``run`` depend on; a resumed run must have the same."""
    config, launch = run.config, run.launch
    source = Path(launch.model) if launch.backend != "torch" and launch.model else None
    if source is None and run.weights is not None:
        source = run.weights.path
    weights = None
    if source is not None and source.is_file():
        status = source.stat()
        weights = {"file": str(source.resolve()), "size": status.st_size, "mtime_ns": status.st_mtime_ns}
    data: Any = [section.model_dump(mode="json") for section in config.test]
    if run.input_dir is not None:
        data = {"input_dir": str(Path(run.input_dir).resolve())}
    outputs = ("output_formats", "per_video_predictions", "zip_submission", "visualize", "backend")
    return {
        "categories": list(config.categories),
        "model": config.model.model_dump(mode="json"),
        "data": data,
        "test_handler": config.test_handler.model_dump(mode="json"),
        "weights": weights,
        "outputs": {name: getattr(launch, name) for name in outputs},
    }


def _earlier_settings(path: Path) -> dict[str, Any] | None:
    """What an earlier run into this folder wrote (None: no run, or killed before it wrote anything)."""
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) and isinstance(recorded.get("settings"), dict) else None


def _check_same(earlier: dict[str, Any], settings: dict[str, Any], folder: Path) -> None:
    differ = [key for key in settings if earlier.get(key) != settings[key]]
    if differ:
        raise ConfigError(
            f"--resume: {folder.parent} was predicted with other {', '.join(differ)} than this run's; run predict "
            "without --resume to start over (or give another --version)"
        )


def predict(run: Run, trainer: Any, module: Any, datamodule: Any) -> None:
    """Run ``predict``; with ``--resume``, continue the interrupted run of the same run directory."""
    from vis4d.engine.callbacks.journal import PredictionJournal
    from vis4d.engine.workspace import is_launching_process

    journal = next((cb for cb in trainer.callbacks if isinstance(cb, PredictionJournal)), None)
    if journal is None:  # a live source: nothing known in advance to journal against
        if run.launch.resume:
            raise ConfigError(f"--resume: {run.input_dir} is a live source (a camera or stream URL); it cannot resume")
        trainer.predict(module, datamodule=datamodule, return_predictions=False)
        return
    settings, settings_path = run_settings(run), journal.folder / SETTINGS
    total = sum(store.num_frames for _, store in datamodule.test_stores())
    if is_launching_process():
        earlier = _earlier_settings(settings_path) if run.launch.resume else None
        if earlier is not None:
            _check_same(earlier["settings"], settings, journal.folder)
            if earlier.get("finished"):
                print(f"predict --resume: {run.action_dir} is complete already; nothing to do")
                return
            if trainer.world_size > 1:
                raise ConfigError("--resume: an interrupted prediction run continues on one process; drop "
                                  "--devices/--strategy (or start over without --resume)")  # fmt: skip
            journal.load()
            print(f"predict --resume: {journal.journaled_frames} of {total} frames were finished "
                  f"({journal.folder}); predicting the rest")  # fmt: skip
        else:
            if run.launch.resume:
                warn(f"predict --resume: {run.action_dir} holds no interrupted prediction run; predicting everything")
            journal.clear()
            atomic_write_json(settings_path, {"settings": settings, "finished": False})
    datamodule.skip_rows = journal.done_rows()
    if journal.journaled_frames and journal.journaled_frames >= total:  # killed while closing its files
        writer = journal.writer
        writer.on_predict_epoch_start(trainer, module)
        journal.replay(None)
        writer.on_predict_epoch_end(trainer, module)
    else:
        trainer.predict(module, datamodule=datamodule, return_predictions=False)
    if is_launching_process():
        atomic_write_json(settings_path, {"settings": settings, "finished": True})
        for path in journal.folder.glob("*/*.npz"):
            path.unlink(missing_ok=True)
        for folder in journal.folder.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
