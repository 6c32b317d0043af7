"""Ctrl-C (SIGINT) and SIGTERM during training: finish the step, save ``last.ckpt``, stop with one line.

While predicting from a live source (a camera, a stream URL) they end the
stream instead (:class:`StopStreamOnSignal`): the frame being read is the
last, and the prediction writers finish their files as at the stream's end.

The signal only sets a flag; the run stops at the next batch boundary, where
a checkpoint is as consistent as the periodic ones (``--resume`` continues
at the next batch). A second signal stops at once. Under DDP the ranks agree
on stopping at every step, so they save together and none waits forever.
Lightning's SLURM requeue (SIGUSR1) is not touched. Data loader workers
ignore both signals (:func:`ignore_interrupts`): the main process decides.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util  # registers multiprocessing's exit handler first, so the reaper runs before it
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import lightning.pytorch as pl

from vis4d.common.errors import RunInterrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_interrupts(worker_id: int) -> None:
    """``worker_init_fn`` of every data loader: workers leave SIGINT/SIGTERM to the main process.

    Ctrl-C and a scheduler's SIGTERM reach the whole process group; a worker
    that died of them would end the run with a data loader error before the
    checkpoint is saved. The main process ends the workers itself.
    """
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def kill_leftover_workers() -> None:
    """At exit, kill data loader workers an exception left running (they ignore the SIGTERM Python would send).

    A loader's workers normally stop when it is done; an error or a signal in
    the middle of an epoch can leave its iterator alive until the process
    ends, and Python's exit would wait for them forever.
    """
    for child in multiprocessing.active_children():
        if child.daemon:  # data loader workers are daemonic; anything else is left to multiprocessing
            child.kill()
            child.join(timeout=5)


_REAPER_REGISTERED = False


def register_worker_reaper() -> None:
    """Run :func:`kill_leftover_workers` at exit, before multiprocessing's own exit handler (atexit is LIFO)."""
    global _REAPER_REGISTERED
    if not _REAPER_REGISTERED:
        atexit.register(kill_leftover_workers)
        _REAPER_REGISTERED = True


class _OnSignal(pl.Callback):
    """SIGINT/SIGTERM handled by :meth:`first_signal` while a stage runs; a second one stops at once.

    Handlers are installed with :meth:`install` (the main thread only: Python
    keeps signal handlers there) and the previous ones restored at the
    stage's end or on an exception.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def first_signal(self, signum: int) -> str:
        """React to the first signal; returns what to tell the user."""
        raise NotImplementedError

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:  # the second signal: stop now
            self._restore_handlers()
            raise KeyboardInterrupt
        self.received = signum
        said = self.first_signal(signum)
        print(f"\n{signal.Signals(signum).name}: {said} (send it again to stop at once)", file=sys.stderr, flush=True)

    def install(self) -> None:
        """Handle both signals from now on."""
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:  # noqa: D102
        self._restore_handlers()


class StopOnSignal(_OnSignal):
    """Turns SIGINT/SIGTERM into a checkpoint at the next batch boundary and a :class:`RunInterrupted`."""

    def __init__(self, last_checkpoint: Path) -> None:
        super().__init__()
        self.last_checkpoint = last_checkpoint

    def first_signal(self, signum: int) -> str:  # noqa: D102
        return "stopping after this step and saving last.ckpt"

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self.install()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._restore_handlers()

    def _stop_if_asked(self, trainer: pl.Trainer) -> None:
        received = self.received is not None
        if trainer.world_size > 1:  # every rank must take the same decision: saving is collective
            received = trainer.strategy.reduce_boolean_decision(received, all=False)
        if received:
            trainer.save_checkpoint(self.last_checkpoint)
            raise RunInterrupted(self.received or signal.SIGTERM, trainer.global_step, self.last_checkpoint)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:  # noqa: D102
        self._stop_if_asked(trainer)

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:  # noqa: D102
        if not trainer.sanity_checking:
            self._stop_if_asked(trainer)


class StopStreamOnSignal(_OnSignal):
    """Turns SIGINT/SIGTERM while predicting from a live source into the end of the stream (``stop``).

    The handler only calls ``stop`` (which sets a flag): the stream yields no
    further frame, the predict loop ends normally and every callback closes
    its files as at a stream's end. ``received`` is the signal, for the exit
    code. A second signal stops at once (unfinished files are removed).
    """

    def __init__(self, stop: Callable[[], None]) -> None:
        super().__init__()
        self.stop = stop

    def first_signal(self, signum: int) -> str:  # noqa: D102
        self.stop()
        return "ending the stream after this frame"

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self.install()

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._restore_handlers()
