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


@dataclasses.dataclass(frozen=True)
class WeightsChoice:
    """The whole-model weights a run loads: what was asked for, by which setting, and the file it is.

    ``option`` names the setting that chose them (``--weights``, the config's
    ``launch.weights`` or ``model.weights``, or the run directory when
    test/predict fall back to its best checkpoint); ``strict`` is whether keys
    must match (a recipe's ``model.weights`` loads what matches).
    """

    name: str  # as written: best, last, a path, a URL, a weights name
    option: str
    path: Path  # the local file (downloaded into torch.hub's cache for remote weights)
    url: str | None = None
    strict: bool = True

    def describe(self) -> str:
        """Where the weights come from, for the run's first line: the path, or the URL and its cache file."""
        where = f"{self.url}, cached at {self.path}" if self.url else str(self.path)
        return where if self.name in (str(self.path), self.url) else f"{self.name} = {where}"


def _run_has_checkpoint(workspace: Workspace) -> bool:
    return any(workspace.checkpoint(which).is_file() for which in CHECKPOINT_KEYWORDS)


def resolve_workspace(
    action: str, work_dir: str, exp_name: str, version: str | None, weights: str | None, resume: bool,
    model_weights: str | None = None,
) -> Workspace:  # fmt: skip
    """Pick the run directory for an action.

    ``train`` starts a new timestamped version unless one is given (``--resume``
    without ``--version`` continues the newest). ``test``/``predict`` loading
    ``best``/``last`` use the newest version that has checkpoints when none is
    given; with an explicit weights file, or falling back to the config's
    ``model_weights`` when no run has checkpoints, they start a new version.
    """
    root = Path(work_dir).expanduser()
    if version is None:
        run_checkpoint = (action == "train" and resume and weights is None) or (
            action != "train" and (weights is None or weights in CHECKPOINT_KEYWORDS)
        )
        if run_checkpoint:
            version = latest_version(root, exp_name)
            if version is None and not (weights is None and action != "train" and model_weights):
                hint = "" if action == "train" else ", or set model.weights in the config"
                raise ConfigError(
                    f"--version: no run with checkpoints found under {root / exp_name}; "
                    f"pass --version or --weights PATH{hint}"
                )
        version = version or timestamp()
    return Workspace(root, exp_name, version)


def choose_weights(
    action: str, workspace: Workspace, weights: str | None, resume: bool, model_weights: str | None, option: str
) -> WeightsChoice | None:
    """The whole-model weights of an action (None: none to load; train then starts from the config's recipe).

    * ``weights`` (``--weights`` or ``launch.weights``, named by ``option``)
      is the only file read when given; ``none`` loads nothing.
    * ``test``/``predict`` without it: the run's ``best`` (``last`` when there
      is no best) when the run has checkpoints; otherwise the config's
      ``model_weights``; otherwise the error of :func:`resolve_weights`.
    * ``train --resume``: ``last`` of the run (or ``weights``); plain ``train``:
      ``weights`` if given.
    """
    if weights == "none":
        return None
    if weights is None and action != "train" and model_weights and not _run_has_checkpoint(workspace):
        return weights_file(model_weights, "model.weights", strict=False)
    path = resolve_weights(weights, workspace, action, resume)
    if path is None:
        return None
    if weights is None or weights in CHECKPOINT_KEYWORDS:
        chosen = weights or ("last" if action == "train" else "best")
        label = option if weights is not None else f"the run's {chosen} checkpoint (no --weights)"
        return WeightsChoice(chosen, label, path)
    return weights_file(weights, option, path=path)


def weights_file(name: str, option: str, strict: bool = True, path: Path | None = None) -> WeightsChoice:
    """A weights path, URL or name as a :class:`WeightsChoice`, fetching remote weights into the cache."""
    from vis4d.model.weights.sources import resolve_source

    source = resolve_source(name, option)
    if path is None:
        from vis4d.model.weights.download import fetch

        path = fetch(source)
    return WeightsChoice(name, option, path, source.url, strict)


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
        from vis4d.model.weights.download import fetch
        from vis4d.model.weights.sources import resolve_source

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
    never_saved = problem == "missing" and not candidates
    hint = " (the run ended before its first checkpoint: start it again without --resume)" if never_saved else ""
    raise ConfigError(f"--resume: {last} is {problem} and {workspace.checkpoint_dir} holds no readable epoch=N.ckpt"
                      + hint)  # fmt: skip


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
