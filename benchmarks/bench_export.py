"""onnxruntime against PyTorch on the CPU: the same exported QDTrack graph, the same real frame.

The model is QDTrack with the paper's BDD100K settings (``QDTrackConfig``
defaults: 1000 proposals, score threshold 0.05, 100 detections, a 256-d
embedding head) on a ResNet-50 (or ``--backbone resnet18``) FPN, randomly
initialised (the timings do not depend on the weights; a random head scores
every class near 1/9, so frames carry the full 100 detections). PyTorch runs
:class:`~vis4d.model.export.ExportableDetector` eagerly as ``predict`` runs
the model (eval mode, batch norm folded, channels-last, inference mode):
detector plus the embedding of every detection, exactly what the graph
computes. onnxruntime runs the file ``vis4d export`` writes, through
:func:`vis4d.model.exported.open_exported` as ``predict --backend onnxruntime``
does. Both get the first frame of ``assets/bdd100k_sample``, resized to each
``--size``, normalised and padded to a multiple of 32.

After one warm-up each, runs alternate between the two; the table has the
median seconds per frame, the ratio onnxruntime / PyTorch (< 1: onnxruntime
is faster), and how far the outputs are apart (detections matched by order).
Both use their default thread counts (the machine's cores).

    python benchmarks/bench_export.py --backbone resnet50 --size 720,1280 --size 384,640 --iters 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import torch
import torch.nn.functional as F

from vis4d.config.schema import BackboneConfig, FasterRCNNDetectorConfig, QDTrackConfig, RPNConfig
from vis4d.model.export import ExportableDetector, export_metadata, export_model
from vis4d.model.exported import open_exported
from vis4d.model.track.qdtrack import QDTrack

ROOT = Path(__file__).resolve().parents[1]
FRAME = ROOT / "assets/bdd100k_sample/images/b1c66a42-6f7d68ca/b1c66a42-6f7d68ca-0000001.jpg"
CATEGORIES = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)  # ImageNet, RGB, 0-255


def _frame(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real frame resized to (height, width), normalised and padded to a multiple of 32; and its size."""
    rgb = cv2.cvtColor(cv2.imread(str(FRAME)), cv2.COLOR_BGR2RGB)
    rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    image = (torch.from_numpy(rgb).permute(2, 0, 1).float() - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[
        :, None, None
    ]
    pad_h, pad_w = (-height) % 32, (-width) % 32
    return F.pad(image, (0, pad_w, 0, pad_h))[None].contiguous(), torch.tensor([height, width])


def _time(run: object, *inputs: torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    start = time.perf_counter()
    outputs = run(*inputs)  # type: ignore[operator]
    return time.perf_counter() - start, list(outputs)


def _difference(reference: list[torch.Tensor], other: list[torch.Tensor]) -> str:
    if reference[0].shape != other[0].shape:
        return f"counts differ: {len(reference[0])} vs {len(other[0])}"
    names = ("boxes", "scores", "embeddings")
    diffs = [(a.float() - b.float()).abs().max().item() if a.numel() else 0.0 for a, b in
             zip([reference[i] for i in (0, 1, 3)], [other[i] for i in (0, 1, 3)])]  # fmt: skip
    classes = bool((reference[2] == other[2]).all())
    return (
        f"N={len(reference[0])}, "
        + ", ".join(f"{n} {d:.1e}" for n, d in zip(names, diffs))
        + f", classes equal {classes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="resnet50", choices=["resnet50", "resnet18"])
    parser.add_argument("--size", action="append", help="H,W (repeatable; default 720,1280 and 384,640)")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run (the docs test): R18, 100 proposals, 128x192, 1 run")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.backbone, args.size, args.iters = "resnet18", ["128,192"], 1
    sizes = [tuple(int(v) for v in s.split(",")) for s in (args.size or ["720,1280", "384,640"])]

    torch.manual_seed(0)
    # --quick: a tenth of the proposals (the box head's FCs on 1000 RoIs would dominate a 128x192 frame).
    proposals = 100 if args.quick else RPNConfig().post_nms_top_n_test
    rpn = RPNConfig(pre_nms_top_n_test=proposals, post_nms_top_n_test=proposals)
    cfg = QDTrackConfig(detector=FasterRCNNDetectorConfig(backbone=BackboneConfig(type=args.backbone), rpn=rpn))
    model = QDTrack(cfg, len(CATEGORIES)).eval()
    model.fold_batch_norm()
    wrapper = ExportableDetector(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        start = time.perf_counter()
        export_model(wrapper, export_metadata(wrapper, cfg.model_dump(mode="json"), CATEGORIES), path, "onnx")
        print(f"export: {time.perf_counter() - start:.1f} s, {path.stat().st_size / 2**20:.0f} MiB")
        runner, _ = open_exported(path, "onnxruntime")
        print(f"QDTrack {args.backbone}-FPN, CPU: torch {torch.__version__} ({torch.get_num_threads()} threads), "
              f"onnxruntime {__import__('onnxruntime').__version__}, {os.cpu_count()} cores")  # fmt: skip
        print(f"{'size':>10}  {'pytorch s':>9}  {'onnxrt s':>9}  {'ort/pt':>6}  outputs")
        for height, width in sizes:
            image, size = _frame(height, width)
            times: dict[str, list[float]] = {"torch": [], "ort": []}
            with torch.inference_mode():
                _, reference = _time(wrapper, image, size)  # warm-up
                _, ours = _time(runner, image, size)
                for _ in range(args.iters):
                    times["torch"].append(_time(wrapper, image, size)[0])
                    times["ort"].append(_time(runner, image, size)[0])
            pt, ort = statistics.median(times["torch"]), statistics.median(times["ort"])
            print(f"{height:>4}x{width:<5}  {pt:9.3f}  {ort:9.3f}  {ort / pt:6.2f}  {_difference(reference, ours)}")


if __name__ == "__main__":
    main()
