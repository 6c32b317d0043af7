"""Compare vis4d's Faster R-CNN R50-FPN with torchvision's on one training step and one inference pass.

Both models get the same images, ground truth, thread count and matched
settings: ResNet-50 + FPN (256) from scratch with trainable batch norm, 2000
pre-NMS / 1000 post-NMS proposals in training, 1000 / 1000 at test, 256
anchors and 512 RoIs (25 % positive) sampled per image, two 1024-wide FCs,
score threshold 0.05, NMS 0.5, 100 detections.  torchvision's internal
resize is disabled (the images already have the benchmark size) and its
normalisation is the identity, so both see the same pixels.

torchvision's weights are copied into ours, so both do the same work (in
eval mode they return the same detections; the benchmark prints how many
each returns and the largest box difference).  Ours runs as ``vis4d test``
and ``predict`` run it: channels-last, and at inference with batch norm
folded into the convolutions (:meth:`FPNBackbone.fold_batch_norm`);
torchvision's as it ships.  Runs alternate between the two models; after
one warm-up each, the median of ``--iters`` runs is printed with the ratio
ours / torchvision (< 1: faster), and the median ratio of back-to-back
pairs (robust to load from other processes).  Each ``--sizes`` entry (default:
the BDD100K test size 720x1280, then 384x640) gets a training step and an
inference pass.

    python benchmarks/bench_detector.py --threads 2 --iters 3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import paired  # benchmarks/paired.py, beside this script
import torch
import torchvision
from torch.nn import functional as F
from torchvision.models.detection import FasterRCNN as TorchvisionFasterRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor

from vis4d.common.structures import Batch, FrameMeta, Targets
from vis4d.config.schema import (
    BackboneConfig,
    DetectorModelConfig,
    FasterRCNNDetectorConfig,
    RoIHeadConfig,
    RPNConfig,
)
from vis4d.model.detection import DetectionModel
from vis4d.model.weights.torchvision import convert_detection

NUM_CLASSES = 8  # BDD100K tracking classes
SIZE_DIVISOR = 32  # torchvision's detector pads its batch to this; 720x1280 runs as 736x1280


def _random_targets(count: int, height: int, width: int, generator: torch.Generator) -> Targets:
    top_left = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.8, height * 0.8])
    size = torch.rand(count, 2, generator=generator) * torch.tensor([width * 0.3, height * 0.3]) + 8
    boxes = torch.cat((top_left, top_left + size), dim=1)
    boxes[:, 2] = boxes[:, 2].clamp(max=width)
    boxes[:, 3] = boxes[:, 3].clamp(max=height)
    classes = torch.randint(0, NUM_CLASSES, (count,), generator=generator)
    return Targets(boxes, classes, torch.arange(count), torch.zeros(count, dtype=torch.bool))


def _batch(batch_size: int, height: int, width: int, device: torch.device, seed: int) -> Batch:
    """Images of ``height x width`` zero-padded to a multiple of 32, as our data handler and torchvision pad them."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch_size, 3, height, width, generator=generator)
    images = F.pad(images, (0, -width % SIZE_DIVISOR, 0, -height % SIZE_DIVISOR))
    targets = [_random_targets(10, height, width, generator) for _ in range(batch_size)]
    meta = [FrameMeta(f"img{i}", "bench", i, "", (height, width), (height, width)) for i in range(batch_size)]
    return Batch(images, targets, meta).to(device)


@dataclass(frozen=True)
class Setting:
    """What both models are built with: the BDD100K recipe's sizes, or the smoke run's (``--quick``)."""

    backbone: str = "resnet50"
    pre_nms_train: int = 2000  # RPN: best anchors per level before NMS, in training
    post_nms_train: int = 1000  # RPN: proposals kept per image after NMS, in training
    proposals_test: int = 1000  # RPN at inference: before and after NMS
    rois: int = 512  # RoIs sampled per image for the box head


# --quick checks the path (build, copy the weights, train, detect the same boxes), not the speed: a ResNet-18 and a
# tenth of the proposals and RoIs, so that the box head's 1024-wide FCs do not dominate a 128x192 image.
QUICK = Setting(backbone="resnet18", pre_nms_train=200, post_nms_train=100, proposals_test=100, rois=64)


def _ours(device: torch.device, setting: Setting) -> DetectionModel:
    detector = FasterRCNNDetectorConfig(
        backbone=BackboneConfig(type=setting.backbone),  # type: ignore[arg-type]
        rpn=RPNConfig(pre_nms_top_n_train=setting.pre_nms_train, post_nms_top_n_train=setting.post_nms_train,
                      pre_nms_top_n_test=setting.proposals_test, post_nms_top_n_test=setting.proposals_test),
        roi_head=RoIHeadConfig(batch_size_per_image=setting.rois),
    )  # fmt: skip
    return DetectionModel(DetectorModelConfig(detector=detector), NUM_CLASSES).to(device)


def _torchvision(device: torch.device, height: int, width: int, setting: Setting) -> TorchvisionFasterRCNN:
    # torchvision's fasterrcnn_resnet50_fpn without weights: trainable batch norm, all five stages trained.
    resnet = getattr(torchvision.models, setting.backbone)(weights=None, norm_layer=torch.nn.BatchNorm2d)
    model = TorchvisionFasterRCNN(
        _resnet_fpn_extractor(resnet, trainable_layers=5),
        num_classes=NUM_CLASSES + 1,  # + background
        min_size=height,
        max_size=width,
        image_mean=[0.0, 0.0, 0.0],  # our inputs are normalised already; both models see the same pixels
        image_std=[1.0, 1.0, 1.0],
        rpn_pre_nms_top_n_train=setting.pre_nms_train,
        rpn_post_nms_top_n_train=setting.post_nms_train,
        rpn_pre_nms_top_n_test=setting.proposals_test,
        rpn_post_nms_top_n_test=setting.proposals_test,
        rpn_batch_size_per_image=256,
        box_batch_size_per_image=setting.rois,
        box_positive_fraction=0.25,
        box_score_thresh=0.05,
        box_nms_thresh=0.5,
        box_detections_per_img=100,
    )
    # Images already have the benchmark size: skip the resize like vis4d does.
    model.transform.resize = lambda image, target=None: (image, target)  # type: ignore[method-assign]
    return model.to(device)


def _timed(step: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _compare(name: str, ours: Callable[[], None], theirs: Callable[[], None], iters: int, device: torch.device,
             warmup: bool) -> None:  # fmt: skip
    paired.compare(name, ours, theirs, iters, "torchvision", lambda step: _timed(step, device), warmup=warmup)


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3, help="timed runs per model after one warm-up")
    parser.add_argument("--batch-size", type=int, default=2, help="training batch size")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[720, 1280, 384, 640], metavar="H W", help="image sizes, H W pairs"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip", choices=["train", "test"], default=None)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run (the docs test): R18, a tenth of the proposals and RoIs, 128x192, 1 run "
                             "without warm-up, batch 1")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.iters, args.batch_size = [128, 192], 1, 1
    if len(args.sizes) % 2:
        parser.error("--sizes takes pairs: H W [H W ...]")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    setting = QUICK if args.quick else Setting()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    for height, width in zip(args.sizes[::2], args.sizes[1::2], strict=True):
        torch.manual_seed(0)
        ours = _ours(device, setting)
        theirs = _torchvision(device, height, width, setting)
        # Same weights: both models then propose, sample and detect the same amount (identical detections in eval).
        ours.detector.load_state_dict(convert_detection(theirs.state_dict()).state_dict)
        if args.skip != "train":
            _compare_train(ours, theirs, args.batch_size, height, width, args.iters, device, not args.quick)
        if args.skip != "test":
            _compare_inference(ours, theirs, height, width, args.iters, device, not args.quick)


def _compare_train(
    ours: DetectionModel,
    theirs: TorchvisionFasterRCNN,
    batch_size: int,
    height: int,
    width: int,
    iters: int,
    device: torch.device,
    warmup: bool,
) -> None:
    batch = _batch(batch_size, height, width, device, seed=0)
    tv_images = [image[:, :height, :width] for image in batch.images]
    tv_targets = [{"boxes": t.boxes, "labels": t.class_ids + 1} for t in batch.targets]
    ours.train()
    theirs.train()

    def ours_train() -> None:
        ours.zero_grad(set_to_none=True)
        torch.stack(list(ours.loss(batch).values())).sum().backward()

    def theirs_train() -> None:
        theirs.zero_grad(set_to_none=True)
        torch.stack(list(theirs(tv_images, tv_targets).values())).sum().backward()

    _compare(f"train step (batch {batch_size}, {height}x{width})", ours_train, theirs_train, iters, device, warmup)


def _compare_inference(
    ours: DetectionModel,
    theirs: TorchvisionFasterRCNN,
    height: int,
    width: int,
    iters: int,
    device: torch.device,
    warmup: bool,
) -> None:
    batch = _batch(1, height, width, device, seed=1)
    tv_images = [image[:, :height, :width] for image in batch.images]
    theirs.transform.min_size = (height,)
    theirs.transform.max_size = width
    ours.eval()
    theirs.eval()
    ours.fold_batch_norm()  # what test, predict and the Python API do

    def ours_test() -> None:
        with torch.no_grad():
            ours.predict(batch)

    def theirs_test() -> None:
        with torch.no_grad():
            theirs(tv_images)

    with torch.no_grad():
        mine, (their,) = ours.predict(batch)[0], theirs(tv_images)
    print(f"detections at {height}x{width}: vis4d {len(mine.boxes)}, torchvision {len(their['boxes'])}, "
          f"{_difference(mine.boxes, mine.scores, mine.class_ids, their)}")  # fmt: skip
    print(_anchor_note(*batch.images.shape[-2:]))
    _compare(f"inference (1 image, {height}x{width})", ours_test, theirs_test, iters, device, warmup)


def _difference(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor, their: dict) -> str:
    """How far apart the two models' detections are, each of ours paired with the nearest of theirs of its class.

    Pairing by position in the score order would report a whole box's size
    whenever two near-tied detections trade places.
    """
    their_classes = their["labels"] - 1  # torchvision counts the background as class 0
    same_class = class_ids[:, None] == their_classes[None, :]
    distance = (boxes[:, None, :] - their["boxes"][None, :, :]).abs().amax(dim=2).masked_fill(~same_class, float("inf"))
    nearest = distance.min(dim=1)
    if len(boxes) == 0 or not torch.isfinite(nearest.values).all():
        return "some detections have no counterpart of their class"
    score_gap = (scores - their["scores"][nearest.indices]).abs().max().item()
    return f"each nearest same-class pair within {nearest.values.max().item():.2g} px and {score_gap:.2g} in score"


def _anchor_note(padded_height: int, padded_width: int) -> str:
    """Why detections can differ: torchvision derives each level's anchor stride as image size // feature size."""
    odd = []
    for log2_stride in range(2, 7):  # p2..p6
        feature_h, feature_w = -(-padded_height >> log2_stride), -(-padded_width >> log2_stride)  # ceil
        theirs = (padded_height // feature_h, padded_width // feature_w)
        if theirs != (1 << log2_stride,) * 2:
            odd.append(f"p{log2_stride} at stride {theirs[0]}x{theirs[1]} instead of {1 << log2_stride}")
    if not odd:
        return "  (same anchors: the detections must agree up to float rounding)"
    return (
        f"  (at {padded_height}x{padded_width} torchvision places its {', '.join(odd)}, so the two detect "
        "different boxes; at sizes divisible by 64, e.g. 768x1280, they agree up to float rounding)"
    )


if __name__ == "__main__":
    main()
