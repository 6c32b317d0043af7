"""TETA against SysCV's reference and evaluation from JSON files against ``json.load``, for bench_eval.py.

The reference TETA runs in its own virtualenv (tests/eval/fixtures/teta/README.md)
through ``make_fixtures.py ... score``, on the first ``--teta-videos`` videos
(it takes seconds per video).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vis4d.data.pairs import load_gt_and_predictions, load_label_options, resolve_format
from vis4d.data.store import AnnotationStore
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.track import evaluate_tracking

Row = tuple[str, str, float, float | None, str]  # task, implementation, wall seconds, CPU seconds (all threads), note


def timed_cpu(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """The result, wall seconds and CPU seconds (all threads: evaluation scores parts of the data in threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


HARNESS = Path(__file__).parents[1] / "tests" / "eval" / "fixtures" / "teta" / "make_fixtures.py"
FIELDS = {"TETA": "TETA", "LocA": "TETA_LocA", "AssocA": "TETA_AssocA", "ClsA": "TETA_ClsA"}
ALL_TRACKING = ["clear", "identity", "hota", "teta"]


def as_case(gt: AnnotationStore, pred: AnnotationStore, num_videos: int) -> list[dict[str, Any]]:
    """The first videos as the harness's case: per frame, gt rows (box, class, id, crowd) and predictions."""
    videos = []
    for v in range(num_videos):
        frames = []
        for f in gt.frame_range(v):
            g, p = gt.frame_boxes(f), pred.frame_boxes(f)
            names_g, names_p = [gt.categories[c] for c in g["class_ids"]], [pred.categories[c] for c in p["class_ids"]]
            frames.append({
                "gt": [[*b, n, int(i), bool(c)] for b, n, i, c in
                       zip(g["boxes"].tolist(), names_g, g["track_ids"], g["crowd"], strict=True)],
                "pred": [[*b, n, int(i), float(s)] for b, n, i, s in
                         zip(p["boxes"].tolist(), names_p, p["track_ids"], p["scores"], strict=True)],
            })  # fmt: skip
        videos.append({"name": str(gt.video_names[v]), "frames": frames})
    return videos


def reference_teta(python: str, source: str, case: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """The reference's per-class, mean and overall TETA of ``case``, and the seconds it took (its own timing)."""
    with tempfile.TemporaryDirectory() as tmp:
        case_file, out_file = Path(tmp) / "case.json", Path(tmp) / "out.json"
        case_file.write_text(json.dumps(case))
        subprocess.run([python, str(HARNESS), source, "score", str(case_file), str(out_file)], check=True)
        out = json.loads(out_file.read_text())
    return out["result"], float(out["seconds"])


def max_diff_teta(ours: dict[str, Any], ref: dict[str, Any]) -> float:
    """Largest difference over TETA, LocA, AssocA, ClsA of the classes, the mean and the overall row."""
    rows = [(ours["per_class"][c], ref[c]) for c in ours["per_class"] if c in ref]
    rows += [(ours["mean"], ref["mean"]), (ours["overall"], ref["overall"])]
    return max(abs(float(o[key]) - float(r[name])) for o, r in rows for name, key in FIELDS.items())


def write_scalabel(store: AnnotationStore, folder: Path, predictions: bool) -> list[Path]:
    """One Scalabel JSON per video (BDD100K's layout), boxes as written by a tracker."""
    folder.mkdir(parents=True)
    paths = []
    video_of = store.frame_video_ids()
    for v in range(store.num_videos):
        frames = []
        for f in store.frame_range(v):
            b = store.frame_boxes(f)
            labels = []
            for box, c, i, s, crowd in zip(b["boxes"].tolist(), b["class_ids"].tolist(), b["track_ids"].tolist(),
                                           b["scores"].tolist(), b["crowd"].tolist(), strict=True):  # fmt: skip
                label: dict[str, Any] = {"id": str(i), "category": store.categories[c],
                                         "box2d": dict(zip(("x1", "y1", "x2", "y2"), box, strict=True))}  # fmt: skip
                if predictions:
                    label["score"] = s
                else:
                    label["attributes"] = {"crowd": crowd}
                labels.append(label)
            frames.append({"name": str(store.frame_names[f]), "videoName": str(store.video_names[video_of[f]]),
                           "frameIndex": int(store.frame_index[f]), "labels": labels})  # fmt: skip
        path = folder / f"{store.video_names[v]}.json"
        path.write_text(json.dumps(frames))
        paths.append(path)
    return paths


def _json_load_all(files: list[Path]) -> None:
    for path in files:
        with open(path, encoding="utf-8") as handle:
            json.load(handle)


def from_files(gt: AnnotationStore, pred: AnnotationStore) -> list[tuple[str, float, float | None]]:
    """Seconds of ``json.load`` of the files vs vis4d's loading + evaluation of them (tracking, detection).

    CPU seconds are this process's; loading parses many files in worker
    processes (not counted), so only the wall time compares.
    """
    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = write_scalabel(gt, Path(tmp) / "gt", False) + write_scalabel(pred, Path(tmp) / "pred", True)
        _, wall, cpu = timed_cpu(lambda: _json_load_all(files))
        rows.append(("json.load of ground truth + predictions", wall, cpu))
        labels = load_label_options(None)
        fmt = resolve_format("scalabel", Path(tmp) / "gt", labels)
        for task in ("track", "det"):
            start = time.perf_counter()
            g, p = load_gt_and_predictions(fmt, Path(tmp) / "gt", Path(tmp) / "pred", labels)
            loaded = time.perf_counter()
            if task == "track":
                evaluate_tracking(g, p, metrics=ALL_TRACKING)
            else:
                evaluate_detection(g, p)
            done = time.perf_counter()
            rows.append((f"vis4d {task} from files: loading {loaded - start:.2f} s + evaluation", done - start, None))
    return rows


def teta_rows(gt: AnnotationStore, pred: AnnotationStore, python: str | None, source: str | None,
              small: tuple[AnnotationStore, AnnotationStore]) -> list[Row]:  # fmt: skip
    """TETA alone and all four tracking metrics from stores; the reference on ``small`` (the first videos)."""
    rows: list[Row] = []
    _, wall, cpu = timed_cpu(lambda: evaluate_tracking(gt, pred, metrics=["teta"]))
    rows.append(("teta", "vis4d TETA (from stores)", wall, cpu, ""))
    _, wall, cpu = timed_cpu(lambda: evaluate_tracking(gt, pred, metrics=ALL_TRACKING))
    rows.append(("teta", "vis4d CLEAR + IDF1 + HOTA + TETA (from stores)", wall, cpu, ""))
    if python and source:
        small_gt, small_pred = small
        n = small_gt.num_videos
        case = as_case(small_gt, small_pred, n)
        start = time.perf_counter()
        ours = evaluate_tracking(small_gt, small_pred, metrics=["teta"], super_categories=None)
        t_ours = time.perf_counter() - start
        ref, t_ref = reference_teta(python, source, case)
        diff = max_diff_teta(ours, ref)
        assert diff < 1e-6, f"reference TETA: metrics differ by {diff}"
        rows.append(("teta", f"vis4d TETA, {n} videos", t_ours, None, ""))
        rows.append(("teta", f"reference teta (SysCV/tet), {n} videos", t_ref, None,
                     f"{t_ref / t_ours:.1f}x slower, max |diff| {diff:.1e}"))  # fmt: skip
    return rows
