"""Paired timing for the A/B benchmarks: runs alternate between two steps, ratios are taken pair by pair.

On a shared machine another job's load comes and goes; two runs back to back
see about the same load, so the median of the pairs' ratios is steadier than
a ratio of medians. The fastest runs are printed too (the least disturbed).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def wall_time(step: Callable[[], object]) -> float:
    """Seconds one call of ``step`` takes."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def compare(
    name: str,
    ours: Callable[[], object],
    theirs: Callable[[], object],
    iters: int,
    label: str,
    timed: Callable[[Callable[[], object]], float] = wall_time,
    warmup: bool = True,
) -> float:
    """Time ``iters`` alternating pairs after one warm-up pair, print the summary; returns the median pair ratio.

    ``warmup=False`` times the first pair too (a smoke run, whose figures mean nothing, saves a pair).
    """
    ours_times, theirs_times = [], []
    skipped = 1 if warmup else 0
    for iteration in range(iters + skipped):  # with a warm-up, iteration 0 is it
        first, second = (ours, theirs) if iteration % 2 == 0 else (theirs, ours)
        t_first, t_second = timed(first), timed(second)
        t_ours, t_theirs = (t_first, t_second) if first is ours else (t_second, t_first)
        if iteration >= skipped:
            ours_times.append(t_ours)
            theirs_times.append(t_theirs)
    ours_median, theirs_median = statistics.median(ours_times), statistics.median(theirs_times)
    pair_ratio = statistics.median(o / t for o, t in zip(ours_times, theirs_times, strict=True))
    print(
        f"{name}: vis4d {ours_median:.3f} s, {label} {theirs_median:.3f} s, "
        f"ratio of medians {ours_median / theirs_median:.3f}, median pair ratio {pair_ratio:.3f}, "
        f"fastest {min(ours_times):.3f} / {min(theirs_times):.3f} s = {min(ours_times) / min(theirs_times):.3f}  "
        f"(runs vis4d {[round(t, 3) for t in ours_times]}, {label} {[round(t, 3) for t in theirs_times]})"
    )
    return pair_ratio
