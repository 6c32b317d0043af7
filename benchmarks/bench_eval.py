"""Evaluation speed at BDD100K-val scale against the reference packages (not a test).

    python benchmarks/bench_eval.py                 # 200 videos x 200 frames (minutes: TrackEval, pycocotools)
    python benchmarks/bench_eval.py --videos 20     # quick

Synthetic data shaped like BDD100K MOT val: 8 classes, ~20 boxes per frame,
crowd regions; predictions perturbed from the ground truth with misses,
jitter, id switches, class flips and false positives. Times:

* detection: ``evaluate_detection`` (from stores) vs pycocotools and
  faster-coco-eval (COCO + loadRes + evaluate + accumulate + summarize; the
  per-box dicts they need are built beforehand and timed separately);
* TETA and all four tracking metrics together (``bench_eval_teta.py``), and
  SysCV's reference TETA on ``--teta-videos`` videos (``--teta-python``,
  ``--teta-src``); with ``--files`` loading and evaluation from Scalabel JSON
  files against plain ``json.load`` of them;
* tracking: ``evaluate_tracking`` (from stores, including IoUs and ignore
  preprocessing) vs TrackEval's CLEAR + Identity + HOTA ``eval_sequence`` and
  combination (timed alone; its IoUs and BDD100K preprocessing are timed
  separately), and vs motmetrics (MOTA/IDF1 pipeline, on ``--mm-videos``
  videos because it is slow).

Every comparison asserts the same numbers (1e-6).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_eval_teta import Row, from_files, teta_rows, timed_cpu  # benchmarks/ (the script's folder) is on the path

from vis4d.data.store import AnnotationStore
from vis4d.eval.detect import METRIC_NAMES, evaluate_detection, xyxy_to_xywh
from vis4d.eval.track import evaluate_tracking

CLASSES = ("pedestrian", "rider", "car", "bus", "truck", "train", "motorcycle", "bicycle")
CLASS_FREQ = np.array([0.2, 0.03, 0.55, 0.03, 0.08, 0.01, 0.04, 0.06])
TRACKEVAL_CLASS_ID = {"pedestrian": 1, "rider": 2, "car": 4, "bus": 5, "truck": 6, "train": 7, "motorcycle": 10,
                      "bicycle": 11}  # fmt: skip
WIDTH, HEIGHT = 1280, 720


# ------------------------------------------------------------------------------------------------------- data
def _store(video_names: list[str], num_frames: int, frame_of_box: np.ndarray, columns: dict[str, np.ndarray],
           prefix: str = "") -> AnnotationStore:  # fmt: skip
    """A store with every frame of every video; boxes must be sorted by frame."""
    num_videos = len(video_names)
    total = num_videos * num_frames
    counts = np.bincount(frame_of_box, minlength=total)
    frame_video = np.repeat(np.arange(num_videos), num_frames)
    frame_idx = np.tile(np.arange(num_frames), num_videos)
    names = np.char.add(np.char.add(np.asarray(video_names)[frame_video], "-"), np.char.zfill(frame_idx.astype(str), 7))
    names = np.char.add(names, ".jpg")
    return AnnotationStore(
        categories=CLASSES,
        video_names=np.asarray(video_names),
        video_offsets=np.arange(num_videos + 1, dtype=np.int64) * num_frames,
        frame_names=names,
        image_paths=np.char.add(prefix, names),
        frame_index=frame_idx.astype(np.int64),
        widths=np.full(total, WIDTH, np.int32),
        heights=np.full(total, HEIGHT, np.int32),
        box_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        **columns,
    )


def make_data(num_videos: int, num_frames: int, seed: int) -> tuple[AnnotationStore, AnnotationStore]:
    """Ground truth (~20 boxes/frame plus crowd regions) and perturbed tracking predictions."""
    rng = np.random.default_rng(seed)
    tracks_per_video = max(1, int(round(20 * num_frames / (0.55 * num_frames + 10))))
    n = num_videos * tracks_per_video
    video = np.repeat(np.arange(num_videos), tracks_per_video)
    length = rng.integers(min(20, num_frames), num_frames + 1, n)
    start = rng.integers(0, np.maximum(num_frames - length, 0) + 1)
    size = np.exp(rng.uniform(np.log(12), np.log(300), (n, 2)))
    pos = rng.uniform(0, 1, (n, 2)) * (np.array([WIDTH, HEIGHT]) - size)
    vel = rng.normal(0, 2.5, (n, 2))
    cls = rng.choice(len(CLASSES), n, p=CLASS_FREQ)
    # One row per (track, frame alive).
    track = np.repeat(np.arange(n), length)
    t = start[track] + (np.arange(len(track)) - np.repeat(np.cumsum(length) - length, length))
    xy = pos[track] + vel[track] * (t - start[track])[:, None]
    boxes = np.concatenate([xy, xy + size[track]], axis=1).astype(np.float32)
    frame = video[track] * num_frames + t
    # Crowd regions: one in ~10% of frames.
    crowd_frames = np.flatnonzero(rng.random(num_videos * num_frames) < 0.1)
    crowd_xy = rng.uniform(0, 900, (len(crowd_frames), 2))
    crowd_boxes = np.concatenate([crowd_xy, crowd_xy + rng.uniform(80, 300, (len(crowd_frames), 2))], 1)
    g_frame = np.concatenate([frame, crowd_frames])
    order = np.argsort(g_frame, kind="stable")
    num_gt = len(g_frame)
    is_crowd = np.concatenate([np.zeros(len(frame), bool), np.ones(len(crowd_frames), bool)])[order]
    gt_cols = {
        "boxes": np.concatenate([boxes, crowd_boxes.astype(np.float32)])[order],
        "class_ids": np.concatenate([cls[track], rng.choice(len(CLASSES), len(crowd_frames), p=CLASS_FREQ)])[order],
        "track_ids": np.concatenate([track - video[track] * tracks_per_video, -np.ones(len(crowd_frames), int)])[order],
        "scores": np.ones(num_gt, np.float32),
        "crowd": is_crowd,
        "ignore": is_crowd.copy(),
        "occluded": np.zeros(num_gt, bool),
        "truncated": np.zeros(num_gt, bool),
    }
    gt = _store([f"video{v:04d}" for v in range(num_videos)], num_frames, g_frame[order], gt_cols)

    # Predictions: 8% misses, jitter, id switches (30% of tracks get a new id from a random frame on), class flips,
    # ~2 false positives per frame (some inside crowd regions).
    keep = rng.random(len(track)) > 0.08
    p_track, p_t, p_frame = track[keep], t[keep], frame[keep]
    wh = (boxes[keep, 2:] - boxes[keep, :2]).astype(np.float32)
    p_boxes = boxes[keep] + (rng.normal(0, 0.05, (len(p_track), 4)) * np.tile(wh, 2)).astype(np.float32)
    switch_at = np.where(rng.random(n) < 0.3, start + rng.integers(0, np.maximum(length, 1)), num_frames + 1)
    p_ids = np.where(p_t >= switch_at[p_track], p_track + 10 * n, p_track)
    p_cls = np.where(rng.random(len(p_track)) < 0.02, rng.choice(len(CLASSES), len(p_track)), cls[p_track])
    num_fp = rng.poisson(2.0, num_videos * num_frames)
    fp_frame = np.repeat(np.arange(num_videos * num_frames), num_fp)
    fp_xy = rng.uniform(0, 1100, (len(fp_frame), 2))
    fp_boxes = np.concatenate([fp_xy, fp_xy + np.exp(rng.uniform(np.log(12), np.log(200), (len(fp_frame), 2)))], 1)
    on_crowd = rng.random(len(crowd_frames)) < 0.5
    fp_frame = np.concatenate([fp_frame, crowd_frames[on_crowd]])
    fp_boxes = np.concatenate([fp_boxes, crowd_boxes[on_crowd] + rng.normal(0, 5, (int(on_crowd.sum()), 4))])
    all_frame = np.concatenate([p_frame, fp_frame])
    order = np.argsort(all_frame, kind="stable")
    all_boxes = np.concatenate([p_boxes, fp_boxes.astype(np.float32)])
    all_boxes[:, 2:] = np.maximum(all_boxes[:, 2:], all_boxes[:, :2] + 1)
    num_pred = len(all_frame)
    pred_video = all_frame // num_frames
    local_ids = np.concatenate([p_ids - video[p_track] * tracks_per_video, 100 * n + np.arange(len(fp_frame))])
    pred_cols = {
        "boxes": all_boxes[order],
        "class_ids": np.concatenate([p_cls, rng.choice(len(CLASSES), len(fp_frame), p=CLASS_FREQ)])[order],
        "track_ids": local_ids[order].astype(np.int64),
        "scores": np.concatenate([rng.beta(5, 2, len(p_track)), rng.beta(2, 5, len(fp_frame))])[order].astype(
            np.float32
        ),
        "crowd": np.zeros(num_pred, bool),
        "ignore": np.zeros(num_pred, bool),
        "occluded": np.zeros(num_pred, bool),
        "truncated": np.zeros(num_pred, bool),
    }
    del pred_video
    pred = _store([f"video{v:04d}" for v in range(num_videos)], num_frames, all_frame[order], pred_cols)
    gt.validate()
    pred.validate()
    return gt, pred


def subset(store: AnnotationStore, num_videos: int, drop_ignored: bool = False) -> AnnotationStore:
    """The first ``num_videos`` videos (optionally without ignore regions)."""
    frames = int(store.video_offsets[num_videos])
    boxes = int(store.box_offsets[frames])
    keep = np.ones(boxes, bool) if not drop_ignored else ~store.ignore[:boxes]
    counts = np.bincount(store.box_frame_ids()[:boxes][keep], minlength=frames)
    cols = {k: getattr(store, k)[:boxes][keep] for k in
            ("boxes", "class_ids", "track_ids", "scores", "crowd", "ignore", "occluded", "truncated")}  # fmt: skip
    return AnnotationStore(
        categories=store.categories, video_names=store.video_names[:num_videos],
        video_offsets=store.video_offsets[: num_videos + 1], frame_names=store.frame_names[:frames],
        image_paths=store.image_paths[:frames], frame_index=store.frame_index[:frames],
        widths=store.widths[:frames], heights=store.heights[:frames],
        box_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), **cols,
    )  # fmt: skip


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    out, wall, _ = timed_cpu(fn)
    return out, wall


# -------------------------------------------------------------------------------------------------- detection
def coco_inputs(gt: AnnotationStore, pred: AnnotationStore) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """COCO dataset dict and results list, built once from arrays converted with ``tolist``."""
    gt_xywh = xyxy_to_xywh(gt.boxes)
    area = (gt_xywh[:, 2] * gt_xywh[:, 3]).tolist()
    dataset = {
        "images": [{"id": i + 1} for i in range(gt.num_frames)],
        "categories": [{"id": k + 1, "name": n} for k, n in enumerate(gt.categories)],
        "annotations": [
            {"id": j + 1, "image_id": img + 1, "category_id": c + 1, "bbox": b, "area": a, "iscrowd": int(cr)}
            for j, (img, c, b, a, cr) in enumerate(zip(gt.box_frame_ids().tolist(), gt.class_ids.tolist(),
                                                       gt_xywh.tolist(), area, gt.ignore.tolist(), strict=True))
        ],
    }  # fmt: skip
    results = [
        {"image_id": img + 1, "category_id": c + 1, "bbox": b, "score": s}
        for img, c, b, s in zip(pred.box_frame_ids().tolist(), pred.class_ids.tolist(),
                                xyxy_to_xywh(pred.boxes).tolist(), pred.scores.astype(float).tolist(), strict=True)
    ]  # fmt: skip
    return dataset, results


def run_cocoeval(engine: str, dataset: dict[str, Any], results: list[dict[str, Any]]) -> np.ndarray:
    if engine == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats[: len(METRIC_NAMES)])


# --------------------------------------------------------------------------------------------------- TrackEval
def trackeval_raw(gt: AnnotationStore, pred: AnnotationStore) -> list[dict[str, Any]]:
    """Per video: TrackEval BDD100K raw data (what its loader returns before similarities), from the stores."""
    class_ids = np.array([TRACKEVAL_CLASS_ID[c] for c in CLASSES])
    raws = []
    g_frames, p_frames = gt.box_frame_ids(), pred.box_frame_ids()
    for v in range(gt.num_videos):
        f0, f1 = int(gt.video_offsets[v]), int(gt.video_offsets[v + 1])
        g_lo, g_hi = int(gt.box_offsets[f0]), int(gt.box_offsets[f1])
        p_lo, p_hi = int(pred.box_offsets[f0]), int(pred.box_offsets[f1])
        g_split = np.searchsorted(g_frames[g_lo:g_hi], np.arange(f0 + 1, f1))
        p_split = np.searchsorted(p_frames[p_lo:p_hi], np.arange(f0 + 1, f1))
        ign = gt.ignore[g_lo:g_hi]
        gb, gc, gi = gt.boxes[g_lo:g_hi].astype(float), class_ids[gt.class_ids[g_lo:g_hi]], gt.track_ids[g_lo:g_hi]
        pb, pc, pi = (
            pred.boxes[p_lo:p_hi].astype(float),
            class_ids[pred.class_ids[p_lo:p_hi]],
            pred.track_ids[p_lo:p_hi],
        )
        keep_split = np.split(~ign, g_split)
        raws.append({
            "gt_dets": [b[k] for b, k in zip(np.split(gb, g_split), keep_split, strict=True)],
            "gt_classes": [c[k] for c, k in zip(np.split(gc, g_split), keep_split, strict=True)],
            "gt_ids": [i[k] for i, k in zip(np.split(gi, g_split), keep_split, strict=True)],
            "gt_crowd_ignore_regions": [b[~k] for b, k in zip(np.split(gb, g_split), keep_split, strict=True)],
            "tracker_dets": np.split(pb, p_split), "tracker_classes": np.split(pc, p_split),
            "tracker_ids": np.split(pi, p_split), "num_timesteps": f1 - f0,
        })  # fmt: skip
    return raws


def run_trackeval(raws: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, float]]:
    import trackeval

    dataset = trackeval.datasets.BDD100K.__new__(trackeval.datasets.BDD100K)  # only its preprocessing is used
    dataset.class_name_to_class_id = {**TRACKEVAL_CLASS_ID, "other person": 3, "trailer": 8, "other vehicle": 9}
    metrics = [trackeval.metrics.CLEAR({"PRINT_CONFIG": False}), trackeval.metrics.Identity({"PRINT_CONFIG": False}),
               trackeval.metrics.HOTA()]  # fmt: skip
    times = {"similarity": 0.0, "preprocess": 0.0, "metrics": 0.0}
    per_class: dict[str, dict[str, dict[int, Any]]] = {c: {m.get_name(): {} for m in metrics} for c in CLASSES}
    for v, raw in enumerate(raws):
        start = time.perf_counter()
        raw["similarity_scores"] = [dataset._calculate_similarities(g, p)
                                    for g, p in zip(raw["gt_dets"], raw["tracker_dets"], strict=True)]  # fmt: skip
        times["similarity"] += time.perf_counter() - start
        for cls in CLASSES:
            start = time.perf_counter()
            data = dataset.get_preprocessed_seq_data(raw, cls)
            mid = time.perf_counter()
            for m in metrics:
                per_class[cls][m.get_name()][v] = m.eval_sequence(data)
            end = time.perf_counter()
            times["preprocess"] += mid - start
            times["metrics"] += end - mid
    start = time.perf_counter()
    combined = {c: {m.get_name(): m.combine_sequences(per_class[c][m.get_name()]) for m in metrics} for c in CLASSES}
    combined["overall"] = {m.get_name(): m.combine_classes_det_averaged({c: combined[c][m.get_name()] for c in CLASSES})
                           for m in metrics}  # fmt: skip
    times["metrics"] += time.perf_counter() - start
    return combined, times


TRACKEVAL_FIELDS = {"MOTA": ("CLEAR", "MOTA"), "MOTP": ("CLEAR", "MOTP"), "IDSW": ("CLEAR", "IDSW"),
                    "FP": ("CLEAR", "CLR_FP"), "FN": ("CLEAR", "CLR_FN"), "MT": ("CLEAR", "MT"),
                    "Frag": ("CLEAR", "Frag"), "IDF1": ("Identity", "IDF1"), "HOTA": ("HOTA", "HOTA"),
                    "DetA": ("HOTA", "DetA"), "AssA": ("HOTA", "AssA"), "LocA": ("HOTA", "LocA")}  # fmt: skip


def max_diff_trackeval(ours: dict[str, Any], ref: dict[str, Any]) -> float:
    worst = 0.0
    for group, ref_group in [(ours["per_class"].get(c), ref[c]) for c in CLASSES] + [(ours["overall"], ref["overall"])]:
        if group is None:
            continue
        for key, (metric, field) in TRACKEVAL_FIELDS.items():
            worst = max(worst, abs(float(group[key]) - float(np.mean(ref_group[metric][field]))))
    return worst


# -------------------------------------------------------------------------------------------------- motmetrics
def run_motmetrics(gt: AnnotationStore, pred: AnnotationStore) -> dict[str, dict[str, float]]:
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]  # numpy 2
    import motmetrics as mm

    out = {}
    g_frames, p_frames = gt.box_frame_ids(), pred.box_frame_ids()
    g_split = np.searchsorted(g_frames, np.arange(1, gt.num_frames))
    p_split = np.searchsorted(p_frames, np.arange(1, pred.num_frames))
    per_frame = [np.split(a, g_split) for a in (xyxy_to_xywh(gt.boxes), gt.class_ids, gt.track_ids)]
    per_frame_p = [np.split(a, p_split) for a in (xyxy_to_xywh(pred.boxes), pred.class_ids, pred.track_ids)]
    for k, name in enumerate(CLASSES):
        accumulators = []
        for v in range(gt.num_videos):
            acc = mm.MOTAccumulator(auto_id=True)
            for f in gt.frame_range(v):
                gm, pm = per_frame[1][f] == k, per_frame_p[1][f] == k
                dist = mm.distances.iou_matrix(per_frame[0][f][gm], per_frame_p[0][f][pm], max_iou=0.5)
                acc.update(per_frame[2][f][gm], per_frame_p[2][f][pm], dist)
            accumulators.append(acc)
        names = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]
        summary = mm.metrics.create().compute_many(accumulators, metrics=names, generate_overall=True)
        out[name] = summary.loc["OVERALL"].to_dict()
    return out


def max_diff_motmetrics(ours: dict[str, Any], ref: dict[str, dict[str, float]]) -> float:
    pairs = [("MOTA", "mota"), ("IDF1", "idf1"), ("IDSW", "num_switches"), ("FP", "num_false_positives"),
             ("FN", "num_misses")]  # fmt: skip
    # Classes without ground truth: motmetrics divides by zero (MOTA -inf); TrackEval and we do not.
    with_gt = [c for c in ref if c in ours["per_class"] and ours["per_class"][c]["num_gt_dets"] > 0]
    return max(abs(float(ours["per_class"][c][a]) - float(ref[c][b])) for c in with_gt for a, b in pairs)  # fmt: skip


# -------------------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--mm-videos", type=int, default=10, help="videos for the (slow) motmetrics comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teta-python", help="python of the reference TETA's virtualenv (tests/eval/fixtures/teta)")
    parser.add_argument("--teta-src", help="the reference's teta/ folder (SysCV/tet)")
    parser.add_argument("--teta-videos", type=int, default=10, help="videos for the (slow) reference TETA")
    parser.add_argument("--files", action="store_true", help="also time evaluation from Scalabel JSON files")
    parser.add_argument("--skip", nargs="*", default=[], choices=["pycocotools", "faster", "trackeval", "motmetrics"])
    parser.add_argument("--quick", action="store_true", help="smoke run (the docs test): 4 videos x 20 frames")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.frames, args.mm_videos, args.teta_videos = 4, 20, 1, 1

    gt, pred = make_data(args.videos, args.frames, args.seed)
    print(f"data: {gt.num_videos} videos x {args.frames} frames, {int((~gt.ignore).sum())} gt boxes "
          f"({gt.num_boxes / gt.num_frames:.1f}/frame incl. {int(gt.ignore.sum())} crowd regions), "
          f"{pred.num_boxes} predictions")  # fmt: skip
    rows: list[Row] = []

    # Detection.
    det, t_det, cpu = timed_cpu(lambda: evaluate_detection(gt, pred))
    rows.append(("det", "vis4d evaluate_detection (from stores)", t_det, cpu, ""))
    ours_stats = np.array([-1.0 if det[k] is None else det[k] for k in METRIC_NAMES])
    if not {"pycocotools", "faster"} <= set(args.skip):
        (dataset, results), t_dicts = timed(lambda: coco_inputs(gt, pred))
        rows.append(("det", "  building COCO dicts for the references", t_dicts, None, ""))
        for engine, label in (("faster", "faster-coco-eval 1.x"), ("pycocotools", "pycocotools")):
            if engine in args.skip:
                continue
            stats, t_ref = timed(lambda e=engine: run_cocoeval("pycocotools" if e == "pycocotools" else "faster",
                                                               dataset, results))  # fmt: skip
            diff = float(np.abs(stats - ours_stats).max())
            assert diff < 1e-6, f"{label}: stats differ by {diff}"
            note = f"{t_ref / t_det:.1f}x slower, max |diff| {diff:.1e}"
            rows.append(("det", f"{label} (eval only)", t_ref, None, note))
        del dataset, results

    # Tracking.
    track, t_track, cpu = timed_cpu(lambda: evaluate_tracking(gt, pred))
    rows.append(("track", "vis4d evaluate_tracking (from stores)", t_track, cpu, ""))
    if "trackeval" not in args.skip:
        raws = trackeval_raw(gt, pred)
        ref, times = run_trackeval(raws)
        diff = max_diff_trackeval(track, ref)
        assert diff < 1e-6, f"TrackEval: metrics differ by {diff}"
        rows.append(("track", "TrackEval CLEAR+Identity+HOTA (metrics only)", times["metrics"], None,
                     f"{times['metrics'] / t_track:.1f}x slower, max |diff| {diff:.1e}"))  # fmt: skip
        total = sum(times.values())
        note = f"{total / t_track:.1f}x slower"
        rows.append(("track", "TrackEval incl. IoUs + BDD100K preprocessing", total, None, note))
    if "motmetrics" not in args.skip:
        n = min(args.mm_videos, args.videos)
        gt_small, pred_small = subset(gt, n, drop_ignored=True), subset(pred, n)
        ours_small, t_small = timed(lambda: evaluate_tracking(gt_small, pred_small))
        ref_mm, t_mm = timed(lambda: run_motmetrics(gt_small, pred_small))
        diff = max_diff_motmetrics(ours_small, ref_mm)
        assert diff < 1e-6, f"motmetrics: metrics differ by {diff}"
        rows.append(("track", f"vis4d evaluate_tracking, {n} videos", t_small, None, ""))
        note = f"{t_mm / t_small:.1f}x slower, max |diff| {diff:.1e}"
        rows.append(("track", f"motmetrics, {n} videos", t_mm, None, note))

    n = min(args.teta_videos, args.videos)
    rows += teta_rows(gt, pred, args.teta_python, args.teta_src, (subset(gt, n), subset(pred, n)))
    if args.files:
        rows += [("files", name, seconds, cpu, "") for name, seconds, cpu in from_files(gt, pred)]

    print(f"\n{'task':6} {'implementation':50} {'seconds':>9} {'cpu s':>7}  comparison")
    for task, name, seconds, cpu, note in rows:
        print(f"{task:6} {name:50} {seconds:9.2f} {'' if cpu is None else f'{cpu:7.2f}':>7}  {note}")
    mean = track["mean"]
    print(f"\nAP {det['AP']:.4f}  AP50 {det['AP50']:.4f}  |  mMOTA {mean['MOTA']:.4f}  mIDF1 {mean['IDF1']:.4f}  "
          f"mHOTA {mean['HOTA']:.4f}  IDSW {track['overall']['IDSW']}")  # fmt: skip


if __name__ == "__main__":
    main()
