"""``make demo``: fine-tune QDTrack from the model zoo, test it, and run it on videos.

Every step is the real command line, printed before it runs exactly as a user
types it in a shell of the repository after ``source .venv/bin/activate`` (the
demo prints that line first), so the demo doubles as a walk-through:

1. train: a short fine-tune of the zoo's synthetic QDTrack weights
   (``zoo/qdtrack_r18_fpn_synthetic/model.pt``) on the synthetic videos the
   project generates itself;
2. test: detection AP and tracking metrics (MOTA, IDF1, HOTA) on the synthetic
   test split, with prediction files;
3. predict with ``--visualize`` on the synthetic test videos and on a folder of
   real BDD100K frames (``assets/bdd100k_sample/images``).

Without zoo weights the demo trains from scratch for the configured epochs
(longer; figures then depend on how long it ran).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Paths relative to the repository root, where the commands run: the echoed lines work when pasted there.
CONFIG = "configs/experiments/qdtrack/qdtrack_R_18_FPN_synthetic.toml"
ZOO_WEIGHTS = "zoo/qdtrack_r18_fpn_synthetic/model.pt"
REAL_FRAMES = "assets/bdd100k_sample/images"


def activation_line() -> str | None:
    """The line that puts this interpreter's environment on PATH in a new shell (``source .venv/bin/activate``)."""
    activate = Path(sys.prefix) / "bin" / "activate"
    if not activate.is_file():  # not a virtual environment: python3 and vis4d are on PATH already
        return None
    shown = os.path.relpath(activate, ROOT) if activate.is_relative_to(ROOT) else str(activate)
    return f"source {shown}"


def run(args: list[str]) -> None:
    """Run one vis4d command, echoing it; stop the demo if it fails.

    ``python3`` in the echo is this interpreter (the environment's, once activated).
    """
    cmd = [sys.executable, "-m", "vis4d.engine.trainer", *args]
    print("\n$ python3 -m vis4d.engine.trainer " + " ".join(shlex.quote(a) for a in args), flush=True)
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"demo: command failed with exit code {result.returncode}")
    print(f"({time.perf_counter() - start:.0f} s)", flush=True)


def main() -> None:
    """Train, test, predict; then print where everything went."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", default="vis4d-workspace")
    parser.add_argument("--steps", type=int, default=40, help="Fine-tuning steps (default 40).")
    args = parser.parse_args()
    version = time.strftime("demo-%Y-%m-%d_%H-%M-%S")
    common = ["--config", CONFIG, "--work_dir", args.work_dir, "--version", version, "--seed", "0"]
    start = time.perf_counter()
    activate = activation_line()
    if activate:
        print(f"The commands below run in vis4d's environment; in a new shell, enter it first:\n$ {activate}")

    train = ["train", *common, "--limit_train_batches", str(args.steps)]
    if (ROOT / ZOO_WEIGHTS).is_file():
        # A short, gentle fine-tune: one epoch of `steps` batches at a tenth of the lr, no warm-up.
        train += [
            "--weights",
            ZOO_WEIGHTS,
            "--cfg-options",
            "trainer.max_epochs=1,model.optimizer.lr=0.002,model.lr_scheduler.warmup_steps=0",
        ]
    else:
        print(f"note: {ZOO_WEIGHTS} not found; training from scratch (slower, weaker figures)")
    run(train)
    run(["test", *common, "--weights", "best", "--output_format", "scalabel,motchallenge"])
    run(["predict", *common, "--weights", "best", "--visualize"])
    run(["predict", *common, "--weights", "best", "--visualize", "--input_dir", REAL_FRAMES])

    run_dir = Path(args.work_dir) / "qdtrack_r18_fpn_synthetic" / version
    metrics_file = run_dir / "test" / "metrics.json"
    metrics = json.loads((ROOT / metrics_file).read_text())
    det, track = metrics["det"], metrics.get("track", {}).get("mean", {})
    print(f"\n==== vis4d demo finished in {time.perf_counter() - start:.0f} s ====")
    print(f"synthetic test split: AP {det['AP']:.3f}  AP50 {det['AP50']:.3f}", end="")
    if track:
        print(f"  MOTA {track['MOTA']:.3f}  IDF1 {track['IDF1']:.3f}  HOTA {track['HOTA']:.3f}")
    print(f"run directory:      {run_dir}")
    print(f"config:             {run_dir / 'config.yaml'}")
    print(f"checkpoints:        {run_dir / 'checkpoints'} (best.ckpt, last.ckpt)")
    print(f"metrics:            {metrics_file}")
    print(f"test predictions:   {run_dir / 'test' / 'predictions'}")
    print(f"predict outputs:    {run_dir / 'predict' / 'predictions'}")
    print(f"visualizations:     {run_dir / 'predict' / 'vis'} (JPEG per frame, MP4 per video)")
    print(f"training curves:    tensorboard --logdir {run_dir / 'tensorboard'}  or  vis4d report {run_dir}")
    if activate:
        print(f"(in a new shell, {activate} first: it puts python3 with vis4d, vis4d and tensorboard on PATH)")


if __name__ == "__main__":
    main()
