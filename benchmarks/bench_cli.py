"""How fast the command line answers before anything is built: ``-h`` and argument or config errors (not a test).

Each case starts ``python3 -m vis4d.engine.trainer ...`` (or ``-m vis4d.cli track ...``) as a new process
(interpreter start included, as a user's shell does) ``--runs`` times and
prints the median and the slowest wall time; the target is under one second
on 2 CPU cores. A valid run's start (torch and Lightning imported) is timed
beside them for scale with ``--with-run``.

Usage: python benchmarks/bench_cli.py [--runs 10] [--with-run] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "configs" / "experiments" / "qdtrack" / "qdtrack_R_18_FPN_synthetic.toml")
CASES = {
    "-h": ["-h"],
    "train -h": ["train", "-h"],
    "test -h": ["test", "-h"],
    "predict -h": ["predict", "-h"],
    "unknown option": ["train", "--config", CONFIG, "--max_epoch", "2"],
    "bad value": ["train", "--config", CONFIG, "--limit_train_batches", "many"],
    "config file missing": ["test", "--config", "missing.toml"],
    "config value out of range": ["train", "--config", CONFIG, "--cfg-options", "model.optimizer.lr=-1"],
    "no GPU for --accelerator gpu": ["test", "--config", CONFIG, "--accelerator", "gpu"],
    "weights file missing": ["test", "--config", CONFIG, "--weights", "missing.ckpt"],
    # The file tool that runs trackers (``vis4d track``), through the ``vis4d`` script's module.
    "vis4d track -h": ["-m", "vis4d.cli", "track", "-h"],
    "vis4d track: bad tracker option": [
        "-m",
        "vis4d.cli",
        "track",
        "--detections",
        CONFIG,
        "--tracker",
        "ocsort",
        "--output",
        "o",
        "--tracker-options",
        "min_hits=-1",
    ],  # fmt: skip
}


def _time(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        program = argv if argv[:1] == ["-m"] else ["-m", "vis4d.engine.trainer", *argv]
        result = subprocess.run([sys.executable, *program], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        assert result.returncode in (0, 2), (argv, result.returncode, result.stderr[-500:])
    return times


def main() -> None:
    """Time each case and print median / slowest."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--with-run", action="store_true", help="Also time the start of a valid run (imports).")
    parser.add_argument("--quick", action="store_true", help="Smoke run (the docs test): 1 run, 3 cases.")
    args = parser.parse_args()
    cases = dict(list(CASES.items())[:3]) if args.quick else CASES
    runs = 1 if args.quick else args.runs
    print(f"{'case':32s} {'median s':>9s} {'slowest s':>9s}   ({runs} runs each, a new process per run)")
    for name, argv in cases.items():
        times = _time(argv, runs)
        print(f"{name:32s} {statistics.median(times):9.3f} {max(times):9.3f}")
    if args.with_run and not args.quick:
        import_torch = [sys.executable, "-c", "import torch, lightning.pytorch"]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(import_torch, check=True)
            times.append(time.perf_counter() - start)
        print(f"{'(for scale) import torch+Lightning':32s} {statistics.median(times):9.3f} {max(times):9.3f}")


if __name__ == "__main__":
    main()
