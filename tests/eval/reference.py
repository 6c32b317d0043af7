"""Random test data and the reference implementations the evaluators are compared with.

The references are the packages themselves: pycocotools / faster-coco-eval
for detection; for tracking, TrackEval's metric classes fed per-sequence data,
and TrackEval's full ``Evaluator`` with its BDD100K and MOTChallenge dataset
classes reading files written here (so their preprocessing of ignore regions
is the reference too); and motmetrics.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.data.store import BOX_FIELDS, AnnotationStore, FrameRecord, build_store, empty_box_columns
from vis4d.eval.detect import xyxy_to_xywh

BDD_CLASSES = ("pedestrian", "rider", "car", "bus", "truck", "train", "motorcycle", "bicycle")
BDD_SUPER = {
    "human": ["pedestrian", "rider"],
    "vehicle": ["car", "truck", "bus", "train"],
    "bike": ["motorcycle", "bicycle"],
}


def _boxes(rng: np.random.Generator, n: int, extent: float = 300.0) -> np.ndarray:
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.uniform(4, 90, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def random_tracking(
    seed: int,
    categories: tuple[str, ...] = ("car", "pedestrian", "cyclist"),
    num_videos: int = 3,
    num_frames: int = 10,
    num_tracks: int = 12,
    ignore_rate: float = 0.0,
    crowd_rate: float = 0.0,
    drop_pred_frames: float = 0.1,
    extent: float = 200.0,
) -> tuple[AnnotationStore, AnnotationStore]:
    """Ground truth of moving boxes and predictions perturbed from it.

    Predictions miss boxes, jitter, swap ids (id switches), lose and regain
    tracks (fragmentations), add false positives (some on ignore regions), and
    skip whole frames; some frames have no ground truth at all.
    """
    rng = np.random.default_rng(seed)
    k = len(categories)
    gt_frames: list[FrameRecord] = []
    pred_frames: list[FrameRecord] = []
    for v in range(num_videos):
        pos = rng.uniform(0, extent, (num_tracks, 2))
        vel = rng.normal(0, 4, (num_tracks, 2))
        size = rng.uniform(8, 70, (num_tracks, 2))
        cls = rng.integers(0, k, num_tracks)
        start = rng.integers(0, num_frames // 2, num_tracks)
        stop = rng.integers(num_frames // 2, num_frames + 1, num_tracks)
        pred_id = np.arange(num_tracks) + 100
        empty_frame = rng.integers(0, num_frames)
        for t in range(num_frames):
            alive = (start <= t) & (t < stop)
            if t == empty_frame:
                alive[:] = False
            p = pos + vel * t
            boxes = np.concatenate([p, p + size], axis=1)[alive].astype(np.float32)
            n = len(boxes)
            g = empty_box_columns(n)
            g["boxes"], g["class_ids"], g["track_ids"] = boxes, cls[alive], np.flatnonzero(alive)
            g["ignore"] = rng.random(n) < ignore_rate
            g["crowd"] = g["ignore"] & (rng.random(n) < 0.5)
            num_crowd = rng.binomial(2, crowd_rate)
            if num_crowd:
                crowd = empty_box_columns(num_crowd)
                crowd["boxes"] = _boxes(rng, num_crowd, extent)
                crowd["class_ids"] = rng.integers(0, k, num_crowd)
                crowd["crowd"][:] = crowd["ignore"][:] = True
                g = {key: np.concatenate([g[key], crowd[key]]) for key in g}
            keep = rng.random(n) > 0.15
            pb = boxes[keep] + rng.normal(0, 3, (int(keep.sum()), 4)).astype(np.float32)
            if rng.random() < 0.2:
                a, b = rng.integers(0, num_tracks, 2)
                pred_id[[a, b]] = pred_id[[b, a]]
            if rng.random() < 0.1:
                pred_id[rng.integers(num_tracks)] = rng.integers(1000, 100000)
            tids, pcls = pred_id[alive][keep], cls[alive][keep]
            num_fp = int(rng.poisson(1.0))
            fp_boxes = _boxes(rng, num_fp, extent)
            ign_rows = np.flatnonzero(g["ignore"])
            if len(ign_rows) and rng.random() < 0.7:  # a false positive inside an ignore region
                inner = g["boxes"][rng.choice(ign_rows)].copy()
                fp_boxes = np.concatenate([fp_boxes, inner[None] + rng.normal(0, 1, (1, 4)).astype(np.float32)])
            fp_ids = 200000 + 1000 * v + 50 * t + np.arange(len(fp_boxes))
            pb = np.concatenate([pb, fp_boxes])
            pb[:, 2:] = np.maximum(pb[:, 2:], pb[:, :2] + 1)
            pc = empty_box_columns(len(pb))
            pc["boxes"] = pb
            pc["class_ids"] = np.concatenate([pcls, rng.integers(0, k, len(fp_boxes))])
            pc["track_ids"] = np.concatenate([tids, fp_ids])
            pc["scores"] = rng.random(len(pb)).astype(np.float32)
            name = f"v{v}-{t:04d}.jpg"
            gt_frames.append(FrameRecord(name=name, video_name=f"v{v}", frame_index=t, image_path=name, boxes=g))
            if rng.random() >= drop_pred_frames:
                pred_frames.append(FrameRecord(name=name, video_name=f"v{v}", frame_index=t, image_path=name, boxes=pc))
    return build_store(categories, gt_frames), build_store(categories, pred_frames)


def drop_boxes(store: AnnotationStore, keep: np.ndarray) -> AnnotationStore:
    """The store without the boxes where ``keep`` is False (frames stay)."""
    frames = store.box_frame_ids()[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(frames, minlength=store.num_frames))]).astype(np.int64)
    columns = {name: getattr(store, name)[keep] for name in BOX_FIELDS}
    out = dataclasses.replace(store, box_offsets=offsets, **columns)
    out.validate()
    return out


def pred_lookup(gt: AnnotationStore, pred: AnnotationStore) -> dict[tuple[str, str], int]:
    """(video, frame) -> prediction frame row."""
    video_of = pred.frame_video_ids()
    return {(str(pred.video_names[video_of[f]]), str(pred.frame_names[f])): f for f in range(pred.num_frames)}


def _frame_boxes(store: AnnotationStore, frame: int | None) -> dict[str, np.ndarray]:
    return store.frame_boxes(frame) if frame is not None else empty_box_columns(0)


FIXTURES = Path(__file__).parent / "fixtures"


def sample_gt() -> AnnotationStore:
    """The real BDD100K tracking sample, parsed here with json (crowd boxes become ignore regions)."""
    frames = []
    for path in sorted((FIXTURES / "bdd100k_track_labels").glob("*.json")):
        ids: dict[str, int] = {}
        for frame in json.loads(path.read_text()):
            labels = [label for label in frame["labels"] if "box2d" in label]
            cols = empty_box_columns(len(labels))
            cols["boxes"] = np.array(
                [[lb["box2d"][c] for c in ("x1", "y1", "x2", "y2")] for lb in labels], dtype=np.float32
            ).reshape(-1, 4)
            cols["class_ids"] = np.array([BDD_CLASSES.index(lb["category"]) for lb in labels], dtype=np.int64)
            cols["track_ids"] = np.array([ids.setdefault(lb["id"], len(ids)) for lb in labels], dtype=np.int64)
            cols["crowd"] = np.array([bool(lb["attributes"].get("crowd")) for lb in labels], dtype=bool)
            cols["ignore"] = cols["crowd"].copy()
            frames.append(
                FrameRecord(frame["name"], frame["videoName"], frame["frameIndex"], frame["name"], boxes=cols)
            )
    return build_store(BDD_CLASSES, frames)


def perturb(gt: AnnotationStore, seed: int) -> AnnotationStore:
    """Predictions from ground truth: jitter, misses, id switches, false positives, wrong classes, scores."""
    rng = np.random.default_rng(seed)
    frames = []
    video_of = gt.frame_video_ids()
    swap: dict[int, int] = {}
    for f in range(gt.num_frames):
        g = gt.frame_boxes(f)
        keep = ~g["ignore"] & (rng.random(len(g["boxes"])) > 0.12)
        boxes = g["boxes"][keep]
        size = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
        boxes = boxes + rng.normal(0, 0.06, boxes.shape).astype(np.float32) * size
        tids = g["track_ids"][keep].copy()
        if rng.random() < 0.4 and len(tids) > 1:
            a, b = rng.choice(len(tids), 2, replace=False)
            swap[int(tids[a])] = int(tids[b]) + 10000 * (int(video_of[f]) + 1)
        tids = np.array([swap.get(int(t), int(t)) for t in tids], dtype=np.int64)
        classes = g["class_ids"][keep].copy()
        flip = rng.random(len(classes)) < 0.05
        classes[flip] = rng.integers(0, len(BDD_CLASSES), int(flip.sum()))
        num_fp = int(rng.integers(0, 4))
        xy = rng.uniform(0, 1100, (num_fp, 2))
        fp = np.concatenate([xy, xy + rng.uniform(10, 150, (num_fp, 2))], axis=1).astype(np.float32)
        cols = empty_box_columns(len(boxes) + num_fp)
        cols["boxes"] = np.concatenate([boxes, fp])
        cols["boxes"][:, 2:] = np.maximum(cols["boxes"][:, 2:], cols["boxes"][:, :2] + 1)
        cols["class_ids"] = np.concatenate([classes, rng.integers(0, len(BDD_CLASSES), num_fp)])
        cols["track_ids"] = np.concatenate([tids, 50000 + 100 * f + np.arange(num_fp)])
        cols["scores"] = rng.random(len(cols["boxes"])).astype(np.float32)
        name = str(gt.frame_names[f])
        frames.append(FrameRecord(name, str(gt.video_names[video_of[f]]), int(gt.frame_index[f]), name, boxes=cols))
    return build_store(gt.categories, frames)


def sample_stores(seed: int = 0) -> tuple[AnnotationStore, AnnotationStore]:
    """The BDD100K sample and predictions perturbed from it."""
    gt = sample_gt()
    return gt, perturb(gt, seed)


# ----------------------------------------------------------------------------------------------------- TrackEval
def trackeval_direct(gt: AnnotationStore, pred: AnnotationStore, threshold: float = 0.5) -> dict[str, Any]:
    """TrackEval CLEAR/Identity/HOTA per class (no ignore regions), fed the data its datasets would build."""
    from trackeval.datasets._base_dataset import _BaseDataset
    from trackeval.metrics import CLEAR, HOTA, Identity

    metrics = [
        CLEAR({"THRESHOLD": threshold, "PRINT_CONFIG": False}),
        Identity({"THRESHOLD": threshold, "PRINT_CONFIG": False}),
        HOTA(),
    ]
    lookup = pred_lookup(gt, pred)
    per_class: dict[str, Any] = {}
    for k, name in enumerate(gt.categories):
        per_seq: dict[str, dict[int, Any]] = {m.get_name(): {} for m in metrics}
        for v in range(gt.num_videos):
            gt_ids, tr_ids, sims = [], [], []
            for f in gt.frame_range(v):
                g = gt.frame_boxes(f)
                gm = (g["class_ids"] == k) & ~g["ignore"]
                p = _frame_boxes(pred, lookup.get((str(gt.video_names[v]), str(gt.frame_names[f]))))
                pm = p["class_ids"] == k
                gt_ids.append(g["track_ids"][gm])
                tr_ids.append(p["track_ids"][pm])
                sims.append(
                    _BaseDataset._calculate_box_ious(
                        g["boxes"][gm].astype(float), p["boxes"][pm].astype(float), box_format="x0y0x1y1"
                    )
                )
            ug, ut = np.unique(np.concatenate(gt_ids)), np.unique(np.concatenate(tr_ids))
            data = {
                "gt_ids": [np.searchsorted(ug, x) for x in gt_ids],
                "tracker_ids": [np.searchsorted(ut, x) for x in tr_ids],
                "similarity_scores": sims,
                "num_gt_ids": len(ug),
                "num_tracker_ids": len(ut),
                "num_gt_dets": sum(len(x) for x in gt_ids),
                "num_tracker_dets": sum(len(x) for x in tr_ids),
                "num_timesteps": len(gt_ids),
            }
            for m in metrics:
                per_seq[m.get_name()][v] = m.eval_sequence(data)
        per_class[name] = {m.get_name(): m.combine_sequences(per_seq[m.get_name()]) for m in metrics}
    overall = {
        m.get_name(): m.combine_classes_det_averaged({c: r[m.get_name()] for c, r in per_class.items()})
        for m in metrics
    }
    return {"per_class": per_class, "overall": overall}


def _run_trackeval(dataset: Any, threshold: float) -> dict[str, Any]:
    import trackeval

    config = {
        "USE_PARALLEL": False,
        "PRINT_RESULTS": False,
        "PRINT_CONFIG": False,
        "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": False,
        "OUTPUT_DETAILED": False,
        "PLOT_CURVES": False,
        "BREAK_ON_ERROR": True,
        "RETURN_ON_ERROR": False,
        "LOG_ON_ERROR": None,
        "DISPLAY_LESS_PROGRESS": True,
    }
    metrics = [
        trackeval.metrics.CLEAR({"THRESHOLD": threshold, "PRINT_CONFIG": False}),
        trackeval.metrics.Identity({"THRESHOLD": threshold, "PRINT_CONFIG": False}),
        trackeval.metrics.HOTA(),
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator(config)
        results, messages = evaluator.evaluate([dataset], metrics)
    name = dataset.get_name()
    assert messages[name]["tracker"] == "Success", messages
    return results[name]["tracker"]["COMBINED_SEQ"]


def trackeval_bdd100k(gt: AnnotationStore, pred: AnnotationStore, root: Path, threshold: float = 0.5) -> dict[str, Any]:
    """TrackEval's BDD100K dataset + Evaluator on Scalabel files written from the stores (categories: BDD_CLASSES).

    Ignore boxes become crowd boxes (``Crowd: true``) or, when not crowd, the
    distractor class "other vehicle" (TrackEval treats both as ignore regions).
    """
    import trackeval

    assert gt.categories == BDD_CLASSES
    gt_dir, tr_dir = root / "gt", root / "trackers" / "tracker" / "data"
    gt_dir.mkdir(parents=True)
    tr_dir.mkdir(parents=True)
    lookup = pred_lookup(gt, pred)
    for v in range(gt.num_videos):
        video = str(gt.video_names[v])
        gt_list, tr_list = [], []
        for f in gt.frame_range(v):
            g = gt.frame_boxes(f)
            labels = []
            for i in range(len(g["boxes"])):
                x1, y1, x2, y2 = (float(c) for c in g["boxes"][i])
                ignored, crowd = bool(g["ignore"][i] or g["crowd"][i]), bool(g["crowd"][i])
                category = "other vehicle" if ignored and not crowd else BDD_CLASSES[int(g["class_ids"][i])]
                labels.append(
                    {
                        "id": str(int(g["track_ids"][i])),
                        "category": category,
                        "attributes": {"Crowd": crowd},
                        "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
                    }
                )
            gt_list.append({"name": str(gt.frame_names[f]), "index": int(gt.frame_index[f]), "labels": labels})
            p = _frame_boxes(pred, lookup.get((video, str(gt.frame_names[f]))))
            tr_labels = [
                {
                    "id": str(int(p["track_ids"][i])),
                    "category": BDD_CLASSES[int(p["class_ids"][i])],
                    "box2d": dict(zip(("x1", "y1", "x2", "y2"), (float(c) for c in p["boxes"][i]), strict=True)),
                }
                for i in range(len(p["boxes"]))
            ]
            tr_list.append({"name": str(gt.frame_names[f]), "index": int(gt.frame_index[f]), "labels": tr_labels})
        (gt_dir / f"{video}.json").write_text(json.dumps(gt_list))
        (tr_dir / f"{video}.json").write_text(json.dumps(tr_list))
    dataset = trackeval.datasets.BDD100K(
        {
            "GT_FOLDER": str(gt_dir),
            "TRACKERS_FOLDER": str(root / "trackers"),
            "OUTPUT_FOLDER": str(root / "out"),
            "TRACKERS_TO_EVAL": ["tracker"],
            "PRINT_CONFIG": False,
        }
    )
    return _run_trackeval(dataset, threshold)


def trackeval_mot(gt: AnnotationStore, pred: AnnotationStore, root: Path, threshold: float = 0.5) -> dict[str, Any]:
    """TrackEval's MotChallenge2DBox (MOT17 rules) on MOT text files written from single-class stores.

    Counted boxes are class 1 (pedestrian, conf 1); ignore boxes become class
    8 (distractor), which MOT17 preprocessing uses to remove matched predictions.
    """
    import trackeval

    assert len(gt.categories) == 1
    lookup = pred_lookup(gt, pred)
    seq_info = {}
    for v in range(gt.num_videos):
        video = str(gt.video_names[v])
        seq_info[video] = len(gt.frame_range(v))
        gt_lines, tr_lines = [], []
        for t, f in enumerate(gt.frame_range(v), start=1):
            g = gt.frame_boxes(f)
            xywh = xyxy_to_xywh(g["boxes"])
            for i in range(len(xywh)):
                ignored = bool(g["ignore"][i] or g["crowd"][i])
                tid = int(g["track_ids"][i]) if not ignored else 900000 + i
                gt_lines.append(f"{t},{tid},{','.join(repr(float(c)) for c in xywh[i])},1,{8 if ignored else 1},1.0")
            p = _frame_boxes(pred, lookup.get((video, str(gt.frame_names[f]))))
            pxywh = xyxy_to_xywh(p["boxes"])
            for i in range(len(pxywh)):
                coords = ",".join(repr(float(c)) for c in pxywh[i])
                tr_lines.append(f"{t},{int(p['track_ids'][i])},{coords},{float(p['scores'][i])!r},-1,-1,-1")
        (root / "gt" / video / "gt").mkdir(parents=True)
        (root / "gt" / video / "gt" / "gt.txt").write_text("\n".join(gt_lines) + "\n")
        (root / "trackers" / "tracker" / "data").mkdir(parents=True, exist_ok=True)
        (root / "trackers" / "tracker" / "data" / f"{video}.txt").write_text("\n".join(tr_lines) + "\n")
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(root / "gt"),
            "TRACKERS_FOLDER": str(root / "trackers"),
            "OUTPUT_FOLDER": str(root / "out"),
            "TRACKERS_TO_EVAL": ["tracker"],
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": seq_info,
            "PRINT_CONFIG": False,
            "BENCHMARK": "MOT17",
        }
    )
    return _run_trackeval(dataset, threshold)


# Our metric name -> (TrackEval metric, TrackEval field); HOTA-family fields are means over alphas.
TRACKEVAL_FIELDS = {
    "MOTA": ("CLEAR", "MOTA"),
    "MOTP": ("CLEAR", "MOTP"),
    "MODA": ("CLEAR", "MODA"),
    "sMOTA": ("CLEAR", "sMOTA"),
    "Recall": ("CLEAR", "CLR_Re"),
    "Precision": ("CLEAR", "CLR_Pr"),
    "TP": ("CLEAR", "CLR_TP"),
    "FP": ("CLEAR", "CLR_FP"),
    "FN": ("CLEAR", "CLR_FN"),
    "IDSW": ("CLEAR", "IDSW"),
    "Frag": ("CLEAR", "Frag"),
    "MT": ("CLEAR", "MT"),
    "PT": ("CLEAR", "PT"),
    "ML": ("CLEAR", "ML"),
    "IDF1": ("Identity", "IDF1"),
    "IDP": ("Identity", "IDP"),
    "IDR": ("Identity", "IDR"),
    "IDTP": ("Identity", "IDTP"),
    "IDFP": ("Identity", "IDFP"),
    "IDFN": ("Identity", "IDFN"),
    "HOTA": ("HOTA", "HOTA"),
    "DetA": ("HOTA", "DetA"),
    "AssA": ("HOTA", "AssA"),
    "DetRe": ("HOTA", "DetRe"),
    "DetPr": ("HOTA", "DetPr"),
    "AssRe": ("HOTA", "AssRe"),
    "AssPr": ("HOTA", "AssPr"),
    "LocA": ("HOTA", "LocA"),
}


def trackeval_value(result: dict[str, Any], name: str) -> float:
    metric, field = TRACKEVAL_FIELDS[name]
    return float(np.mean(result[metric][field]))


def assert_matches_trackeval(ours: dict[str, Any], reference: dict[str, Any], tol: float = 1e-6) -> None:
    """Every metric in TRACKEVAL_FIELDS agrees to ``tol``."""
    mismatches = [
        f"{name}: ours {ours[name]} vs TrackEval {trackeval_value(reference, name)}"
        for name in TRACKEVAL_FIELDS
        if abs(float(ours[name]) - trackeval_value(reference, name)) > tol
    ]
    assert not mismatches, "\n".join(mismatches)


# ------------------------------------------------------------------------------------------------------ COCO
def random_detection(
    seed: int,
    num_images: int = 25,
    categories: tuple[str, ...] = ("a", "b", "c", "d"),
    crowd_rate: float = 0.1,
    score_decimals: int | None = 2,
) -> tuple[AnnotationStore, AnnotationStore]:
    """One-frame videos with boxes of all sizes, crowd regions, empty images, images with only predictions.

    Scores are rounded (ties on purpose, as COCOeval's stable sort must be followed).
    """
    rng = np.random.default_rng(seed)
    k = len(categories)
    gt_frames, pred_frames = [], []
    for i in range(num_images):
        n = int(rng.integers(0, 9)) if i % 7 else 0
        xy = rng.uniform(0, 400, (n, 2))
        wh = np.exp(rng.uniform(np.log(3), np.log(250), (n, 2)))
        boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        g = empty_box_columns(n)
        g["boxes"], g["class_ids"] = boxes, rng.integers(0, k, n)
        g["crowd"] = rng.random(n) < crowd_rate
        g["ignore"] = g["crowd"] | (rng.random(n) < crowd_rate / 2)
        m = int(rng.integers(0, 14))
        src = rng.integers(0, max(n, 1), m)
        if n:
            pb = (
                boxes[src]
                + rng.normal(0, 1, (m, 4)).astype(np.float32) * np.tile(boxes[src, 2:4] - boxes[src, 0:2], 2) * 0.1
            )
            pc = np.where(rng.random(m) < 0.8, g["class_ids"][src], rng.integers(0, k, m))
        else:
            xy = rng.uniform(0, 400, (m, 2))
            pb = np.concatenate([xy, xy + rng.uniform(3, 150, (m, 2))], axis=1).astype(np.float32)
            pc = rng.integers(0, k, m)
        pb[:, 2:] = np.maximum(pb[:, 2:], pb[:, :2] + 0.5)
        p = empty_box_columns(m)
        scores = rng.random(m)
        p["boxes"], p["class_ids"] = pb, pc
        p["scores"] = (np.round(scores, score_decimals) if score_decimals is not None else scores).astype(np.float32)
        name = f"img{i:03d}.jpg"
        gt_frames.append(FrameRecord(name=name, video_name="", frame_index=i, image_path=name, boxes=g))
        if rng.random() > 0.1:
            pred_frames.append(FrameRecord(name=name, video_name="", frame_index=i, image_path=name, boxes=p))
    return build_store(categories, gt_frames), build_store(categories, pred_frames)


def coco_reference(gt: AnnotationStore, pred: AnnotationStore, engine: str = "pycocotools") -> Any:
    """Run pycocotools' (or faster-coco-eval's) COCOeval on dicts built from the stores; returns the evaluator.

    Image id = ground-truth frame row + 1, category id = class + 1, box
    ``[x, y, x2 - x, y2 - y]`` in float64, area = w * h, iscrowd = ignore.
    """
    if engine == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    video_of = gt.frame_video_ids()
    frame_of = {(str(gt.video_names[video_of[f]]), str(gt.frame_names[f])): f for f in range(gt.num_frames)}
    gt_xywh = xyxy_to_xywh(gt.boxes)
    gt_image = gt.box_frame_ids()
    dataset = {
        "images": [{"id": f + 1} for f in range(gt.num_frames)],
        "categories": [{"id": k + 1, "name": n} for k, n in enumerate(gt.categories)],
        "annotations": [
            {
                "id": j + 1,
                "image_id": int(gt_image[j]) + 1,
                "category_id": int(gt.class_ids[j]) + 1,
                "bbox": gt_xywh[j].tolist(),
                "area": float(gt_xywh[j, 2] * gt_xywh[j, 3]),
                "iscrowd": int(gt.ignore[j] or gt.crowd[j]),
            }
            for j in range(gt.num_boxes)
        ],
    }
    pred_video = pred.frame_video_ids()
    pred_image = np.array(
        [frame_of[(str(pred.video_names[pred_video[f]]), str(pred.frame_names[f]))] for f in range(pred.num_frames)],
        dtype=np.int64,
    )[pred.box_frame_ids()]
    dt_xywh = xyxy_to_xywh(pred.boxes)
    results = [
        {
            "image_id": int(pred_image[j]) + 1,
            "category_id": int(pred.class_ids[j]) + 1,
            "bbox": dt_xywh[j].tolist(),
            "score": float(pred.scores[j]),
        }
        for j in range(pred.num_boxes)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator
