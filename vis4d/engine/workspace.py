"""The run directory ``work_dir/exp_name/version`` and the checkpoints inside it.

Layout of a run::

    work_dir/exp_name/version/
        config.yaml                    fully resolved config
        checkpoints/last.ckpt          written every epoch
        checkpoints/best.ckpt          best by launch.best_metric
        checkpoints/epoch=N.ckpt       every launch.checkpoint_period epochs
        tensorboard/                   logs (or wandb/)
        test/metrics.json, test/predictions/...
        predict/predictions/..., predict/vis/...
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from vis4d.common.errors import ConfigError

TIMESTAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"
CHECKPOINT_KEYWORDS = ("best", "last")


def timestamp() -> str:
    """The default version name: the current local time."""
    return datetime.datetime.now().strftime(TIMESTAMP_FORMAT)


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Paths of one run."""

    work_dir: Path
    exp_name: str
    version: str

    @property
    def run_dir(self) -> Path:
        """``work_dir/exp_name/version``."""
        return self.work_dir / self.exp_name / self.version

    @property
    def checkpoint_dir(self) -> Path:
        """Where Lightning writes checkpoints."""
        return self.run_dir / "checkpoints"

    def action_dir(self, action: str) -> Path:
        """Outputs of ``test`` or ``predict``."""
        return self.run_dir / action

    def checkpoint(self, which: str) -> Path:
        """``checkpoints/best.ckpt`` or ``checkpoints/last.ckpt``."""
        return self.checkpoint_dir / f"{which}.ckpt"


def latest_version(work_dir: Path, exp_name: str) -> str | None:
    """The newest version directory of an experiment that holds a checkpoint, if any."""
    exp_dir = work_dir / exp_name
    if not exp_dir.is_dir():
        return None
    candidates = [d for d in exp_dir.iterdir() if (d / "checkpoints").is_dir() and any((d / "checkpoints").iterdir())]
    if not candidates:
        return None
    return max(candidates, key=lambda d: (d / "checkpoints").stat().st_mtime).name


def resolve_workspace(
    action: str, work_dir: str, exp_name: str, version: str | None, weights: str | None, resume: bool
) -> Workspace:
    """Pick the run directory for an action.

    ``train`` starts a new timestamped version unless one is given (``--resume``
    without ``--version`` continues the newest). ``test``/``predict`` loading
    ``best``/``last`` from the run directory use the newest version that has
    checkpoints when none is given; with an explicit weights file they start a
    new version.
    """
    root = Path(work_dir).expanduser()
    if version is None:
        uses_run_checkpoint = (action == "train" and resume and weights is None) or (
            action != "train" and (weights is None or weights in CHECKPOINT_KEYWORDS)
        )
        if uses_run_checkpoint:
            version = latest_version(root, exp_name)
            if version is None:
                raise ConfigError(
                    f"--version: no run with checkpoints found under {root / exp_name}; "
                    "pass --version or --weights PATH"
                )
        else:
            version = timestamp()
    return Workspace(root, exp_name, version)


def resolve_weights(weights: str | None, workspace: Workspace, action: str, resume: bool) -> Path | None:
    """Turn ``--weights`` (``best``, ``last``, a path, a URL or weights name, or nothing) into a checkpoint file.

    ``test``/``predict`` default to ``best``; ``train --resume`` defaults to
    ``last``; plain ``train`` loads nothing unless weights are given.
    """
    if weights is None:
        if action == "train" and not resume:
            return None
        weights = "last" if action == "train" else "best"
    if weights in CHECKPOINT_KEYWORDS:
        path = workspace.checkpoint(weights)
        if weights == "best" and not path.exists() and workspace.checkpoint("last").exists():
            path = workspace.checkpoint("last")
        if not path.exists():
            raise ConfigError(f"--weights {weights}: no checkpoint at {path}")
        return path
    if "://" in weights:  # a URL or a weights name: fetched into torch.hub's cache (see vis4d.model.weights)
        from vis4d.model.weights import fetch, resolve_source

        return fetch(resolve_source(weights, "--weights"))
    path = Path(weights).expanduser()
    if path.is_dir():
        raise ConfigError(f"--weights: {weights} is a directory, expected a checkpoint file")
    if not path.is_file():
        raise ConfigError(f"--weights: file not found: {weights}")
    return path
