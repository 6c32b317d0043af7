"""Per-frame tracking time of every vis4d tracker, side by side with boxmot's implementation of the same one.

The same scene goes to both: ``--objects`` objects (100 and 1000 by default)
walking in a 1080p frame (4K for 1000, so they are not all on top of each
other), detected with jittered boxes, scores from 0.35 to 0.95, 5 % missed
detections and 2 % false positives, and a 256-d appearance embedding each
(fixed per object, plus noise). Each tracker runs ``--frames`` frames; the
first ``--warmup`` (tracks being born) are not timed; the figure is the
median time of one ``update`` call.

vis4d's side is the public call a model makes: ``tracker(boxes, scores,
class_ids, embeddings, frame_index, context)`` on torch tensors, conversions
included. boxmot's side runs in its own Python (``--boxmot-python``: a
virtualenv with ``boxmot``; default ``$VIS4D_BOXMOT_PYTHON``) as a subprocess
of this script, timing its trackers' numpy kernel call
(``BaseTracker._update_arrays``, what ``update`` calls after parsing its
input). boxmot has no SORT; SORT is compared with the authors' ``sort.py``
(``--sort-py``, needs ``filterpy``), run by that same Python. Camera-motion
compensation is off on both sides (it costs the same OpenCV calls on both);
BoT-SORT and Deep OC-SORT use the given embeddings. Without another Python
the vis4d figures are printed alone.

Usage: python benchmarks/bench_trackers.py [--objects 100 1000] [--frames 60] [--warmup 10]
       [--threads 1] [--boxmot-python PATH] [--sort-py PATH] [--trackers ...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OURS = ("bytetrack", "sort", "ocsort", "botsort", "deepocsort", "iou", "qdtrack")
THEIRS = {"bytetrack": "boxmot ByteTrack", "ocsort": "boxmot OcSort", "botsort": "boxmot BotSort",
          "deepocsort": "boxmot DeepOcSort", "sort": "authors' sort.py"}  # fmt: skip
APPEARANCE = ("botsort", "deepocsort", "qdtrack")
DIM = 256


def make_scene(num: int, frames: int, seed: int = 0) -> dict[str, Any]:
    """Detections of ``num`` walking objects over ``frames`` frames: lists of (boxes, scores, embeddings) arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    width, height = (1920, 1080) if num <= 200 else (3840, 2160)
    scale = 1.5 if num <= 200 else 1.0
    w = rng.uniform(20, 60, num) * scale
    h = w * rng.uniform(1.5, 2.5, num)
    x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
    vx, vy = rng.normal(0, 2, num), rng.normal(0, 1, num)
    level = rng.uniform(0.35, 0.95, num)
    identity = rng.normal(size=(num, DIM))
    out: dict[str, Any] = {"boxes": [], "scores": [], "embeddings": []}
    for _ in range(frames):
        x, y = x + vx, y + vy
        vx[(x < 0) | (x > width - w)] *= -1
        vy[(y < 0) | (y > height - h)] *= -1
        seen = rng.random(num) > 0.05
        boxes = np.stack([x, y, x + w, y + h], axis=1)[seen] + rng.normal(0, 1, (int(seen.sum()), 4))
        scores = np.clip(level[seen] + rng.normal(0, 0.05, int(seen.sum())), 0.05, 0.99)
        embeds = identity[seen] + rng.normal(0, 0.3, (int(seen.sum()), DIM))
        fps = rng.poisson(0.02 * num)
        fx, fy = rng.uniform(0, width - 60, fps), rng.uniform(0, height - 120, fps)
        boxes = np.concatenate([boxes, np.stack([fx, fy, fx + 40, fy + 90], axis=1)])
        scores = np.concatenate([scores, rng.uniform(0.1, 0.7, fps)])
        embeds = np.concatenate([embeds, rng.normal(size=(fps, DIM))])
        embeds /= np.linalg.norm(embeds, axis=1, keepdims=True)
        out["boxes"].append(boxes.astype(np.float32))
        out["scores"].append(scores.astype(np.float32))
        out["embeddings"].append(embeds.astype(np.float32))
    return out


def vis4d_config(name: str) -> Any:
    """The tracker's config with boxmot's settings where they differ from ours (camera motion off)."""
    from vis4d.config.schema import TRACKER_CONFIGS

    extra: dict[str, Any] = {"cmc_method": "none"} if name in ("botsort", "deepocsort") else {}
    return TRACKER_CONFIGS[name].model_validate({"type": name, **extra})


def time_vis4d(name: str, scene: dict[str, Any], warmup: int) -> list[float]:
    """Seconds per timed frame of vis4d's tracker ``name`` on ``scene``."""
    import torch

    from vis4d.model.track.context import FrameContext
    from vis4d.model.track.graphs import build_graph

    graph = build_graph(vis4d_config(name))
    times = []
    for k, (boxes, scores, embeds) in enumerate(zip(scene["boxes"], scene["scores"], scene["embeddings"])):
        inputs = (torch.from_numpy(boxes), torch.from_numpy(scores), torch.zeros(len(scores), dtype=torch.int64))
        embeddings = torch.from_numpy(embeds) if name in APPEARANCE else None
        context = FrameContext(frame_index=k)
        start = time.perf_counter()
        graph(*inputs, embeddings, k, context)
        times.append(time.perf_counter() - start)
    return times[warmup:]


# ------------------------------------------------------------------------------ the other side (own Python)
def worker(name: str, scene_path: str, warmup: int, sort_py: str | None) -> None:
    """Run in boxmot's Python: time its ``name`` tracker on the saved scene, print the times as JSON."""
    import numpy as np

    data = np.load(scene_path)
    frames = int(data["frames"])
    tracker, call = _other_tracker(name, sort_py)
    times = []
    for k in range(frames):
        boxes, scores, embeds = data[f"boxes{k}"], data[f"scores{k}"], data[f"embeddings{k}"]
        start = time.perf_counter()
        call(tracker, boxes, scores, embeds)
        times.append(time.perf_counter() - start)
    print(json.dumps({"times": times[warmup:], "version": _other_version(name)}))


def _other_version(name: str) -> str:
    if name == "sort":
        return "abewley/sort"
    import boxmot

    return f"boxmot {boxmot.__version__}"


def _other_tracker(name: str, sort_py: str | None) -> tuple[Any, Any]:
    import numpy as np

    if name == "sort":
        import importlib.util
        import types

        for stub in ("matplotlib", "matplotlib.pyplot", "matplotlib.patches", "skimage", "skimage.io"):
            sys.modules[stub] = types.ModuleType(stub)
        sys.modules["matplotlib"].use = lambda *a, **k: None  # type: ignore[attr-defined]
        spec = importlib.util.spec_from_file_location("sort", str(sort_py))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Sort(max_age=1, min_hits=3, iou_threshold=0.3), (
            lambda t, b, s, e: t.update(np.concatenate([b, s[:, None]], axis=1).astype(np.float64))
        )
    from boxmot.trackers.box.botsort.tracker import BotSort
    from boxmot.trackers.box.bytetrack.tracker import ByteTrack
    from boxmot.trackers.box.deepocsort.tracker import DeepOcSort
    from boxmot.trackers.box.ocsort.tracker import OcSort

    made = {
        "bytetrack": lambda: ByteTrack(track_thresh=0.5, match_thresh=0.8, track_buffer=30),
        "ocsort": lambda: OcSort(det_thresh=0.6, max_age=30, min_hits=3, iou_threshold=0.3),
        "botsort": lambda: BotSort(track_high_thresh=0.6, new_track_thresh=0.7, use_cmc=False, use_embeddings=True),
        "deepocsort": lambda: DeepOcSort(det_thresh=0.6, cmc_off=True, use_embeddings=True, w_association_emb=0.75),
    }[name]()
    made._prediction_dt = None
    embeds_used = name in ("botsort", "deepocsort")

    def call(tracker: Any, boxes: Any, scores: Any, embeds: Any) -> None:
        tracker._update_arrays(
            geometry=boxes, scores=scores, class_ids=np.zeros(len(scores), dtype=np.int64), sample_id=None,
            frame=None, embeddings=embeds if embeds_used else None, masks=None, mask_image_size=None,
            numpy_output=True, prepared_bgr=None,
        )  # fmt: skip

    return made, call


def time_other(name: str, scene: dict[str, Any], args: argparse.Namespace) -> tuple[list[float], str] | None:
    """Times of the other implementation of ``name``, run by ``args.boxmot_python``; None where there is none."""
    import numpy as np

    if name not in THEIRS or not args.boxmot_python or not Path(args.boxmot_python).exists():
        return None
    if name == "sort" and not (args.sort_py and Path(args.sort_py).exists()):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.npz"
        arrays = {f"{key}{k}": v for key in ("boxes", "scores", "embeddings") for k, v in enumerate(scene[key])}
        np.savez(path, frames=len(scene["boxes"]), **arrays)
        command = [args.boxmot_python, __file__, "--worker", name, "--scene", str(path), "--warmup",
                   str(args.warmup), "--sort-py", str(args.sort_py)]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ.copy())
    if result.returncode != 0:
        print(f"   ({name}: the other side failed: {result.stderr.strip().splitlines()[-1:]})")
        return None
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["times"], answer["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="Threads of numpy/torch on both sides.")
    parser.add_argument("--trackers", nargs="+", default=list(OURS), choices=OURS)
    parser.add_argument("--boxmot-python", default=os.environ.get("VIS4D_BOXMOT_PYTHON"))
    parser.add_argument("--sort-py", default=os.environ.get("VIS4D_SORT_PY"), help="The authors' sort.py.")
    parser.add_argument("--quick", action="store_true", help="12 frames, 100 and 300 objects: seconds.")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scene", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.worker:
        worker(args.worker, args.scene, args.warmup, args.sort_py)
        return
    if args.quick:
        args.objects, args.frames, args.warmup = [100, 300], 12, 4
    import torch

    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}; frames {args.frames} (first {args.warmup} not timed); median ms per frame")
    print(f"{'tracker':<11} {'dets':>5} {'vis4d':>9} {'other':>9} {'ratio':>6}  other implementation")
    for num in args.objects:
        scene = make_scene(num, args.frames)
        dets = statistics.mean(len(s) for s in scene["scores"])
        for name in args.trackers:
            ours = statistics.median(time_vis4d(name, scene, args.warmup)) * 1e3
            other = time_other(name, scene, args)
            if other is None:
                print(f"{name:<11} {dets:5.0f} {ours:9.3f} {'-':>9} {'-':>6}")
                continue
            theirs = statistics.median(other[0]) * 1e3
            print(f"{name:<11} {dets:5.0f} {ours:9.3f} {theirs:9.3f} {ours / theirs:6.2f}  {other[1]}")


if __name__ == "__main__":
    main()
