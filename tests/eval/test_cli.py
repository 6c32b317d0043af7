"""``vis4d eval`` on files: Scalabel (BDD100K sample), COCO and MOTChallenge, checked against the references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.eval.reference import (
    BDD_SUPER,
    FIXTURES,
    assert_matches_trackeval,
    random_tracking,
    sample_stores,
    trackeval_mot,
)
from vis4d.data.formats import detect_format
from vis4d.data.store import AnnotationStore
from vis4d.eval.cli import main
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.track import evaluate_tracking

LABELS = FIXTURES / "bdd100k_track_labels"
LABEL_CONFIG = FIXTURES / "bdd100k_track_config.toml"


def write_scalabel_predictions(pred: AnnotationStore, folder: Path) -> Path:
    """One Scalabel JSON per video with ``score`` and string ``id`` per label."""
    folder.mkdir(parents=True)
    video_of = pred.frame_video_ids()
    for v in range(pred.num_videos):
        frames = []
        for f in pred.frame_range(v):
            b = pred.frame_boxes(f)
            labels = [
                {
                    "id": f"t{int(b['track_ids'][i])}",
                    "category": pred.categories[int(b["class_ids"][i])],
                    "score": float(b["scores"][i]),
                    "box2d": dict(zip(("x1", "y1", "x2", "y2"), map(float, b["boxes"][i]), strict=True)),
                }
                for i in range(len(b["boxes"]))
            ]
            frames.append({"name": str(pred.frame_names[f]), "videoName": str(pred.video_names[video_of[f]]),
                           "frameIndex": int(pred.frame_index[f]), "labels": labels})  # fmt: skip
        (folder / f"{pred.video_names[v]}.json").write_text(json.dumps(frames))
    return folder


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnnotationStore, AnnotationStore, Path]:
    gt, pred = sample_stores(seed=2)
    return gt, pred, write_scalabel_predictions(pred, tmp_path_factory.mktemp("run") / "pred")


def test_track_on_bdd100k_sample_files(sample_run: tuple, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt, pred, pred_dir = sample_run
    out = tmp_path / "metrics.json"
    argv = ["--task", "track", "--gt", str(LABELS), "--pred", str(pred_dir), "--config", str(LABEL_CONFIG)]
    assert main([*argv, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "overall" in printed and "vehicle (super)" in printed and "HOTA" in printed
    written = json.loads(out.read_text())
    assert list(written) == ["track", "summary"]
    assert written["summary"]["mMOTA"] == written["track"]["mean"]["MOTA"]
    assert written["summary"]["HOTA"] == written["track"]["overall"]["HOTA"]
    assert written["summary"]["IDSW"] == written["track"]["overall"]["IDSW"] and "AP" not in written["summary"]
    expected = evaluate_tracking(gt, pred, super_categories=BDD_SUPER)
    track = written["track"]
    assert set(track["per_class"]) == set(expected["per_class"])
    for group, name in [("per_class", c) for c in expected["per_class"]] + [("super_categories", "vehicle")]:
        for key in ("MOTA", "IDF1", "HOTA", "AssA", "MOTP"):
            assert track[group][name][key] == pytest.approx(expected[group][name][key], abs=1e-9), (name, key)
        assert track[group][name]["IDSW"] == expected[group][name]["IDSW"]
    assert isinstance(track["overall"]["FP"], int) and 0.0 <= track["overall"]["IDF1"] <= 1.0


def test_det_on_bdd100k_sample_files(sample_run: tuple, tmp_path: Path) -> None:
    gt, pred, pred_dir = sample_run
    out = tmp_path / "det.json"
    assert main(["--task", "det", "--gt", str(LABELS), "--pred", str(pred_dir), "--format", "bdd100k",
                 "--output", str(out)]) == 0  # fmt: skip
    written = json.loads(out.read_text())
    assert list(written) == ["det", "summary"]
    assert written["summary"] == {"det_boxes": "predictions", **{k: written["det"][k] for k in ("AP", "AP50", "AP75")}}
    expected = evaluate_detection(gt, pred)
    for key in ("AP", "AP50", "AP75", "AR100"):
        assert written["det"][key] == pytest.approx(expected[key], abs=1e-9)
    assert set(written["det"]["per_class"]) == set(expected["per_class"])


def test_coco_files_match_pycocotools(tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    images = [{"id": i + 10, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(6)]
    categories = [{"id": 3, "name": "car"}, {"id": 7, "name": "person"}]
    annotations, results = [], []
    for img in images:
        for _ in range(int(rng.integers(1, 7))):
            x, y = (int(v) for v in rng.integers(0, 400, 2))
            w, h = (int(v) for v in rng.integers(5, 200, 2))
            cat = int(rng.choice([3, 7]))
            crowd = int(rng.random() < 0.1)
            annotations.append({"id": len(annotations) + 1, "image_id": img["id"], "category_id": cat,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": crowd})  # fmt: skip
            for _ in range(int(rng.integers(0, 3))):
                dx, dy, dw, dh = (int(v) for v in rng.integers(-6, 7, 4))
                box = [x + dx, y + dy, max(w + dw, 1), max(h + dh, 1)]
                score = round(float(rng.random()), 3)
                results.append({"image_id": img["id"], "category_id": cat, "score": score, "bbox": box})
    gt_file, res_file = tmp_path / "instances.json", tmp_path / "results.json"
    gt_file.write_text(json.dumps({"images": images, "categories": categories, "annotations": annotations}))
    res_file.write_text(json.dumps(results))
    assert detect_format(gt_file) == "coco"
    out = tmp_path / "m.json"
    assert main(["--task", "det", "--gt", str(gt_file), "--pred", str(res_file), "--output", str(out)]) == 0
    ours = json.loads(out.read_text())["det"]
    coco = COCO(str(gt_file))
    evaluator = COCOeval(coco, coco.loadRes(str(res_file)), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    keys = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
    for key, ref in zip(keys, evaluator.stats, strict=True):
        assert (-1.0 if ours[key] is None else ours[key]) == pytest.approx(ref, abs=1e-6), key


def write_mot(gt: AnnotationStore, pred: AnnotationStore, root: Path) -> tuple[Path, Path]:
    """MOTChallenge GT root (seqinfo.ini + gt.txt; ignore boxes as class 8) and a folder of tracker outputs."""
    gt_root, pred_root = root / "gt", root / "pred"
    pred_root.mkdir(parents=True)
    frame_of = {(str(pred.video_names[pred.frame_video_ids()[f]]), str(pred.frame_names[f])): f
                for f in range(pred.num_frames)}  # fmt: skip
    for v in range(gt.num_videos):
        seq = str(gt.video_names[v])
        (gt_root / seq / "gt").mkdir(parents=True)
        n = len(gt.frame_range(v))
        (gt_root / seq / "seqinfo.ini").write_text(
            f"[Sequence]\nname={seq}\nimDir=img1\nframeRate=30\nseqLength={n}\nimWidth=640\nimHeight=480\nimExt=.jpg\n"
        )
        gt_lines, pred_lines = [], []
        for t, f in enumerate(gt.frame_range(v), start=1):
            g = gt.frame_boxes(f)
            for i, (x1, y1, x2, y2) in enumerate(g["boxes"].tolist()):
                cls = 8 if g["ignore"][i] else 1
                gt_lines.append(f"{t},{int(g['track_ids'][i]) + 1},{x1},{y1},{x2 - x1},{y2 - y1},1,{cls},1")
            row = frame_of.get((seq, str(gt.frame_names[f])))
            if row is not None:
                p = pred.frame_boxes(row)
                for i, (x1, y1, x2, y2) in enumerate(p["boxes"].tolist()):
                    pred_lines.append(f"{t},{int(p['track_ids'][i]) + 1},{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1")
        (gt_root / seq / "gt" / "gt.txt").write_text("\n".join(gt_lines) + "\n")
        (pred_root / f"{seq}.txt").write_text("\n".join(pred_lines) + "\n")
    return gt_root, pred_root


def test_mot_files_match_trackeval(tmp_path: Path) -> None:
    gt, pred = random_tracking(5, categories=("pedestrian",), num_tracks=20, ignore_rate=0.1, extent=300.0)
    # Integer coordinates survive the text round trip exactly.
    gt.boxes[:] = np.round(gt.boxes)
    pred.boxes[:] = np.round(pred.boxes)
    gt_root, pred_root = write_mot(gt, pred, tmp_path)
    assert detect_format(gt_root) == "motchallenge"
    out = tmp_path / "m.json"
    assert main(["--task", "track", "--gt", str(gt_root), "--pred", str(pred_root), "--output", str(out)]) == 0
    ours = json.loads(out.read_text())["track"]["per_class"]["pedestrian"]
    assert_matches_trackeval(ours, trackeval_mot(gt, pred, tmp_path / "ref")["pedestrian"])


def test_errors_are_one_line_with_exit_code_2(sample_run: tuple, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    _, _, pred_dir = sample_run
    assert main(["--task", "track", "--gt", str(tmp_path / "missing"), "--pred", str(pred_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing" in err and "does not exist" in err
    stray = tmp_path / "stray"
    stray.mkdir()
    frames = json.loads(next(pred_dir.glob("*.json")).read_text())
    frames[0]["name"] = "not-a-frame.jpg"
    (stray / "p.json").write_text(json.dumps(frames))
    assert main(["--task", "track", "--gt", str(LABELS), "--pred", str(stray), "--format", "bdd100k"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'not-a-frame.jpg'" in err and "not in the ground truth" in err
    assert main(["--task", "track", "--gt", str(LABELS), "--pred", str(pred_dir), "--format", "coco"]) == 2
    assert "no track ids" in capsys.readouterr().err
    assert main(["--task", "nonsense", "--gt", "a", "--pred", "b"]) == 2


def test_dispatch_from_the_vis4d_command(sample_run: tuple, capsys: pytest.CaptureFixture) -> None:
    from vis4d.cli import main as vis4d_main

    _, _, pred_dir = sample_run
    argv = ["eval", "--task", "det", "--gt", str(LABELS), "--pred", str(pred_dir), "--config", str(LABEL_CONFIG)]
    assert vis4d_main(argv) == 0
    assert "Detection (COCO AP)" in capsys.readouterr().out


def test_vis4d_config_gives_categories_and_bdd100k_super_categories(sample_run: tuple, tmp_path: Path) -> None:
    _, _, pred_dir = sample_run
    config = tmp_path / "exp.toml"
    config.write_text(
        'categories = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]\n'
        f'[[test]]\ntype = "bdd100k"\nname = "val"\nannotations = "{LABELS}"\nimage_root = "images"\n'
    )
    out = tmp_path / "m.json"
    assert main(["--task", "track", "--gt", str(LABELS), "--pred", str(pred_dir), "--config", str(config),
                 "--output", str(out)]) == 0  # fmt: skip
    track = json.loads(out.read_text())["track"]
    assert set(track["super_categories"]) == {"human", "vehicle", "bike"}
    assert track["super_categories"]["bike"]["num_gt_dets"] == track["per_class"]["motorcycle"]["num_gt_dets"]


def predictions_with_a_category_the_gt_lacks(folder: Path) -> tuple[Path, int]:
    """The sample's labels as predictions, every seventh one relabelled ``cyclist``; returns the folder and count."""
    folder.mkdir()
    relabelled = 0
    for file in sorted(LABELS.glob("*.json")):
        frames = json.loads(file.read_text())
        for frame in frames:
            for i, label in enumerate(frame["labels"]):
                label["score"] = 0.9
                if i % 7 == 0:
                    label["category"] = "cyclist"
                    relabelled += 1
        (folder / file.name).write_text(json.dumps(frames))
    return folder, relabelled


def test_predictions_of_unknown_categories_are_an_error_or_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pred, relabelled = predictions_with_a_category_the_gt_lacks(tmp_path / "pred")
    argv = ["--task", "track", "--gt", str(LABELS), "--pred", str(pred)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"predicted category the ground truth does not have: 'cyclist' ({relabelled} boxes)" in err
    assert "--drop-unknown" in err
    out = tmp_path / "m.json"
    assert main([*argv, "--drop-unknown", "--output", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: left out {relabelled} predicted boxes of categories the ground truth does not have: "
        f"'cyclist' ({relabelled} boxes)"
    ]
    track = json.loads(out.read_text())["track"]
    assert "cyclist" not in track["per_class"]
    # The rest is scored as if those predictions were not there: the same as predictions without them.
    kept = tmp_path / "kept"
    kept.mkdir()
    for file in sorted(pred.glob("*.json")):
        frames = json.loads(file.read_text())
        for frame in frames:
            frame["labels"] = [label for label in frame["labels"] if label["category"] != "cyclist"]
        (kept / file.name).write_text(json.dumps(frames))
    reference = tmp_path / "ref.json"
    assert main(["--task", "track", "--gt", str(LABELS), "--pred", str(kept), "--output", str(reference)]) == 0
    assert track == json.loads(reference.read_text())["track"]
    assert track["overall"]["FN"] > 0


def test_drop_unknown_also_drops_ground_truth_the_config_does_not_list(tmp_path: Path) -> None:
    pred, _ = predictions_with_a_category_the_gt_lacks(tmp_path / "pred")
    config = tmp_path / "exp.toml"
    config.write_text('categories = ["car"]\n[model]\ntype = "detector"\n')
    argv = ["--task", "det", "--gt", str(LABELS), "--pred", str(pred), "--config", str(config)]
    assert main(argv) == 2  # the ground truth has pedestrians, which the config does not list
    out = tmp_path / "m.json"
    assert main([*argv, "--drop-unknown", "--output", str(out)]) == 0
    assert list(json.loads(out.read_text())["det"]["per_class"]) == ["car"]


def _shifted_copy(folder: Path, shift: int) -> Path:
    """The BDD100K sample's labels as predictions, each frame holding the labels of ``shift`` frames earlier."""
    folder.mkdir(parents=True)
    for file in sorted(LABELS.glob("*.json")):
        frames = json.loads(file.read_text())
        moved = [frames[i - shift]["labels"] if i >= shift else [] for i in range(len(frames))]
        out = [
            {**frame, "labels": [{**label, "score": 0.9} for label in labels]} for frame, labels in zip(frames, moved)
        ]
        (folder / file.name).write_text(json.dumps(out))
    return folder


def test_predictions_off_by_one_frame_get_one_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Real BDD100K frames at 5 fps: labels written one frame late fit the previous frame's ground truth best."""
    argv = ["--task", "track", "--gt", str(LABELS), "--config", str(LABEL_CONFIG)]
    assert main([*argv, "--pred", str(_shifted_copy(tmp_path / "own", 0))]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*argv, "--pred", str(_shifted_copy(tmp_path / "late", 1))]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {tmp_path / 'late'}: predictions fit the ground truth of the previous frame far better than "
        "their own (205 vs 145 of 205 boxes at IoU 0.5); are frame names or indices off by one?"
    ]


def test_scores_outside_zero_one_are_ranked_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Logits rank like probabilities: the metrics are those of the same predictions with scores in [0, 1]."""
    logits, probabilities = _shifted_copy(tmp_path / "logits", 0), _shifted_copy(tmp_path / "probabilities", 0)
    for folder, scale in ((logits, lambda i: 3.0 - i * 0.5), (probabilities, lambda i: 0.9 - i * 0.01)):
        for file in sorted(folder.glob("*.json")):
            frames = json.loads(file.read_text())
            for frame in frames:
                for i, label in enumerate(frame["labels"]):
                    label["score"] = scale(i)
            file.write_text(json.dumps(frames))
    argv = ["--task", "det", "--gt", str(LABELS), "--config", str(LABEL_CONFIG)]
    assert main([*argv, "--pred", str(probabilities), "--output", str(tmp_path / "p.json")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*argv, "--pred", str(logits), "--output", str(tmp_path / "l.json")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "predicted box(es) have a score outside [0, 1]" in err and ": score 3;" in err
    assert json.loads((tmp_path / "l.json").read_text())["det"] == json.loads((tmp_path / "p.json").read_text())["det"]
