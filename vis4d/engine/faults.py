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
import sys
import threading
import time
from pathlib import Path
from typing import Any

from vis4d.common.errors import RunFault, one_line


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
# What gloo, NCCL and torch.distributed say in a process whose peer died or hangs (lower case).
_PEER_LOST = (
    "connection closed by peer",
    "connection reset by peer",
    "broken pipe",
    "pair closure",
    "timed out",
    "timeout",
    "nccl communicator was aborted",
    "failed to recv",
    "failed to send",
)


def _signal_name(description: str) -> str:
    """``SIGKILL`` for PyTorch's ``Killed`` (the C library's description of the signal)."""
    for number in signal.valid_signals():
        if signal.strsignal(number) == description:
            return signal.Signals(number).name
    return f"signal {description}"


# Where a batch's tensors are handed from a loader worker to the main process (shared-memory file descriptors).
_HANDOVER = ("multiprocessing/resource_sharer.py", "torch/multiprocessing/reductions.py")


def worker_fault(error: BaseException, checkpoint_dir: Path, action: str) -> RunFault | None:
    """The one line of a data loader worker that died, or None if ``error`` is not that.

    PyTorch says so in a RuntimeError ("DataLoader worker (pid N) is killed
    by signal"); a worker that dies while the main process receives a batch
    it sent shows as a broken hand-over of the batch's tensors instead (an
    EOFError or a refused connection inside the file-descriptor sharing).
    """
    text = " ".join(str(error).split())
    match = _WORKER.search(text)
    if match is not None and isinstance(error, RuntimeError):
        pids = match.group(1).strip(" ,")
        how = f"was killed by {_signal_name(match.group(3).strip())}" if match.group(3) else "exited unexpectedly"
        code = None if match.group(3) else _worker_exit_codes(error).get(pids.split(",")[0].strip())
    elif isinstance(error, EOFError | ConnectionError) and _raised_in(error, _HANDOVER):
        ended = {pid: code for pid, code in _worker_exit_codes(error).items() if code is not None}
        if not ended:
            return None
        pids = ", ".join(ended)
        how, code = "exited unexpectedly", next(iter(ended.values()))
    else:
        return None
    if code is not None and code < 0 and -code in signal.valid_signals():
        how = f"was killed by {signal.Signals(-code).name}"
    hint = " (out of memory? lower train_handler.num_workers or the batch size)" if "SIGKILL" in how else ""
    where = f"; {last_good_checkpoint(checkpoint_dir)}; continue with --resume" if action == "train" else ""
    return RunFault(f"data loader worker (pid {pids}) {how}{hint}{where}")


def _raised_in(error: BaseException, files: tuple[str, ...]) -> bool:
    """Whether a frame of ``error``'s traceback is in one of ``files`` (path endings)."""
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.replace("\\", "/").endswith(files):
            return True
        traceback = traceback.tb_next
    return False


def _worker_exit_codes(error: BaseException) -> dict[str, int | None]:
    """PID -> exit code (minus the signal that killed it; None: running) of the loader workers behind ``error``.

    PyTorch names the signal when its SIGCHLD handler sees the death first;
    when its queue notices first it says only "exited unexpectedly". The
    loader's iterator, whose worker processes know their exit codes, is
    ``self`` in a frame of the traceback that raised it.
    """
    codes: dict[str, int | None] = {}
    traceback = error.__traceback__
    while traceback is not None:
        workers = getattr(traceback.tb_frame.f_locals.get("self"), "_workers", None)
        for worker in workers if isinstance(workers, list) else []:
            code = getattr(worker, "exitcode", None)
            codes[str(getattr(worker, "pid", ""))] = code if isinstance(code, int) else None
        traceback = traceback.tb_next
    return codes


def dead_rank(rank: object, pid: object, code: int | None, checkpoint_dir: Path, action: str) -> RunFault:
    """The line of a DDP process that ended under its launcher's eyes (``code``: exit code, or minus the signal)."""
    how = f"exited with code {code}"
    if isinstance(code, int) and code < 0 and -code in signal.valid_signals():
        how = f"was killed by {signal.Signals(-code).name}"
    return RunFault(f"DDP: the process of rank {rank} (PID {pid}) {how}; the other processes were stopped"
                    + _continue(checkpoint_dir, action))  # fmt: skip


def peer_fault(error: BaseException, checkpoint_dir: Path, action: str, timeout: float) -> RunFault | None:
    """The one line of a DDP process that died or stopped answering, or None if ``error`` is not that."""
    if type(error).__name__ == "ProcessExitedException":  # ddp_fork / ddp_spawn: the launcher saw a child end
        code = getattr(error, "exit_code", None)
        rank, pid = getattr(error, "error_index", "?"), getattr(error, "error_pid", "?")
        return dead_rank(rank, pid, code if isinstance(code, int) else None, checkpoint_dir, action)
    text = " ".join(str(error).split()).lower()
    lost = type(error).__name__ in ("DistBackendError", "DistNetworkError", "DistError") or (
        isinstance(error, RuntimeError) and any(marker in text for marker in _PEER_LOST)
    )
    if not lost:
        return None
    if "timed out" in text or "timeout" in text:
        what = f"another process did not answer for {timeout:g} s (launch.ddp_timeout; it died or hangs)"
    else:
        what = "another process died (its connection closed while this one waited for it)"
    return RunFault(f"DDP: {what}; the run stopped" + _continue(checkpoint_dir, action))


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


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or while handling, innermost last."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def as_fault(
    error: BaseException, checkpoint_dir: Path, action: str, timeout: float, distributed: bool = False
) -> RunFault | None:
    """``error`` as one of the faults this module knows, or None (then it is a bug or the input's problem).

    The whole chain is searched: a dead worker is reported by PyTorch's
    SIGCHLD handler, which raises wherever the main process happens to be,
    e.g. inside ``torch.save``, whose clean-up then raises an error of its own,
    or inside an image read of the validation loader, which names the image
    it could not read (a :class:`Vis4DError` caused by the dead worker: the
    worker is the fault). Any other input error is the input's problem, said
    as it is. A lost or timed-out peer is only considered in a ``distributed`` run.
    """
    from vis4d.common.errors import Vis4DError

    chain = _chain(error)
    for cause in chain:
        if isinstance(cause, RunFault):
            return cause
    for cause in chain:
        fault = worker_fault(cause, checkpoint_dir, action)
        if fault is not None:
            return fault
    if isinstance(error, Vis4DError) or not distributed:
        return None
    for cause in chain:
        fault = peer_fault(cause, checkpoint_dir, action, timeout)
        if fault is not None:
            return fault
    return None


_REPORTED: list[bool] = []
_REPORT_LOCK = threading.Lock()


def report(fault: RunFault) -> None:
    """Print ``error: <the fault's line>`` once per process: a watcher thread and the main thread may both see it."""
    with _REPORT_LOCK:
        if _REPORTED:
            return
        _REPORTED.append(True)
    print(f"error: {one_line(fault)}", file=sys.stderr, flush=True)


def watch_ddp_children(trainer: Any, checkpoint_dir: Path, action: str, poll: float = 1.0, grace: float = 2.0) -> None:
    """Say which DDP process died as soon as the launching process sees one of its children end.

    Lightning's ``ddp`` launcher starts ranks 1..N-1 as programs of their own
    and polls them every 5 s; when one has failed it SIGKILLs the others and
    itself (a process blocked in an NCCL collective could not react
    otherwise), and the run would end without a word. This thread polls every
    ``poll`` seconds and prints the line first. A child that exited with an
    error code (not by a signal) may be ending on a fault this process reports
    too (they agreed on a loss that is not finite): it waits ``grace`` seconds
    for this process to say it first.
    """
    launcher = getattr(trainer.strategy, "launcher", None)
    if type(launcher).__name__ == "_MultiProcessingLauncher":
        threading.Thread(target=_kill_hanging_forks, args=(poll, 5.0), name="vis4d-ddp-reap", daemon=True).start()
    if type(launcher).__name__ != "_SubprocessScriptLauncher":
        return

    def watch() -> None:
        while True:
            time.sleep(poll)
            procs = list(getattr(launcher, "procs", []))
            codes = [proc.poll() for proc in procs]
            for rank, (proc, code) in enumerate(zip(procs, codes, strict=True), start=1):
                if code is not None and code != 0:
                    if code > 0:
                        time.sleep(grace)
                    report(dead_rank(rank, proc.pid, code, checkpoint_dir, action))
                    return
            if procs and all(code == 0 for code in codes):
                return

    threading.Thread(target=watch, name="vis4d-ddp-watch", daemon=True).start()


def _kill_hanging_forks(poll: float, grace: float) -> None:
    """``ddp_fork``/``ddp_spawn``: once a rank has failed, SIGKILL the ranks still alive ``grace`` seconds later.

    torch's launcher (``ProcessContext.join``) sends SIGTERM to the other
    ranks and waits 30 s before SIGKILL; a rank that hangs (stopped, or deaf
    to SIGTERM inside a collective) would hold the run that long after the
    failure was known. The failed rank's error is what the run reports.
    """
    import multiprocessing

    seen: set[Any] = set()  # every rank once started (active_children forgets the ended ones)
    while True:
        time.sleep(poll)
        seen.update(multiprocessing.active_children())
        if any(child.exitcode not in (None, 0) for child in seen):
            time.sleep(grace)
            for child in seen:
                if child.exitcode is None:
                    child.kill()
            return
        if seen and all(child.exitcode is not None for child in seen):
            return
