"""Round trips of every prediction writer, and what an interrupted run leaves behind."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.data.formats import WriterSettings, build_writers, merge_rank_files, rank_file_name
from vis4d.data.formats.coco import COCOWriter
from vis4d.data.formats.motchallenge import MOTChallengeWriter
from vis4d.data.formats.scalabel import BDD100KWriter, ScalabelWriter

CATEGORIES = ("car", "pedestrian", "cyclist")


def make_frames(seed: int = 0, with_tracks: bool = True) -> list[tuple[FrameMeta, dict[str, np.ndarray | None]]]:
    """Two videos of 3 frames (one frame without boxes) and a video without any prediction."""
    rng = np.random.default_rng(seed)
    frames: list[tuple[FrameMeta, dict[str, np.ndarray | None]]] = []
    row = 0
    for video, counts in (("vid-a", [4, 0, 3]), ("vid-b", [2, 5, 1]), ("vid-empty", [0, 0])):
        for index, num in enumerate(counts):
            xy = rng.uniform(0, 600, size=(num, 2))
            wh = rng.uniform(1, 200, size=(num, 2))
            boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
            meta = FrameMeta(
                name=f"{video}-{index:07d}.jpg",
                video_name=video,
                frame_index=index,
                image_path=f"/images/{video}/{video}-{index:07d}.jpg",
                original_hw=(720, 1280),
                input_hw=(720, 1280),
                frame_row=row,
            )
            row += 1
            frames.append(
                (
                    meta,
                    {
                        "boxes": boxes,
                        "scores": rng.uniform(0, 1, num).astype(np.float32),
                        "class_ids": rng.integers(0, len(CATEGORIES), num).astype(np.int64),
                        "track_ids": rng.permutation(1000)[:num].astype(np.int64) if with_tracks else None,
                    },
                )
            )
    return frames


def as_output(meta: FrameMeta, pred: dict[str, np.ndarray | None]) -> FrameOutput:
    return FrameOutput(meta, pred["boxes"], pred["scores"], pred["class_ids"], pred["track_ids"])  # type: ignore[arg-type]


def feed(writer, frames) -> list[Path]:  # type: ignore[no-untyped-def]
    for meta, pred in frames:
        writer.add_frame(as_output(meta, pred))
    return writer.close()  # type: ignore[no-any-return]


def parse_scalabel_frames(frames_json: list[dict]) -> dict[str, dict[str, np.ndarray | str | int]]:
    out = {}
    for frame in frames_json:
        labels = frame["labels"]
        out[frame["name"]] = {
            "video": frame.get("videoName", ""),
            "frame_index": frame["frameIndex"],
            "boxes": np.array(
                [[lab["box2d"][k] for k in ("x1", "y1", "x2", "y2")] for lab in labels], dtype=np.float32
            ).reshape(-1, 4),
            "scores": np.array([lab["score"] for lab in labels], dtype=np.float32),
            "class_ids": np.array([CATEGORIES.index(lab["category"]) for lab in labels], dtype=np.int64),
            "ids": [lab["id"] for lab in labels],
        }
    return out


def assert_scalabel_equal(parsed: dict, frames: list, with_tracks: bool = True) -> None:
    assert set(parsed) == {meta.name for meta, _ in frames}
    for meta, pred in frames:
        got = parsed[meta.name]
        assert got["video"] == meta.video_name
        assert got["frame_index"] == meta.frame_index
        np.testing.assert_array_equal(got["boxes"], pred["boxes"])
        np.testing.assert_array_equal(got["scores"], pred["scores"])
        np.testing.assert_array_equal(got["class_ids"], pred["class_ids"])
        if with_tracks:
            assert got["ids"] == [str(t) for t in pred["track_ids"]]


def test_scalabel_single_file_round_trip_is_exact(tmp_path: Path) -> None:
    frames = make_frames()
    written = feed(ScalabelWriter(WriterSettings(tmp_path, "bdd_val", CATEGORIES)), frames)
    assert written == [tmp_path / "predictions" / "bdd_val.json"]
    data = json.loads(written[0].read_text())
    assert [f["name"] for f in data] == [m.name for m, _ in frames]  # inference order kept
    assert_scalabel_equal(parse_scalabel_frames(data), frames)
    assert sorted(p.name for p in (tmp_path / "predictions").iterdir()) == ["bdd_val.json"]  # no temp left


def test_scalabel_without_tracks_has_unique_label_ids(tmp_path: Path) -> None:
    frames = make_frames(seed=3, with_tracks=False)
    (path,) = feed(ScalabelWriter(WriterSettings(tmp_path, "det", CATEGORIES)), frames)
    data = json.loads(path.read_text())
    ids = [lab["id"] for f in data for lab in f["labels"]]
    assert ids == [str(i) for i in range(sum(len(p["boxes"]) for _, p in frames))]
    assert_scalabel_equal(parse_scalabel_frames(data), frames, with_tracks=False)


def test_scalabel_per_video_files(tmp_path: Path) -> None:
    frames = make_frames(seed=1)
    written = feed(ScalabelWriter(WriterSettings(tmp_path, "ds", CATEGORIES, per_video=True)), frames)
    folder = tmp_path / "predictions" / "scalabel"
    assert written == [folder / "vid-a.json", folder / "vid-b.json", folder / "vid-empty.json"]
    parsed: dict = {}
    for path in written:
        frames_json = json.loads(path.read_text())
        assert {f["videoName"] for f in frames_json} == {path.stem}
        parsed.update(parse_scalabel_frames(frames_json))
    assert_scalabel_equal(parsed, frames)
    empty = json.loads((folder / "vid-empty.json").read_text())
    assert [len(f["labels"]) for f in empty] == [0, 0]


def test_bdd100k_per_video_files_and_submission_zip(tmp_path: Path) -> None:
    frames = make_frames(seed=2)
    written = feed(BDD100KWriter(WriterSettings(tmp_path, "bdd_val", CATEGORIES, zip_submission=True)), frames)
    folder = tmp_path / "predictions" / "bdd100k"
    assert written == [folder / f"{v}.json" for v in ("vid-a", "vid-b", "vid-empty")] + [folder / "submission.zip"]
    parsed: dict = {}
    with zipfile.ZipFile(folder / "submission.zip") as archive:
        assert sorted(archive.namelist()) == ["vid-a.json", "vid-b.json", "vid-empty.json"]
        for name in archive.namelist():
            frames_json = json.loads(archive.read(name))
            assert frames_json == json.loads((folder / name).read_text())
            parsed.update(parse_scalabel_frames(frames_json))
    assert_scalabel_equal(parsed, frames)


def read_mot(path: Path) -> np.ndarray:
    text = path.read_text()
    if not text:
        return np.zeros((0, 10))
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_motchallenge_round_trip(tmp_path: Path) -> None:
    frames = make_frames(seed=4)
    written = feed(MOTChallengeWriter(WriterSettings(tmp_path, "mot", CATEGORIES)), frames)
    folder = tmp_path / "predictions" / "motchallenge"
    assert written == [folder / f"{v}.txt" for v in ("vid-a", "vid-b", "vid-empty")]
    assert (folder / "vid-empty.txt").read_text() == ""
    for path in written:
        rows = read_mot(path)
        expected = [(m, p) for m, p in frames if m.video_name == path.stem]
        exp_frames = np.concatenate([np.full(len(p["boxes"]), m.frame_index + 1) for m, p in expected])
        exp_boxes = np.concatenate([p["boxes"] for _, p in expected])
        assert len(rows) == len(exp_boxes)
        if not len(rows):
            continue
        np.testing.assert_array_equal(rows[:, 0], exp_frames)  # 1-based frames
        np.testing.assert_array_equal(rows[:, 1], np.concatenate([p["track_ids"] for _, p in expected]))
        xyxy = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1).astype(np.float32)
        np.testing.assert_array_equal(xyxy, exp_boxes)  # exact after xywh -> xyxy
        np.testing.assert_array_equal(rows[:, 6].astype(np.float32), np.concatenate([p["scores"] for _, p in expected]))
        np.testing.assert_array_equal(rows[:, 7:], -1)


def test_motchallenge_without_tracks_writes_minus_one_ids(tmp_path: Path) -> None:
    frames = make_frames(seed=5, with_tracks=False)
    written = feed(MOTChallengeWriter(WriterSettings(tmp_path, "mot", CATEGORIES)), frames)
    rows = read_mot(written[0])
    assert len(rows) == 7 and np.all(rows[:, 1] == -1)


def test_coco_round_trip(tmp_path: Path) -> None:
    frames = make_frames(seed=6, with_tracks=False)
    path, images_path = feed(COCOWriter(WriterSettings(tmp_path, "coco_val", CATEGORIES)), frames)
    assert path == tmp_path / "predictions" / "coco_val_coco.json"
    images = json.loads(images_path.read_text())
    assert [(im["id"], im["file_name"], im["width"], im["height"]) for im in images["images"]] == [
        (m.frame_row, m.name, 1280, 720) for m, _ in frames
    ]
    assert images["categories"] == [{"id": i + 1, "name": c} for i, c in enumerate(CATEGORIES)]
    results = json.loads(path.read_text())
    assert len(results) == sum(len(p["boxes"]) for _, p in frames)
    by_image: dict[int, list[dict]] = {}
    for res in results:
        by_image.setdefault(res["image_id"], []).append(res)
    for meta, pred in frames:
        got = by_image.get(meta.frame_row, [])
        assert len(got) == len(pred["boxes"])
        if not got:
            continue
        xywh = np.array([r["bbox"] for r in got], dtype=np.float64)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1).astype(np.float32)
        np.testing.assert_array_equal(xyxy, pred["boxes"])
        np.testing.assert_array_equal(np.array([r["score"] for r in got], dtype=np.float32), pred["scores"])
        np.testing.assert_array_equal([r["category_id"] for r in got], pred["class_ids"] + 1)  # 1-based


def test_coco_image_id_from_meta_or_arrival_order(tmp_path: Path) -> None:
    writer = COCOWriter(WriterSettings(tmp_path, "x", CATEGORIES))
    box = np.array([[1, 2, 3, 4]], np.float32)
    meta = FrameMeta("a.jpg", "", 0, "a.jpg", (10, 10), (10, 10))  # no store row
    meta_with_id = FrameMeta("b.jpg", "", 0, "b.jpg", (10, 10), (10, 10))
    meta_with_id.image_id = 397133  # type: ignore[attr-defined]
    writer.add_frame(FrameOutput(meta, box, np.array([0.5]), np.array([2]), None))
    writer.add_frame(FrameOutput(meta_with_id, box, np.array([0.5]), np.array([0]), None))
    path, _ = writer.close()
    results = json.loads(path.read_text())
    assert [(r["image_id"], r["category_id"]) for r in results] == [(0, 3), (397133, 1)]


def test_empty_runs_still_write_valid_files(tmp_path: Path) -> None:
    writers = build_writers(["scalabel", "coco", "bdd100k", "motchallenge"], WriterSettings(tmp_path, "ds", CATEGORIES))
    written = [p for w in writers for p in w.close()]
    pred_dir = tmp_path / "predictions"
    assert written == [pred_dir / "ds.json", pred_dir / "ds_coco.json", pred_dir / "ds_coco_images.json"]
    assert all(json.loads(p.read_text()) == [] for p in written[:2])
    assert json.loads(written[2].read_text())["images"] == []


def test_interrupted_run_leaves_no_partial_file(tmp_path: Path) -> None:
    frames = make_frames(seed=7)
    writers = build_writers(["scalabel", "coco", "motchallenge", "bdd100k"], WriterSettings(tmp_path, "ds", CATEGORIES))

    def run() -> None:
        for i, (meta, pred) in enumerate(frames):
            if i == 4:  # second frame of vid-b: vid-a is finished, vid-b is not
                raise KeyboardInterrupt
            for writer in writers:
                writer.add_frame(as_output(meta, pred))

    with pytest.raises(KeyboardInterrupt):
        run()
    pred_dir = tmp_path / "predictions"
    hidden = sorted(p.name for p in pred_dir.rglob(".*"))
    assert len(hidden) == 4  # the open temp files of each writer exist before abort
    for writer in writers:
        writer.abort()
    files = sorted(str(p.relative_to(pred_dir)) for p in pred_dir.rglob("*") if p.is_file())
    # Whole-dataset files are absent; per-video files exist only for the finished video.
    assert files == ["bdd100k/vid-a.json", "motchallenge/vid-a.txt"]
    assert len(json.loads((pred_dir / "bdd100k" / "vid-a.json").read_text())) == 3


def test_per_video_writer_rejects_non_contiguous_video(tmp_path: Path) -> None:
    frames = make_frames()
    writer = MOTChallengeWriter(WriterSettings(tmp_path, "ds", CATEGORIES))
    order = [frames[0], frames[3], frames[1]]  # vid-a, vid-b, vid-a again
    with pytest.raises(ValueError, match="contiguously"):
        feed(writer, order)
    writer.abort()


def test_bad_inputs(tmp_path: Path) -> None:
    meta = make_frames()[0][0]
    writer = ScalabelWriter(WriterSettings(tmp_path, "ds", CATEGORIES))
    with pytest.raises(ValueError, match="class id out of range"):
        writer.add_frame(FrameOutput(meta, np.zeros((1, 4)), np.ones(1), np.array([3]), None))
    with pytest.raises(ValueError, match="same length"):
        writer.add_frame(FrameOutput(meta, np.zeros((2, 4)), np.ones(1), np.array([0]), None))
    with pytest.raises(ConfigError, match="launch.output_formats: unknown format 'kitti'"):
        build_writers(["kitti"], WriterSettings(tmp_path, "ds", CATEGORIES))


def test_special_characters_are_valid_json(tmp_path: Path) -> None:
    meta = FrameMeta('we"ird\\name.jpg', 'vi"d', 0, "x", (10, 10), (10, 10))
    writer = ScalabelWriter(WriterSettings(tmp_path, "ds", ['tra"m']))
    writer.add_frame(FrameOutput(meta, np.array([[1, 2, 3, 4]]), np.array([1.0]), np.array([0]), np.array([7])))
    (path,) = writer.close()
    (frame,) = json.loads(path.read_text())
    assert frame["name"] == 'we"ird\\name.jpg' and frame["videoName"] == 'vi"d'
    assert frame["labels"][0]["category"] == 'tra"m'


def test_scalabel_file_loads_with_the_dataset_loader(tmp_path: Path) -> None:
    from vis4d.data.datasets.scalabel import load_scalabel

    frames = make_frames(seed=8)
    (path,) = feed(ScalabelWriter(WriterSettings(tmp_path, "ds", CATEGORIES)), frames)
    store = load_scalabel(path, CATEGORIES, progress=False)
    assert list(store.video_names) == ["vid-a", "vid-b", "vid-empty"]
    assert store.num_frames == len(frames)
    for row, (meta, pred) in enumerate(frames):
        assert store.frame_names[row] == meta.name
        got = store.frame_boxes(row)
        np.testing.assert_array_equal(got["boxes"], pred["boxes"])
        np.testing.assert_array_equal(got["scores"], pred["scores"])
        np.testing.assert_array_equal(got["class_ids"], pred["class_ids"])
        # The loader renumbers track ids per video; the partition into tracks is what must survive.
        assert len(np.unique(got["track_ids"])) == len(pred["track_ids"])


def test_coco_results_load_with_the_dataset_loader(tmp_path: Path) -> None:
    from vis4d.data.datasets.coco import load_coco

    frames = make_frames(seed=9, with_tracks=False)
    results, images = feed(COCOWriter(WriterSettings(tmp_path, "ds", CATEGORIES)), frames)
    store = load_coco(images, CATEGORIES, results=results)
    assert list(store.frame_names) == [m.name for m, _ in frames]
    for row, (_, pred) in enumerate(frames):
        got = store.frame_boxes(row)
        np.testing.assert_array_equal(got["boxes"], pred["boxes"])
        np.testing.assert_array_equal(got["scores"], pred["scores"])
        np.testing.assert_array_equal(got["class_ids"], pred["class_ids"])


@pytest.mark.parametrize("per_video", [False, True])
def test_distributed_rank_files_merge_into_the_single_process_layout(tmp_path: Path, per_video: bool) -> None:
    """Two processes, each inferring whole videos, end with the same files as one process."""
    frames = make_frames(seed=9)
    formats = ["scalabel", "bdd100k", "motchallenge", "coco"]
    single = tmp_path / "single"
    single_files: list[Path] = []
    for writer in build_writers(
        formats, WriterSettings(single, "val", CATEGORIES, per_video=per_video, zip_submission=True)
    ):
        single_files += feed(writer, frames)

    multi = tmp_path / "multi"
    videos_of_rank = ({"vid-a", "vid-empty"}, {"vid-b"})
    files_per_rank = []
    for rank, videos in enumerate(videos_of_rank):
        own = [f for f in frames if f[0].video_name in videos]
        name = rank_file_name("val", rank, world_size=2)
        files_per_rank.append(
            [
                path
                for w in build_writers(formats, WriterSettings(multi, name, CATEGORIES, per_video=per_video))
                for path in feed(w, own)
            ]
        )
    assert any(".rank1" in p.name for p in files_per_rank[1]), "dataset-level files carry the rank"
    merged = merge_rank_files(files_per_rank, zip_submission=True)

    assert sorted(p.relative_to(multi) for p in merged) == sorted(p.relative_to(single) for p in single_files)
    assert not list(multi.rglob("*.rank*")), "rank files are removed after merging"
    for path in single_files:
        twin = multi / path.relative_to(single)
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as a, zipfile.ZipFile(twin) as b:
                assert sorted(a.namelist()) == sorted(b.namelist())
                assert all(a.read(n) == b.read(n) for n in a.namelist())
        elif path.suffix == ".json":
            ours, reference = json.loads(twin.read_text()), json.loads(path.read_text())
            if isinstance(reference, dict):  # COCO images file: same images, rank order
                ours["images"].sort(key=lambda im: im["id"])
            key = (lambda d: json.dumps(d, sort_keys=True)) if isinstance(reference, list) else None
            if key is not None:
                ours, reference = sorted(ours, key=key), sorted(reference, key=key)
            assert ours == reference, path.name
        else:
            assert sorted(twin.read_text().splitlines()) == sorted(path.read_text().splitlines())


def test_rank_file_name() -> None:
    assert rank_file_name("val", 0, 1) == "val"
    assert rank_file_name("val", 3, 4) == "val.rank3"


def test_merge_leaves_rank_files_when_another_process_file_is_not_visible(tmp_path: Path) -> None:
    frames = make_frames(seed=10)
    own = [f for f in frames if f[0].video_name == "vid-a"]
    written = feed(ScalabelWriter(WriterSettings(tmp_path, rank_file_name("val", 0, 2), CATEGORIES)), own)
    invisible = tmp_path / "predictions" / "val.rank1.json"  # written on another machine
    with pytest.warns(UserWarning, match="cannot merge val.json"):
        merged = merge_rank_files([written, [invisible]])
    assert merged == written and written[0].is_file() and not (tmp_path / "predictions" / "val.json").exists()


def test_coco_results_of_a_coco_test_set_score_against_the_original_file(tmp_path: Path) -> None:
    """Ground truth written back as predictions scores AP 1 with pycocotools on the original file."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from tests.data.datasets.loader_helpers import COCO_INSTANCES
    from vis4d.data.datasets import load_coco

    store = load_coco(COCO_INSTANCES, None, tmp_path)
    writer = COCOWriter(
        WriterSettings(tmp_path, "coco_val", store.categories, category_ids=store.category_ids.tolist())
    )
    for row in range(store.num_frames):
        meta = FrameMeta(
            name=str(store.frame_names[row]),
            video_name=str(store.video_names[row]),
            frame_index=0,
            image_path=str(store.image_paths[row]),
            original_hw=(int(store.heights[row]), int(store.widths[row])),
            input_hw=(int(store.heights[row]), int(store.widths[row])),
            frame_row=row,
            image_id=int(store.image_ids[row]),
        )
        sl = store.box_slice(row)
        writer.add_frame(
            FrameOutput(meta, store.boxes[sl], np.ones(sl.stop - sl.start, np.float32), store.class_ids[sl], None)
        )
    results_path, images_path = writer.close()
    results = json.loads(results_path.read_text())
    assert {r["image_id"] for r in results} == {397133, 37777}

    gt = COCO(str(COCO_INSTANCES))
    evaluation = COCOeval(gt, gt.loadRes(str(results_path)), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)
    categories = json.loads(images_path.read_text())["categories"]
    assert [c["id"] for c in categories] == store.category_ids.tolist()


def test_coco_writer_falls_back_to_positions_when_a_category_has_no_id(tmp_path: Path) -> None:
    box = np.array([[1, 2, 3, 4]], np.float32)
    meta = FrameMeta("a.jpg", "", 0, "a.jpg", (10, 10), (10, 10), frame_row=0)
    writer = COCOWriter(
        WriterSettings(tmp_path, "x", CATEGORIES, category_ids=[7, -1, 9])
    )  # mixing could collide: positions for all
    writer.add_frame(FrameOutput(meta, box, np.ones(1, np.float32), np.array([2]), None))
    path, _ = writer.close()
    assert json.loads(path.read_text())[0]["category_id"] == 3
