"""``make demo``: fine-tune QDTrack from the model zoo, test it, run it on videos, then track real footage.

Every step is the real command line, printed before it runs exactly as a user
types it in a shell of the repository after ``source .venv/bin/activate`` (the
demo prints that line first), so the demo doubles as a walk-through. The
commands run in this one process (``vis4d.engine.trainer.main``, what the
command line calls), so torch and Lightning are imported once:

1. train: a short fine-tune of the zoo's synthetic QDTrack weights
   (``zoo/qdtrack_r18_fpn_synthetic/model.pt``) on the synthetic videos the
   project generates itself;
2. test: detection AP and tracking metrics (MOTA, IDF1, HOTA) on the synthetic
   test split, with prediction files;
3. predict with ``--visualize`` on the synthetic test videos (the synthetic
   model knows only the synthetic shapes: it is shown on those alone);
4. real footage: a published model (ByteTrack on Megvii's COCO YOLOX-s, the
   fast path of docs/track-your-video.md) tracks the real BDD100K frames of
   ``assets/bdd100k_sample``, when its weights are in torch.hub's cache or
   can be downloaded now (the demo says which, how large and how long);
   offline it asks the server once, with a short timeout, and prints the
   command that fetches them instead.

Without zoo weights the demo trains from scratch for the configured epochs
(longer; figures then depend on how long it ran). ``--quick`` runs every step
on a few batches (the test suite runs the demo that way).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).absolute().parent.parent  # not resolved: a linked copy of the repository runs in itself
# Paths relative to the repository root, where the commands run: the echoed lines work when pasted there.
CONFIG = "configs/experiments/qdtrack/qdtrack_R_18_FPN_synthetic.toml"
ZOO_WEIGHTS = "zoo/qdtrack_r18_fpn_synthetic/model.pt"
REAL_FRAMES = "assets/bdd100k_sample/images"
REAL_CONFIG = "configs/experiments/bytetrack/bytetrack_yolox_s_coco.toml"
REAL_MODEL = "ByteTrack on Megvii's COCO YOLOX-s (box AP 40.5; people and vehicles)"
REAL_RUN = "bytetrack_yolox_s_coco"  # the config's model.name: its runs' folder


def activation_line() -> str | None:
    """The line that puts this interpreter's environment on PATH in a new shell (``source .venv/bin/activate``)."""
    activate = Path(sys.prefix) / "bin" / "activate"
    if not activate.is_file():  # not a virtual environment: python3 and vis4d are on PATH already
        return None
    shown = os.path.relpath(activate, ROOT) if activate.is_relative_to(ROOT) else str(activate)
    return f"source {shown}"


def run(args: list[str]) -> None:
    """Run one vis4d command in this process, echoing it; stop the demo if it fails.

    ``python3`` in the echo is this interpreter (the environment's, once activated).
    """
    from vis4d.engine.trainer import main as trainer_main

    print("\n$ python3 -m vis4d.engine.trainer " + " ".join(shlex.quote(a) for a in args), flush=True)
    start = time.perf_counter()
    code = trainer_main(args)
    if code != 0:
        sys.exit(f"demo: command failed with exit code {code}")
    print(f"({time.perf_counter() - start:.0f} s)", flush=True)


def real_footage(args: argparse.Namespace, limits: list[str]) -> str | None:
    """Track the real sample frames with a published model; returns its run's predict folder (None if skipped)."""
    from vis4d.common.errors import ConfigError
    from vis4d.config.load import load_config
    from vis4d.model.weights.download import remote_size
    from vis4d.model.weights.sources import resolve_source

    name = load_config(ROOT / REAL_CONFIG).model.weights
    assert name is not None, f"{REAL_CONFIG} names its published weights"
    source = resolve_source(name, "model.weights")
    print(f"\nReal footage: {REAL_MODEL} on the BDD100K frames of {REAL_FRAMES}.")
    if source.path.is_file():
        print(f"Its weights are in torch.hub's cache: {source.path}")
    else:
        try:
            size = remote_size(source)
        except ConfigError:
            print(f"skipped: its weights are not in {source.path.parent} and {source.url} cannot be reached now; "
                  f"fetch them with: vis4d weights download {name}")  # fmt: skip
            return None
        shown = f"{size / 2**20:.0f} MB" if size else "size unknown"
        print(f"Downloading its weights first ({shown}) from {source.url} into {source.path}")
    run(["predict", "--config", REAL_CONFIG, "--input_dir", REAL_FRAMES, "--visualize", "--work_dir", args.work_dir,
         "--version", args.version, *limits])  # fmt: skip
    return str(Path(args.work_dir) / REAL_RUN / args.version / "predict")


def main() -> None:
    """Train, test, predict; track real footage; then print where everything went."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", default="vis4d-workspace")
    parser.add_argument("--steps", type=int, default=40, help="Fine-tuning steps (default 40).")
    parser.add_argument("--quick", action="store_true", help="A few batches per step (the test suite's run).")
    args = parser.parse_args()
    os.chdir(ROOT)  # the echoed commands name paths from the repository root
    args.version = time.strftime("demo-%Y-%m-%d_%H-%M-%S")
    common = ["--config", CONFIG, "--work_dir", args.work_dir, "--version", args.version, "--seed", "0"]
    steps = 2 if args.quick else args.steps
    quick = {action: ["--limit_" + action + "_batches", "2"] if args.quick else [] for action in ("test", "predict")}
    start = time.perf_counter()
    activate = activation_line()
    if activate:
        print(f"The commands below run in vis4d's environment; in a new shell, enter it first:\n$ {activate}")

    train = ["train", *common, "--limit_train_batches", str(steps), *(["--limit_val_batches", "2"] * args.quick)]
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
    run(["test", *common, "--weights", "best", "--output_format", "scalabel,motchallenge", *quick["test"]])
    run(["predict", *common, "--weights", "best", "--visualize", *quick["predict"]])
    real = real_footage(args, quick["predict"])
    _summary(args, time.perf_counter() - start, real, activate)


def _summary(args: argparse.Namespace, seconds: float, real: str | None, activate: str | None) -> None:
    run_dir = Path(args.work_dir) / "qdtrack_r18_fpn_synthetic" / args.version
    metrics_file = run_dir / "test" / "metrics.json"
    metrics = json.loads((ROOT / metrics_file).read_text())
    det, track = metrics["det"], metrics.get("track", {}).get("mean", {})
    print(f"\n==== vis4d demo finished in {seconds:.0f} s ====")
    print(f"synthetic test split: AP {det['AP']:.3f}  AP50 {det['AP50']:.3f}", end="")
    if track:
        print(f"  MOTA {track['MOTA']:.3f}  IDF1 {track['IDF1']:.3f}  HOTA {track['HOTA']:.3f}")
    print(f"run directory:      {run_dir}")
    print(f"config:             {run_dir / 'config.yaml'}")
    print(f"checkpoints:        {run_dir / 'checkpoints'} (best.ckpt, last.ckpt)")
    print(f"metrics:            {metrics_file}")
    print(f"test predictions:   {run_dir / 'test' / 'predictions'}")
    print(f"predict outputs:    {run_dir / 'predict' / 'predictions'}")
    print(f"visualizations:     {run_dir / 'predict' / 'vis'} (synthetic videos: JPEG per frame, MP4 per video)")
    if real is not None:
        print(f"real footage:       {real}/vis (published model on {REAL_FRAMES})")
    print(f"training curves:    tensorboard --logdir {run_dir / 'tensorboard'}  or  vis4d report {run_dir}")
    if activate:
        print(f"(in a new shell, {activate} first: it puts python3 with vis4d, vis4d and tensorboard on PATH)")


if __name__ == "__main__":
    main()
