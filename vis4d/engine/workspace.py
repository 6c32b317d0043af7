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

import contextlib
import dataclasses
import datetime
import fcntl
import os
import re
import socket
import sys
import zipfile
from collections.abc import Iterator
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
    if action == "train" and resume and weights == "last":
        return resume_checkpoint(workspace)
    if weights in CHECKPOINT_KEYWORDS:
        path = workspace.checkpoint(weights)
        if weights == "best" and not path.exists() and workspace.checkpoint("last").exists():
            path = workspace.checkpoint("last")
        if not path.exists():
            # A model zoo entry's configs (runs zoo/NAME, zoo_NAME/...) come with weights: name them.
            zoo = Path(__file__).resolve().parents[2] / "zoo"
            names = (workspace.exp_name, workspace.exp_name.removeprefix("zoo_"), workspace.version)
            shipped = [zoo / name / "model.pt" for name in names]
            found = [f for f in shipped if f.is_file()]
            hint = "; train first, or pass --weights PATH"
            if found:
                shown = os.path.relpath(found[0]) if found[0].is_relative_to(Path.cwd()) else str(found[0])
                hint = f"; for the model zoo entry {found[0].parent.name} pass --weights {shown}"
            raise ConfigError(f"--weights {weights}: no checkpoint at {path}{hint}")
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


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from (missing, truncated, corrupt), or None if it reads as a whole."""
    if not path.is_file():
        return "missing"
    try:
        with zipfile.ZipFile(path) as archive:  # torch.save writes a zip archive; a killed write leaves a broken one
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"unreadable ({err})"
    return f"unreadable (damaged member {broken})" if broken else None


def _epoch_number(path: Path) -> int:
    match = re.fullmatch(r"epoch=(\d+)", path.stem)
    return int(match.group(1)) if match else -1


def resume_checkpoint(workspace: Workspace) -> Path:
    """``last.ckpt``, or the newest readable ``epoch=N.ckpt`` when it is missing or unreadable (said in one line)."""
    last = workspace.checkpoint("last")
    problem = checkpoint_problem(last)
    if problem is None:
        return last
    candidates = sorted(workspace.checkpoint_dir.glob("epoch=*.ckpt"), key=_epoch_number, reverse=True)
    for path in candidates:
        if checkpoint_problem(path) is None:
            print(f"warning: --resume: {last} is {problem}; resuming from {path.name}", file=sys.stderr)
            return path
    raise ConfigError(f"--resume: {last} is {problem} and {workspace.checkpoint_dir} holds no readable epoch=N.ckpt")


def check_new_run(workspace: Workspace) -> None:
    """``train`` without ``--resume`` never mixes with an earlier run's config and checkpoints."""
    run_dir = workspace.run_dir
    leftovers = [name for name in ("config.yaml", "checkpoints") if (run_dir / name).exists()]
    if leftovers:
        raise ConfigError(
            f"train: {run_dir} already holds a run ({', '.join(leftovers)}); continue it with --resume, "
            "or give a new --version"
        )


def is_launching_process() -> bool:
    """True in the process that owns the run: not a DDP child rank, not a second node, not a later SLURM task."""
    ranks = ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "RANK", "SLURM_PROCID")
    return all(os.environ.get(name, "0") in ("", "0") for name in ranks)


_LOCKED_HERE: set[Path] = set()  # run directories this process holds (POSIX locks cannot see their own process)


def _in_use(workspace: Workspace, owner: str) -> ConfigError:
    return ConfigError(
        f"{workspace.run_dir} is in use by a live run ({owner}); wait for it to end or give another --version"
    )


@contextlib.contextmanager
def run_lock(workspace: Workspace) -> Iterator[None]:
    """Hold ``RUN/.lock`` while a run lives; a second run into the same directory stops with the first's PID.

    A POSIX record lock (``fcntl.lockf``): the kernel drops it when the
    process dies, even under ``kill -9``, and, unlike ``flock``, data loader
    workers forked from the run do not inherit it, so a killed run's
    lingering workers never block ``--resume``. A stale file blocks nothing.
    """
    workspace.run_dir.mkdir(parents=True, exist_ok=True)
    path = (workspace.run_dir / ".lock").resolve()
    if path in _LOCKED_HERE:
        raise _in_use(workspace, f"PID {os.getpid()} on {socket.gethostname()}")
    with open(path, "a+") as handle:
        try:
            fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EAGAIN / EACCES: another process holds it
            handle.seek(0)
            raise _in_use(workspace, handle.read().strip() or "unknown PID") from None
        _LOCKED_HERE.add(path)
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            _LOCKED_HERE.discard(path)
            fcntl.lockf(handle.fileno(), fcntl.LOCK_UN)


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the temporary files (``.NAME.XXXX.tmp``, videos ``.NAME.XXXX.tmp.mp4``) killed writes left behind."""
    removed = []
    for path in [*run_dir.rglob(".*.tmp"), *run_dir.rglob(".*.tmp.mp4")]:
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
