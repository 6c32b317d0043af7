"""`vis4d vis` on tiny images written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vis4d.vis.cli import main, read_scalabel_for_drawing
from vis4d.vis.draw import TITLE_BAR_HEIGHT, track_color
from vis4d.vis.video import read_video_frame_count

H, W = 96, 128
BACKGROUND = 90


def write_dataset(root: Path) -> tuple[Path, Path, Path]:
    images = root / "images"
    for video in ("v1", "v2"):
        (images / video).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(images / video / f"{video}-{i}.jpg"), np.full((H, W, 3), BACKGROUND, np.uint8))
    box = {"x1": 30.0, "y1": 40.0, "x2": 90.0, "y2": 90.0}
    pred = [
        {
            "name": f"{v}-{i}.jpg",
            "videoName": v,
            "frameIndex": i,
            "labels": [{"id": "7", "category": "car", "score": 0.9, "box2d": box}],
        }
        for v in ("v1", "v2")
        for i in range(3)
    ]
    pred.reverse()  # file order does not matter: frames are drawn in video/frame order
    gt = [
        {
            "name": f"v1-{i}.jpg",
            "videoName": "v1",
            "frameIndex": i,
            "labels": [
                {"id": "a", "category": "pedestrian", "box2d": {"x1": 5.0, "y1": 50.0, "x2": 20.0, "y2": 90.0}},
                {
                    "id": "b",
                    "category": "car",
                    "attributes": {"crowd": True},
                    "box2d": {"x1": 60.0, "y1": 5.0, "x2": 120.0, "y2": 30.0},
                },
            ],
        }
        for i in range(3)
    ]
    pred_path, gt_path = root / "pred.json", root / "gt.json"
    pred_path.write_text(json.dumps(pred))
    gt_path.write_text(json.dumps({"frames": gt}))
    return images, pred_path, gt_path


def test_predictions_drawn_with_ground_truth_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    images, pred, gt = write_dataset(tmp_path)
    out = tmp_path / "out"
    assert main(["--images", str(images), "--pred", str(pred), "--gt", str(gt), "--output", str(out), "--video"]) == 0
    assert "wrote 6 pictures and 2 videos" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "v1").iterdir()) == ["v1-0.jpg", "v1-1.jpg", "v1-2.jpg"]
    assert read_video_frame_count(out / "v1.mp4") == 3 and read_video_frame_count(out / "v2.mp4") == 3
    picture = cv2.cvtColor(cv2.imread(str(out / "v1" / "v1-1.jpg")), cv2.COLOR_BGR2RGB).astype(float)
    assert picture.shape == (H + TITLE_BAR_HEIGHT, 2 * W, 3)  # gt left, predictions right, titled
    body = picture[TITLE_BAR_HEIGHT:]
    left_edge_of_pred = body[50:85, W + 30].mean(axis=0)  # prediction's left edge, right half
    same_place_in_gt = body[50:85, 30].mean(axis=0)
    color = np.array(track_color(7), dtype=float)
    assert np.linalg.norm(left_edge_of_pred - color) < np.linalg.norm(left_edge_of_pred - BACKGROUND)
    assert np.abs(same_place_in_gt - BACKGROUND).max() < 10
    # The crowd box of the ground truth is hatched: stripes change the gt side, not the prediction side.
    assert np.abs(body[10:25, 70:110] - BACKGROUND).mean() > 8
    assert np.abs(body[5:18, W + 70 : W + 110] - BACKGROUND).mean() < 3  # (rows above the prediction's label)
    assert picture[: TITLE_BAR_HEIGHT - 4].max() > 200  # title text


def test_predictions_only_and_flat_image_folder(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    cv2.imwrite(str(images / "a.jpg"), np.zeros((H, W, 3), np.uint8))
    pred = tmp_path / "det.json"
    pred.write_text(
        json.dumps(
            [
                {
                    "name": "a.jpg",
                    "labels": [
                        {"id": "0", "category": "car", "score": 0.5, "box2d": {"x1": 1, "y1": 2, "x2": 50, "y2": 60}}
                    ],
                }
            ]
        )
    )
    assert main(["--images", str(images), "--pred", str(pred), "--output", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.jpg"]


def test_reader_accepts_a_folder_of_per_video_files(tmp_path: Path) -> None:
    folder = tmp_path / "preds"
    folder.mkdir()
    for video in ("x", "y"):
        (folder / f"{video}.json").write_text(json.dumps([{"name": f"{video}.jpg", "videoName": video, "labels": []}]))
    frames = read_scalabel_for_drawing(folder)
    assert [(f.video_name, len(f.boxes)) for f in frames] == [("x", 0), ("y", 0)]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no_images", "--images: image folder not found"),
        ("bad_json", "pred.json:1:3: malformed JSON: "),
        ("missing_image", "image of frame 'nope.jpg' not found"),
        ("bad_box", "box2d needs numeric"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, case: str, message: str
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    pred = tmp_path / "pred.json"
    frame = {"name": "nope.jpg", "labels": []}
    if case == "bad_box":
        cv2.imwrite(str(images / "nope.jpg"), np.zeros((8, 8, 3), np.uint8))
        frame["labels"] = [{"category": "car", "box2d": {"x1": "a", "y1": 0, "x2": 1, "y2": 1}}]
    pred.write_text("[{oops" if case == "bad_json" else json.dumps([frame]))
    image_arg = str(tmp_path / "missing") if case == "no_images" else str(images)
    assert main(["--images", image_arg, "--pred", str(pred), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def write_mot(root: Path) -> tuple[Path, Path]:
    """A 3-frame MOTChallenge sequence with images, ground truth and a tracker output."""
    seq = root / "mot" / "SEQ-01"
    (seq / "gt").mkdir(parents=True)
    (seq / "img1").mkdir()
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=30\nseqLength=3\nimWidth={W}\nimHeight={H}\nimExt=.jpg\n"
    )
    for i in range(1, 4):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((H, W, 3), BACKGROUND, np.uint8))
    (seq / "gt" / "gt.txt").write_text("".join(f"{i},1,30,40,60,50,1,1,1.0\n" for i in range(1, 4)))
    results = root / "results"
    results.mkdir()
    (results / "SEQ-01.txt").write_text("".join(f"{i},5,32,41,60,50,0.8,-1,-1,-1\n" for i in range(1, 3)))
    return root / "mot", results


def test_mot_results_drawn_from_the_sequences_images(tmp_path: Path) -> None:
    gt, results = write_mot(tmp_path)
    out = tmp_path / "out"
    assert main(["--gt", str(gt), "--pred", str(results), "--output", str(out)]) == 0  # format detected
    pictures = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert pictures == [f"SEQ-01/{i:06d}.jpg" for i in range(1, 4)]  # frame 3 has ground truth only
    drawn = cv2.imread(str(out / "SEQ-01" / "000001.jpg"))
    assert drawn.shape[1] == 2 * W, "ground truth and predictions side by side"
    right = drawn[TITLE_BAR_HEIGHT:, W:]
    expected = np.array(track_color(5)[::-1])  # BGR: the prediction's track colour on the box edge
    assert np.abs(right[41, 32:92].astype(int) - expected).sum(axis=1).min() < 60


def test_coco_results_drawn_with_the_image_root(tmp_path: Path) -> None:
    images = tmp_path / "coco_images"
    images.mkdir()
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(images / name), np.full((H, W, 3), BACKGROUND, np.uint8))
    instances = {
        "images": [{"id": 10, "file_name": "a.jpg", "width": W, "height": H}, {"id": 11, "file_name": "b.jpg"}],
        "annotations": [{"id": 1, "image_id": 10, "category_id": 3, "bbox": [30, 40, 60, 50], "iscrowd": 0}],
        "categories": [{"id": 3, "name": "car"}],
    }
    gt = tmp_path / "instances.json"
    gt.write_text(json.dumps(instances))
    pred = tmp_path / "results.json"
    pred.write_text(json.dumps([{"image_id": 11, "category_id": 3, "bbox": [5, 5, 20, 20], "score": 0.7}]))
    out = tmp_path / "out"
    args = ["--gt", str(gt), "--pred", str(pred), "--images", str(images), "--output", str(out)]
    assert main([*args, "--format", "coco"]) == 0
    assert sorted(p.name for p in out.glob("*.jpg")) == ["a.jpg", "b.jpg"]  # image datasets: flat output


def test_mot_without_gt_needs_images_and_coco_needs_ground_truth(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    _, results = write_mot(tmp_path)
    assert main(["--pred", str(results), "--format", "motchallenge", "--output", str(tmp_path / "o")]) == 2
    assert "--images is required for motchallenge predictions without --gt" in capsys.readouterr().err
    assert main(["--pred", str(results), "--output", str(tmp_path / "o")]) == 2  # detected as motchallenge
    assert "--images is required for motchallenge" in capsys.readouterr().err
    coco = tmp_path / "results.json"
    coco.write_text("[]")
    assert main(["--pred", str(coco), "--format", "coco", "--output", str(tmp_path / "o")]) == 2
    assert "--format coco needs --gt" in capsys.readouterr().err


# Natural order (what predict numbers by): frame2 before frame10; plain string order would put frame10 first.
FRAME_NAMES = ("frame1.png", "frame2.png", "frame10.png")


def predict_like_motchallenge_files(root: Path, images: Path | None = None) -> tuple[Path, Path]:
    """An image folder of two videos and the MOTChallenge files predict writes for it (same scan, same writer).

    Frame k of each video is a flat grey of ``40 * (k + 1)``; a box moves right by 10 px per frame. ``images``:
    predict on that input instead (a video file, say).
    """
    from vis4d.common.structures import FrameMeta, FrameOutput
    from vis4d.data.datasets.image_folder import scan_input_dir
    from vis4d.data.formats import WriterSettings, build_writers

    if images is None:
        images = root / "frames"
        for video in ("clipA", "clipB"):
            (images / video).mkdir(parents=True)
            for k, name in enumerate(FRAME_NAMES):
                cv2.imwrite(str(images / video / name), np.full((H, W, 3), 40 * (k + 1), np.uint8))
    store = scan_input_dir(images)  # what predict --input_dir runs on
    (writer,) = build_writers(["motchallenge"], WriterSettings(root / "run", "frames", ["object"]))
    video_of = store.frame_video_ids()
    for row in range(store.num_frames):
        name, video = str(store.frame_names[row]), str(store.video_names[video_of[row]])
        meta = FrameMeta(name, video, int(store.frame_index[row]), str(store.image_paths[row]), (H, W), (H, W), row)
        k = int(store.frame_index[row])
        boxes = np.array([[10 + 10 * k, 20, 50 + 10 * k, 70]], np.float32)
        if meta.video_name == "clipB" and k == 1:  # a frame without detections
            boxes = np.zeros((0, 4), np.float32)
        n = len(boxes)
        writer.add_frame(FrameOutput(meta, boxes, np.full(n, 0.8, np.float32), np.zeros(n, np.int64),
                                     np.full(n, 3 + int(video_of[row]), np.int64)))  # fmt: skip
    writer.close()
    return images, root / "run" / "predictions" / "motchallenge"


def test_mot_predictions_drawn_on_the_image_folder_predict_ran_on(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    images, results = predict_like_motchallenge_files(tmp_path)
    assert sorted(p.name for p in results.iterdir()) == ["clipA.txt", "clipB.txt"]
    assert (results / "clipA.txt").read_text().splitlines()[2].startswith("3,3,30.0,20.0,40.0,50.0,0.8")
    out = tmp_path / "out"
    assert main(["--pred", str(results), "--images", str(images), "--output", str(out), "--video"]) == 0  # no --gt
    assert "wrote 6 pictures and 2 videos" in capsys.readouterr().out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg")) == sorted(
        f"{video}/{Path(name).stem}.jpg" for video in ("clipA", "clipB") for name in FRAME_NAMES
    )
    for video, track in (("clipA", 3), ("clipB", 4)):
        for k, name in enumerate(FRAME_NAMES):
            drawn = cv2.imread(str(out / video / f"{Path(name).stem}.jpg")).astype(int)
            assert drawn.shape == (H, W, 3)  # predictions only: no ground-truth half, no title bar
            # The picture is frame k's own image (its grey), and the box of frame k is at x = 10 + 10 k.
            assert np.abs(drawn[H - 5, W - 5] - 40 * (k + 1)).max() < 8
            # Colour along the box's left edge (a 5-pixel band: JPEG spreads a 1-pixel line's colour).
            band = drawn[30:60, 8 + 10 * k : 13 + 10 * k]
            coloured = np.abs(band - 40 * (k + 1)).sum(axis=2).mean()
            assert (coloured > 15) == (not (video == "clipB" and k == 1)), (video, name, coloured)  # clipB 2: none
            if coloured > 15:  # and in the track's colour: its strongest channel is the track colour's
                assert np.argmax(band.mean(axis=(0, 1))) == np.argmax(track_color(track)[::-1])


def test_mot_predictions_of_another_folder_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    images, results = predict_like_motchallenge_files(tmp_path)
    (results / "clipC.txt").write_text("1,1,1,1,5,5,0.5,-1,-1,-1\n")
    assert main(["--pred", str(results), "--images", str(images), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "has no video 'clipC'" in err and "['clipA', 'clipB']" in err and err.count("\n") == 1
    (results / "clipC.txt").unlink()
    (results / "clipA.txt").write_text("4,1,1,1,5,5,0.5,-1,-1,-1\n")
    assert main(["--pred", str(results), "--images", str(images), "--output", str(tmp_path / "o2")]) == 2
    assert "frame 4, but 'clipA' under --images" in capsys.readouterr().err


def test_mot_predictions_drawn_on_the_video_file_predict_ran_on(tmp_path: Path) -> None:
    from vis4d.vis.video import VideoWriter

    video = tmp_path / "clipA.mp4"
    writer = VideoWriter(video, 5.0, (W, H))
    for k in range(3):
        writer.write(np.full((H, W, 3), 40 * (k + 1), np.uint8))
    writer.close()
    images, results = predict_like_motchallenge_files(tmp_path, video)
    assert [p.name for p in results.iterdir()] == ["clipA.txt"]
    out = tmp_path / "out"
    assert main(["--pred", str(results), "--images", str(video), "--output", str(out)]) == 0
    assert sorted(p.name for p in (out / "clipA").iterdir()) == [f"clipA-{k:06d}.jpg" for k in range(3)]
    for k in range(3):
        drawn = cv2.imread(str(out / "clipA" / f"clipA-{k:06d}.jpg")).astype(int)
        assert np.abs(drawn[H - 5, W - 5] - 40 * (k + 1)).max() < 12  # frame k of the video
        assert np.abs(drawn[30:60, 8 + 10 * k : 13 + 10 * k] - 40 * (k + 1)).sum(axis=2).mean() > 15  # its box
