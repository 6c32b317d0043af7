"""``--profiler simple|advanced|pytorch``: Lightning's profilers, reporting to ``RUN/profile/`` and the console.

Lightning's profilers print their summary through the ``lightning.pytorch``
logger at INFO, which vis4d keeps at WARNING (its hints do not apply to
vis4d's loaders), and without a ``dirpath`` the PyTorch profiler drops its
trace into the logger's directory. Here every profiler writes into
``RUN/profile/``, one report per stage (``fit-report.txt``,
``test-report.txt``, ``predict-report.txt``; Lightning names them). At the
end of the run the console shows the slowest actions and where the full
report and any traces are.

The PyTorch profiler records CPU activity only on a machine without CUDA:
asking Kineto for CUDA activity there prints CUDA driver errors.
"""

from __future__ import annotations

import cProfile
import os
import pstats
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError

PROFILERS = ("simple", "advanced", "pytorch")
REPORT_NAME = "report"  # Lightning prefixes the stage (and the rank under DDP): RUN/profile/fit-report.txt
CONSOLE_ROWS = 12
KINETO_SILENT = 6  # above every Kineto log level (its USDT start/stop markers are the highest, 5)


def build_profiler(name: str | None, profile_dir: Path) -> Any:
    """The Lightning profiler ``name`` writing into ``profile_dir`` (``None`` without ``--profiler``)."""
    if name is None:
        return None
    if name not in PROFILERS:
        raise ConfigError(f"--profiler: unknown profiler {name!r}; expected one of {', '.join(PROFILERS)}")
    if name == "simple":
        from lightning.pytorch.profilers import SimpleProfiler

        return SimpleProfiler(dirpath=profile_dir, filename=REPORT_NAME, extended=True)
    if name == "advanced":
        return _advanced_profiler(profile_dir)
    import torch
    from lightning.pytorch.profilers import PyTorchProfiler
    from torch.profiler import ProfilerActivity

    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    else:  # Kineto still asks the CUDA driver for devices when writing the trace, and logs the failure as an error
        os.environ.setdefault("KINETO_LOG_LEVEL", str(KINETO_SILENT))
    return PyTorchProfiler(dirpath=profile_dir, filename=REPORT_NAME, export_to_chrome=True, activities=activities)


def _advanced_profiler(profile_dir: Path) -> Any:
    """Lightning's cProfile-per-action profiler, keeping each action's total time for the console summary."""
    from lightning.pytorch.profilers import AdvancedProfiler

    class TotallingAdvancedProfiler(AdvancedProfiler):
        """Lightning clears its per-action profiles on teardown; the totals are kept here first."""

        totals: dict[str, float]

        def summary(self) -> str:
            self.totals = {action: _total_seconds(profile) for action, profile in self.profiled_actions.items()}
            return str(super().summary())

    return TotallingAdvancedProfiler(dirpath=profile_dir, filename=REPORT_NAME)


def _total_seconds(profile: cProfile.Profile) -> float:
    """Seconds spent inside the functions ``profile`` saw (``pstats.Stats.total_tt``, absent from typeshed)."""
    total: float = pstats.Stats(profile).total_tt  # type: ignore[attr-defined]
    return total


def clear_profile(profile_dir: Path, stage: str) -> None:
    """Remove an earlier run's files of ``stage``: Lightning appends to its report, which would mix two runs."""
    for path in profile_dir.glob(f"{stage}-{REPORT_NAME}*"):
        path.unlink()


def slowest_actions(profiler: Any) -> list[tuple[str, int | None, float]]:
    """``(action, calls or None, total seconds)`` of a simple or advanced profiler, slowest first."""
    rows: list[tuple[str, int | None, float]]
    if hasattr(profiler, "recorded_durations"):
        rows = [(action, len(times), float(sum(times))) for action, times in profiler.recorded_durations.items()]
    else:
        rows = [(action, None, total) for action, total in getattr(profiler, "totals", {}).items()]
    return sorted(rows, key=lambda row: -row[2])


def report_profile(profiler: Any, profile_dir: Path, stage: str) -> None:
    """Print the slowest actions of ``stage`` and where its report and traces went."""
    rows = slowest_actions(profiler)
    if rows:
        print(f"profile ({stage}): the {min(CONSOLE_ROWS, len(rows))} slowest of {len(rows)} profiled actions")
        print(f"  {'total s':>9}  {'calls':>6}  action")
        for action, calls, total in rows[:CONSOLE_ROWS]:
            print(f"  {total:9.3f}  {'-' if calls is None else calls:>6}  {action[:100]}")
    reports = sorted(profile_dir.glob(f"{stage}-{REPORT_NAME}*.txt"))
    traces = sorted(profile_dir.glob(f"{stage}-{REPORT_NAME}*.pt.trace.json"))
    for report in reports:
        print(f"profile report: {report}")
    if traces:
        print(f"profile traces ({len(traces)}): {profile_dir}/{stage}-{REPORT_NAME}*.pt.trace.json")
        print(
            f"  open them with TensorBoard's profiler plugin (pip install torch-tb-profiler; "
            f"tensorboard --logdir {profile_dir}) or in chrome://tracing or https://ui.perfetto.dev"
        )
    if not reports and not traces:
        print(f"profile: nothing was recorded for {stage} in {profile_dir}")
