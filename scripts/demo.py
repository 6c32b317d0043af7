"""``make demo``: fine-tune QDTrack from the model zoo, test it, and run it on videos.

Every step is the real command line, printed before it runs, so the demo doubles
as a walk-through:

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
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs/experiments/qdtrack/qdtrack_r18_fpn_synthetic.toml"
ZOO_WEIGHTS = ROOT / "zoo/qdtrack_r18_fpn_synthetic/model.pt"
REAL_FRAMES = ROOT / "assets/bdd100k_sample/images"


def run(args: list[str]) -> None:
    """Run one vis4d command, echoing it; stop the demo if it fails."""
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
    common = ["--config", str(CONFIG), "--work_dir", args.work_dir, "--version", version, "--seed", "0"]
    start = time.perf_counter()

    train = ["train", *common, "--limit_train_batches", str(args.steps)]
    if ZOO_WEIGHTS.is_file():
        # A short, gentle fine-tune: one epoch of `steps` batches at a tenth of the lr, no warm-up.
        train += [
            "--weights",
            str(ZOO_WEIGHTS),
            "--cfg-options",
            "trainer.max_epochs=1,model.optimizer.lr=0.002,model.lr_scheduler.warmup_steps=0",
        ]
    else:
        print(f"note: {ZOO_WEIGHTS} not found; training from scratch (slower, weaker figures)")
    run(train)
    run(["test", *common, "--weights", "best", "--output_format", "scalabel,motchallenge"])
    run(["predict", *common, "--weights", "best", "--visualize"])
    run(["predict", *common, "--weights", "best", "--visualize", "--input_dir", str(REAL_FRAMES)])

    run_dir = ROOT / args.work_dir / "qdtrack_r18_fpn_synthetic" / version
    metrics_file = run_dir / "test" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
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


if __name__ == "__main__":
    main()
