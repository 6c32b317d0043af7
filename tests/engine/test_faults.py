"""Faults that are not the input's: a data loader worker or a DDP process that dies, one that hangs.

Each ends the run within a bounded time with one line naming what happened
and the checkpoint to continue from (which nothing after the fault replaced),
and ``--resume`` continues. The processes are real: a training run forked by
the test session's fork server, its workers and ranks found in ``/proc`` and
killed (or stopped) with signals; Lightning's ``ddp`` launcher, which starts
the program again by its command line, runs as a real interpreter.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.multiprocessing import ProcessExitedException, ProcessRaisedException

from tests.conftest import fork_server
from tests.engine.conftest import run_cli, write_tiny_config
from tests.fork_server import Child
from vis4d.common.errors import ConfigError, DataError, RunFault
from vis4d.engine.faults import as_fault, child_error, peer_fault, worker_fault

ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
CKPT = Path("RUN/checkpoints")


# ----------------------------------------------------------------- recognising the faults
def test_a_dead_worker_is_one_line_naming_it_and_the_checkpoint() -> None:
    killed = RuntimeError("DataLoader worker (pid 4242) is killed by signal: Killed. ")
    fault = worker_fault(killed, CKPT, "train")
    assert fault is not None
    assert str(fault) == ("data loader worker (pid 4242) was killed by SIGKILL (out of memory? lower "
                          "train_handler.num_workers or the batch size); no checkpoint was saved before it; "
                          "continue with --resume")  # fmt: skip
    exited = RuntimeError("DataLoader worker (pid(s) 11, 12) exited unexpectedly")
    assert str(worker_fault(exited, CKPT, "predict")) == "data loader worker (pid 11, 12) exited unexpectedly"
    assert worker_fault(ValueError("DataLoader worker (pid 1) is killed by signal: Killed."), CKPT, "train") is None


class _Worker:
    def __init__(self, pid: int, exitcode: int | None) -> None:
        self.pid, self.exitcode = pid, exitcode


class _LoaderIterator:
    """Stands for PyTorch's multi-process loader iterator: its workers, and the error its queue raises."""

    def __init__(self, workers: list[_Worker]) -> None:
        self._workers = workers

    def next(self) -> None:
        raise RuntimeError("DataLoader worker (pid(s) 12) exited unexpectedly")


def test_a_worker_that_exited_unexpectedly_is_named_by_its_signal_when_its_process_knows_it() -> None:
    """PyTorch's queue may notice a death before its SIGCHLD handler: the signal comes from the worker's process."""
    for code, how in ((-9, "was killed by SIGKILL (out of memory?"), (3, "exited unexpectedly")):
        try:
            _LoaderIterator([_Worker(11, None), _Worker(12, code)]).next()
        except RuntimeError as error:
            fault = worker_fault(error, CKPT, "predict")
        assert fault is not None and str(fault).startswith(f"data loader worker (pid 12) {how}"), str(fault)


# The file-descriptor hand-over of a batch's tensors, as the standard library raises it when the sender is gone.
_RESOURCE_SHARER: dict[str, Any] = {}
exec(compile("def detach():\n    raise EOFError\n", "/usr/lib/python3.11/multiprocessing/resource_sharer.py", "exec"),
     _RESOURCE_SHARER)  # fmt: skip


class _ReceivingIterator(_LoaderIterator):
    def next(self) -> None:
        _RESOURCE_SHARER["detach"]()


def test_a_worker_that_dies_while_its_batch_is_received_is_named() -> None:
    """A batch in the queue whose worker is killed before the main process fetched its tensors: EOFError."""
    try:
        _ReceivingIterator([_Worker(11, None), _Worker(12, -9)]).next()
    except EOFError as error:
        fault = as_fault(error, CKPT, "train", 60.0)
    assert fault is not None and str(fault).startswith("data loader worker (pid 12) was killed by SIGKILL"), fault
    try:  # no worker has ended: not a dead worker (a bug, reported as one)
        _ReceivingIterator([_Worker(11, None)]).next()
    except EOFError as error:
        assert as_fault(error, CKPT, "train", 60.0) is None
    assert as_fault(EOFError(), CKPT, "train", 60.0) is None  # raised elsewhere


def test_the_fault_is_found_anywhere_in_the_chain_and_input_errors_stay_theirs() -> None:
    """PyTorch's SIGCHLD handler raises wherever the process is, e.g. inside torch.save, whose clean-up raises too."""
    try:
        try:
            raise RuntimeError("DataLoader worker (pid 7) is killed by signal: Segmentation fault.")
        except RuntimeError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1 vs 2")  # noqa: B904
    except RuntimeError as outer:
        fault = as_fault(outer, CKPT, "train", 600.0)
    assert fault is not None and str(fault).startswith("data loader worker (pid 7) was killed by SIGSEGV; ")
    assert as_fault(ConfigError("bad --devices"), CKPT, "train", 600.0) is None
    # The handler raised inside the validation loader's image read (main process), which names the image.
    try:
        try:
            raise RuntimeError("DataLoader worker (pid(s) 8) exited unexpectedly")
        except RuntimeError as died:
            raise DataError("cannot read image 0001.jpg: DataLoader worker (pid(s) 8) exited unexpectedly") from died
    except DataError as wrapped:
        fault = as_fault(wrapped, CKPT, "train", 600.0)
    assert fault is not None and str(fault).startswith("data loader worker (pid 8) exited unexpectedly")
    assert as_fault(RuntimeError("timed out"), CKPT, "train", 600.0) is None  # one process: no peer to lose
    assert as_fault(KeyError("x"), CKPT, "train", 600.0, distributed=True) is None


def test_ddp_errors_name_the_process_and_the_timeout() -> None:
    exited = ProcessExitedException("process 1 terminated with signal SIGKILL", error_index=1, error_pid=77,
                                    exit_code=-9, signal_name="SIGKILL")  # fmt: skip
    assert str(peer_fault(exited, CKPT, "test", 600.0)) == (
        "DDP: the process of rank 1 (PID 77) was killed by SIGKILL; the other processes were stopped"
    )
    timed_out = RuntimeError("Application timeout caused pair closure")
    assert str(peer_fault(timed_out, CKPT, "train", 5.0)) == (
        "DDP: another process did not answer for 5 s (launch.ddp_timeout; it died or hangs); the run stopped; "
        "no checkpoint was saved before it; continue with --resume"
    )
    closed = RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection closed by peer [1.2.3.4]")
    assert str(peer_fault(closed, CKPT, "predict", 5.0)).startswith("DDP: another process died (its connection")


def test_what_a_forked_rank_raised_comes_back_as_its_kind() -> None:
    def raised(last_line: str) -> ProcessRaisedException:
        head = "\n\n-- Process 1 terminated with the following error:\nTraceback (most recent call last):\n"
        return ProcessRaisedException(f"{head}  ...\n{last_line}\n", 1, 99)

    nan = "training stopped at step 3 (epoch 0): loss a is nan"
    fault = child_error(raised(f"vis4d.engine.faults.NonFiniteLoss: {nan}"))
    assert isinstance(fault, RunFault) and str(fault) == nan
    bad_input = child_error(raised("vis4d.common.errors.DataError: cannot decode image x.jpg"))
    assert not isinstance(bad_input, RunFault) and str(bad_input) == "cannot decode image x.jpg"
    assert type(child_error(raised("RuntimeError: Connection closed by peer"))) is RuntimeError
    plain = ValueError("not from a rank")
    assert child_error(plain) is plain


# ----------------------------------------------------------------- real runs
def _children(pid: int) -> list[int]:
    """The PIDs of ``pid``'s child processes (psutil is not a dependency: /proc says it)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _start_training(config: Path, version: str, *options: str) -> Child:
    command = ["train", "--config", str(config), "--work_dir", str(config.parent / "ws"), "--exp_name", "e",
               "--version", version, "--max_epochs", "100", "--checkpoint_every_n_steps", "2", *options]  # fmt: skip
    return fork_server().start("trainer", command, config.parent, ENV)


def _wait_for(path: Path, process: Child, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, f"no {path}"
        time.sleep(0.1)
    time.sleep(1.0)  # into the next steps


def _ended(process: Child, seconds: float) -> tuple[float, str]:
    """Seconds until ``process`` ended (at most ``seconds``, else the test fails), and its last stderr line."""
    start = time.monotonic()
    _, err = process.communicate(timeout=seconds)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    return time.monotonic() - start, lines[-1]


def _resume_finishes(config: Path, version: str, steps_per_epoch: int, *options: str) -> None:
    last = config.parent / "ws" / "e" / version / "checkpoints" / "last.ckpt"
    step = int(torch.load(last, weights_only=True)["global_step"])
    epochs = str(step // steps_per_epoch + 2)  # the run goes on past the checkpoint
    result = run_cli("train", "--config", str(config), "--work_dir", str(config.parent / "ws"), "--exp_name", "e",
                     "--version", version, "--resume", "--max_epochs", epochs, *options, cwd=config.parent)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(torch.load(last, weights_only=True)["global_step"]) == int(epochs) * steps_per_epoch


@pytest.mark.slow
def test_a_killed_loader_worker_ends_the_run_with_one_line_and_resume_continues(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    process = _start_training(config, "v", "--cfg-options", "train_handler.num_workers=2")
    last = tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt"
    _wait_for(last, process)
    worker = _children(process.pid)[0]
    os.kill(worker, signal.SIGKILL)
    seconds, line = _ended(process, 120)
    assert process.returncode == 1 and seconds < 60, (process.returncode, seconds, line)
    step = int(torch.load(last, weights_only=True)["global_step"])
    assert line == (f"error: data loader worker (pid {worker}) was killed by SIGKILL (out of memory? lower "
                    f"train_handler.num_workers or the batch size); the last good checkpoint is {last} (step {step}); "
                    "continue with --resume")  # fmt: skip
    _resume_finishes(config, "v", 4, "--cfg-options", "train_handler.num_workers=2")  # 8 frames, batches of 2


DDP = ["--accelerator", "cpu", "--devices", "2"]


@pytest.mark.slow
def test_a_killed_ddp_rank_stops_the_others_with_one_line(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    process = _start_training(config, "v", *DDP, "--strategy", "ddp_fork")
    last = tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt"
    _wait_for(last, process)
    ranks = _children(process.pid)
    assert len(ranks) == 2
    os.kill(ranks[1], signal.SIGKILL)
    seconds, line = _ended(process, 120)
    assert process.returncode == 1 and seconds < 60
    step = int(torch.load(last, weights_only=True)["global_step"])
    assert line == (f"error: DDP: the process of rank 1 (PID {ranks[1]}) was killed by SIGKILL; the other "
                    f"processes were stopped; the last good checkpoint is {last} (step {step}); continue with "
                    "--resume")  # fmt: skip
    assert not any(Path(f"/proc/{rank}").exists() for rank in ranks), "a rank outlived the run"
    _resume_finishes(config, "v", 2, *DDP, "--strategy", "ddp_fork")  # each of 2 processes: 2 batches of 2


@pytest.mark.slow
def test_a_hanging_ddp_rank_ends_the_run_after_the_ddp_timeout(tmp_path: Path) -> None:
    """A rank that stops answering (SIGSTOP): the other gives up after --ddp_timeout; torch's launcher then kills
    the hanging one (vis4d SIGKILLs it 5 s after the other failed, not torch's 30 s): bounded, where the default
    would wait 10 minutes."""
    config = write_tiny_config(tmp_path, "detector")
    process = _start_training(config, "v", *DDP, "--strategy", "ddp_fork", "--ddp_timeout", "3")
    _wait_for(tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt", process)
    ranks = _children(process.pid)
    os.kill(ranks[1], signal.SIGSTOP)
    try:
        seconds, line = _ended(process, 120)
    finally:  # clean up whatever is left (nothing, when the run ended as it should)
        for rank in ranks:
            with contextlib.suppress(ProcessLookupError):
                os.kill(rank, signal.SIGKILL)
    assert process.returncode == 1 and seconds < 30  # 3 s timeout + detection + 5 s grace + shutdown
    assert line.startswith("error: DDP: another process did not answer for 3 s (launch.ddp_timeout; it died or "
                           "hangs); the run stopped; the last good checkpoint is ")  # fmt: skip


@pytest.mark.slow
def test_a_killed_rank_under_the_ddp_launcher_is_named_by_the_launching_process(tmp_path: Path) -> None:
    """Lightning's ``ddp`` launcher runs ranks 1..N-1 as new interpreters (``python -m vis4d.engine.trainer ...``)."""
    config = write_tiny_config(tmp_path, "detector")
    launcher = _start_training(config, "v", *DDP, "--strategy", "ddp")
    try:
        _wait_for(tmp_path / "ws" / "e" / "v" / "checkpoints" / "last.ckpt", launcher, 240)
        (rank1,) = _children(launcher.pid)
        assert "vis4d.engine.trainer" in Path(f"/proc/{rank1}/cmdline").read_text()
        os.kill(rank1, signal.SIGKILL)
        start = time.monotonic()
        _, err = launcher.communicate(timeout=120)
    finally:
        launcher.kill()
    lines = [line for line in err.splitlines() if line.strip()]
    assert launcher.returncode != 0 and time.monotonic() - start < 60
    assert lines[-1].startswith("error: DDP: "), err[-3000:]
    assert f"(PID {rank1}) was killed by SIGKILL" in lines[-1] or "another process died" in lines[-1]
