"""Faults of a run that are not its input's, each turned into one line that says what to do.

* :class:`NonFiniteLoss`: a loss, a gradient or the weights are nan or inf
  (raised by :class:`~vis4d.engine.callbacks.nonfinite.NonFiniteGuard`).
* A data loader worker that died (killed by the kernel for memory, by a
  user, a segfault in a decoder): PyTorch raises a ``RuntimeError`` with
  "DataLoader worker (pid N) ..." from the main process.
* A DDP process that died or stopped answering: the others fail in their
  next collective (gloo: at once, the peer's connection is closed; NCCL: after
  ``launch.ddp_timeout``), and with ``ddp_fork``/``ddp_spawn`` the launching
  process sees its child end.

:func:`as_fault` recognises these among the exceptions that end a run and
returns a :class:`~vis4d.common.errors.RunFault` naming the last checkpoint,
which nothing after the fault has replaced (an exception ends the run before
Lightning saves again). Anything else is left alone: a bug keeps its
traceback.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from vis4d.common.errors import RunFault


class NonFiniteLoss(RunFault):
    """Training met a loss, gradient or weights that are not finite; every DDP process raises it together."""

    def __init__(self, message: str) -> None:
        super().__init__(message, all_ranks=True)


def checkpoint_step(path: Path) -> int | None:
    """The ``global_step`` a checkpoint holds (None if it cannot be read); memory-mapped, so large files cost little."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return int(checkpoint["global_step"])
    except Exception:  # noqa: BLE001 - any unreadable file: the message then names it without a step
        return None


def last_good_checkpoint(checkpoint_dir: Path) -> str:
    """``the last good checkpoint is RUN/checkpoints/last.ckpt (step N)``, or that none was saved yet."""
    last = checkpoint_dir / "last.ckpt"
    if not last.is_file():
        return "no checkpoint was saved before it"
    step = checkpoint_step(last)
    return f"the last good checkpoint is {last}" + (f" (step {step})" if step is not None else "")


_WORKER = re.compile(r"DataLoader worker \(pids?\(?s?\)? ?([\d, ]+)\)? (is killed by signal: ?([^.]*)|exited "
                     r"unexpectedly[^.]*)", re.IGNORECASE)  # fmt: skip
# What gloo, NCCL and torch.distributed say in a process whose peer died or hangs.
_PEER_LOST = (
    "Connection closed by peer",
    "Connection reset by peer",
    "Broken pipe",
    "Timed out",
    "timed out",
    "Timeout",
    "NCCL communicator was aborted",
    "DistBackendError",
    "failed to recv",
    "failed to send",
)


def worker_fault(error: BaseException, checkpoint_dir: Path, action: str) -> RunFault | None:
    """The one line of a data loader worker that died, or None if ``error`` is not that."""
    text = " ".join(str(error).split())
    match = _WORKER.search(text)
    if match is None or not isinstance(error, RuntimeError):
        return None
    pids = match.group(1).strip(" ,")
    how = f"was killed by signal {match.group(3).strip()}" if match.group(3) else "exited unexpectedly"
    hint = " (out of memory? lower train_handler.num_workers or the batch size)" if "Killed" in how else ""
    where = f"; {last_good_checkpoint(checkpoint_dir)}; continue with --resume" if action == "train" else ""
    return RunFault(f"data loader worker (pid {pids}) {how}{hint}{where}")


def peer_fault(error: BaseException, checkpoint_dir: Path, action: str, timeout: float) -> RunFault | None:
    """The one line of a DDP process that died or stopped answering, or None if ``error`` is not that."""
    if type(error).__name__ == "ProcessExitedException":  # ddp_fork / ddp_spawn: the launcher saw a child end
        rank, code = getattr(error, "error_index", "?"), getattr(error, "exit_code", None)
        pid = getattr(error, "error_pid", "?")
        how = f"exited with code {code}"
        if isinstance(code, int) and code < 0:
            how = f"was killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else how
        return RunFault(f"DDP: the process of rank {rank} (PID {pid}) {how}; the other processes were stopped"
                        + _continue(checkpoint_dir, action))  # fmt: skip
    text = " ".join(str(error).split())
    lost = type(error).__name__ in ("DistBackendError", "DistNetworkError", "DistError") or (
        isinstance(error, RuntimeError) and any(marker in text for marker in _PEER_LOST)
    )
    if not lost:
        return None
    reason = "timed out" if "imed out" in text or "Timeout" in text else "lost the connection"
    detail = f" after {timeout:g} s (launch.ddp_timeout)" if reason == "timed out" else " (the process died?)"
    return RunFault(f"DDP: waiting for another process {reason}{detail}; this process stopped"
                    + _continue(checkpoint_dir, action))  # fmt: skip


def _continue(checkpoint_dir: Path, action: str) -> str:
    return f"; {last_good_checkpoint(checkpoint_dir)}; continue with --resume" if action == "train" else ""


_RAISED = re.compile(r"^([A-Za-z_][\w.]*): (.+)$")


def child_error(error: BaseException) -> BaseException:
    """What a ``ddp_fork``/``ddp_spawn`` process raised, from the traceback text its launcher re-raises.

    torch hands the launching process a ``ProcessRaisedException`` whose
    message is the child's traceback; its last ``module.Class: message``
    line is the error. vis4d's own errors come back as their kind (a
    :class:`RunFault` or a :class:`~vis4d.common.errors.Vis4DError`, so the
    exit code is theirs), anything else as a ``RuntimeError`` with that
    message. Other errors are returned as they are.
    """
    if type(error).__name__ != "ProcessRaisedException":
        return error
    from vis4d.common.errors import Vis4DError

    for line in reversed(str(error).splitlines()):
        match = _RAISED.match(line.strip())
        if match is None:
            continue
        name, message = match.groups()
        if name.startswith("vis4d."):
            import importlib

            module_name, _, class_name = name.rpartition(".")
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                cls = None
            if isinstance(cls, type) and issubclass(cls, RunFault):
                return RunFault(message, all_ranks=False)
            if isinstance(cls, type) and issubclass(cls, Vis4DError):
                return Vis4DError(message)
        return RuntimeError(message)
    return error


def as_fault(error: BaseException, checkpoint_dir: Path, action: str, timeout: float) -> RunFault | None:
    """``error`` as one of the faults this module knows, or None (then it is a bug or the input's problem)."""
    if isinstance(error, RunFault):
        return error
    return worker_fault(error, checkpoint_dir, action) or peer_fault(error, checkpoint_dir, action, timeout)
