"""Compare vis4d's YOLOX with Megvii's reference (the ``yolox`` package 0.3.0): inference and a training step.

Both models get the same weights (Megvii's random initialisation, converted
into ours by the Megvii checkpoint converter), the same pixels, the same
targets and the same thread count. Megvii's is timed as its tools run it,
plain (``eval`` without ``--fuse``) and with ``fuse_model`` (batch norm folded
into the convolutions, its ``--fuse``), the stricter yardstick; ours as
``vis4d test`` and ``predict`` run it (channels-last, batch norm folded).
Inference covers what each returns as detections: network, decoding, score
threshold 0.01 and NMS 0.65 (Megvii's ``postprocess``). A training step is
forward, SimOTA, the losses (L1 included, the reference's last epochs) and
backward. Runs alternate between the models; after one warm-up each, the
median of ``--iters`` runs is printed with the ratio ours / Megvii (< 1:
faster) and the median ratio of back-to-back pairs.

The reference is not a vis4d dependency: run this in a virtualenv that has
it, with vis4d on the path::

    python3 -m venv /work/venvs/yolox
    /work/venvs/yolox/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/venvs/yolox/bin/pip install --no-deps --no-build-isolation yolox==0.3.0
    /work/venvs/yolox/bin/pip install loguru tabulate opencv-python-headless pycocotools pyyaml 'pydantic>=2.5,<3'
    PYTHONPATH=. /work/venvs/yolox/bin/python benchmarks/bench_yolox.py --threads 2 --iters 5
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import paired  # benchmarks/paired.py, beside this script
import torch
from yolox.exp import get_exp
from yolox.utils import fuse_model, postprocess

from vis4d.common.structures import Targets
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.weights.megvii import convert
from vis4d.model.yolox.detector import YOLOX

NUM_CLASSES = 80


def _targets(count: int, height: int, width: int, generator: torch.Generator) -> Targets:
    top_left = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.8, height * 0.8])
    size = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.2, height * 0.2]) + 8
    boxes = torch.cat((top_left, (top_left + size).minimum(torch.tensor([width, height]))), dim=1)
    classes = torch.randint(0, NUM_CLASSES, (count,), generator=generator)
    return Targets(boxes, classes, torch.arange(count), torch.zeros(count, dtype=torch.bool))


def _megvii_labels(targets: list[Targets]) -> torch.Tensor:
    """Megvii's training labels: (B, max boxes, 5) rows of class, centre x, centre y, width, height."""
    labels = torch.zeros(len(targets), max(len(t.boxes) for t in targets), 5)
    for i, t in enumerate(targets):
        size = t.boxes[:, 2:] - t.boxes[:, :2]
        labels[i, : len(t.boxes)] = torch.cat((t.class_ids[:, None].float(), t.boxes[:, :2] + 0.5 * size, size), 1)
    return labels


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="s", choices=["nano", "tiny", "s", "m", "l", "x"])
    parser.add_argument("--hw", type=int, nargs=2, default=[640, 640], metavar=("H", "W"))
    parser.add_argument("--iters", type=int, default=5, help="timed runs per model after one warm-up")
    parser.add_argument("--batch-size", type=int, default=2, help="training batch size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", choices=["train", "test"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    exp = get_exp(None, f"yolox-{args.size}")
    theirs = exp.get_model()
    ours = YOLOX(YOLOXConfig(size=args.size), NUM_CLASSES)
    ours.load_state_dict(convert(theirs.state_dict(), {}, "yolox.pth").state_dict)
    height, width = args.hw
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, YOLOX-{args.size}, {height}x{width}")
    generator = torch.Generator().manual_seed(0)
    if args.skip != "train":
        images = torch.rand(args.batch_size, 3, height, width, generator=generator) * 255
        targets = [_targets(20, height, width, generator) for _ in range(args.batch_size)]
        _compare_train(ours, theirs, images, targets, args.iters)
    if args.skip != "test":
        image = torch.rand(1, 3, height, width, generator=generator) * 255
        _compare_inference(ours, theirs, image, args.iters, exp)


def _compare_train(
    ours: YOLOX, theirs: torch.nn.Module, images: torch.Tensor, targets: list[Targets], iters: int
) -> None:
    labels = _megvii_labels(targets)
    sizes = [tuple(images.shape[-2:])] * len(targets)
    ours.train().enable_l1_loss()
    theirs.train()
    theirs.head.use_l1 = True

    def ours_step() -> None:
        ours.zero_grad(set_to_none=True)
        losses, _ = ours.losses(ours.extract_features(images), sizes, targets)
        torch.stack(list(losses.values())).sum().backward()

    def theirs_step() -> None:
        theirs.zero_grad(set_to_none=True)
        theirs(images, labels)["total_loss"].backward()

    name = f"train step (batch {len(targets)}, {images.shape[2]}x{images.shape[3]}, L1 on)"
    paired.compare(name, ours_step, theirs_step, iters, "megvii")


def _compare_inference(ours: YOLOX, theirs: torch.nn.Module, image: torch.Tensor, iters: int, exp: object) -> None:
    ours.eval()
    theirs.eval()
    ours.fold_batch_norm()  # what test, predict and the Python API do
    sizes = [tuple(image.shape[-2:])]

    def ours_test() -> None:
        with torch.no_grad():
            ours.detect(ours.extract_features(image), sizes)

    def theirs_test(model: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            with torch.no_grad():
                postprocess(model(image), NUM_CLASSES, 0.01, 0.65)

        return run

    name = f"inference (1 image, {image.shape[2]}x{image.shape[3]})"
    paired.compare(name, ours_test, theirs_test(theirs), iters, "megvii")
    paired.compare(name, ours_test, theirs_test(fuse_model(theirs)), iters, "megvii --fuse")


if __name__ == "__main__":
    main()
