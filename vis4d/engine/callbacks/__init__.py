"""Lightning callbacks: evaluation, prediction files, visualization, checkpoints, progress."""

from vis4d.common.errors import RunInterrupted
from vis4d.engine.callbacks.checkpoint import AtomicCheckpointIO
from vis4d.engine.callbacks.evaluator import Evaluator
from vis4d.engine.callbacks.interrupt import StopOnSignal, StopStreamOnSignal
from vis4d.engine.callbacks.nonfinite import NonFiniteGuard
from vis4d.engine.callbacks.progress import LogProgress
from vis4d.engine.callbacks.random_state import RandomStateCheckpoint
from vis4d.engine.callbacks.visualizer import Visualizer
from vis4d.engine.callbacks.writer import PredictionFileWriter

__all__ = [
    "AtomicCheckpointIO",
    "Evaluator",
    "LogProgress",
    "NonFiniteGuard",
    "PredictionFileWriter",
    "RandomStateCheckpoint",
    "RunInterrupted",
    "StopOnSignal",
    "StopStreamOnSignal",
    "Visualizer",
]
