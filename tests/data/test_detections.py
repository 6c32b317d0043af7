"""Detection files as a tracker's input: every format vis4d reads, named and framed as ``vis4d eval`` expects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.detections import DetectionRequest, detection_format, read_detections
from vis4d.data.formats.motchallenge import sequence_of

SEQINFO = (
    "[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength={length}\nimWidth=640\nimHeight=480\nimExt=.jpg\n"
)
DET = "1,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,100,100,10,20,0.4,-1,-1,-1\n3,-1,12,22,30,40,0.8,-1,-1,-1\n"


def _sequence(root: Path, name: str, det: str = DET, length: int | None = 5) -> Path:
    folder = root / name
    (folder / "det").mkdir(parents=True)
    (folder / "det" / "det.txt").write_text(det)
    if length is not None:
        (folder / "seqinfo.ini").write_text(SEQINFO.format(name=name, length=length))
    return folder


def test_a_det_txt_is_its_sequence_with_every_frame(tmp_path: Path) -> None:
    folder = _sequence(tmp_path, "MOT17-02-FRCNN")
    store = read_detections(DetectionRequest(folder / "det" / "det.txt"))
    assert list(store.video_names) == ["MOT17-02-FRCNN"] and store.categories == ("pedestrian",)
    assert store.frame_index.tolist() == [0, 1, 2, 3, 4]  # seqinfo's five frames, empty ones included
    assert np.diff(store.box_offsets).tolist() == [2, 0, 1, 0, 0]
    assert store.image_paths[0] == str((folder / "img1" / "000001.jpg").resolve())
    np.testing.assert_allclose(store.scores, [0.9, 0.4, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(store.boxes[0], [10, 20, 40, 60])
    assert (store.track_ids == -1).all()
    (folder / "seqinfo.ini").unlink()
    alone = read_detections(DetectionRequest(folder / "det" / "det.txt"))
    assert alone.frame_index.tolist() == [0, 1, 2] and alone.image_paths[0] == ""  # 1 to the last frame with a box


@pytest.mark.parametrize(
    ("relative", "expected"),
    [("S/det/det.txt", "S"), ("S/gt/gt.txt", "S"), ("S/det.txt", "S"), ("S/test.txt", "S"), ("dets/MOT17-09.txt",
     "MOT17-09")],
)  # fmt: skip
def test_which_sequence_a_single_file_is(tmp_path: Path, relative: str, expected: str) -> None:
    (tmp_path / "S").mkdir()
    (tmp_path / "S" / "gt.txt").write_text("")  # a sequence folder (motmetrics' layout): the file beside it is its
    assert sequence_of(tmp_path / relative)[0] == expected


def test_a_root_and_a_folder_of_sequence_files(tmp_path: Path) -> None:
    _sequence(tmp_path / "root", "A", length=3)
    _sequence(tmp_path / "root", "B", det="2,-1,1,1,5,5,0.7,-1,-1,-1\n", length=2)
    assert detection_format(tmp_path / "root") == "motchallenge"
    store = read_detections(DetectionRequest(tmp_path / "root"))
    assert list(store.video_names) == ["A", "B"] and store.num_frames == 5 and store.num_boxes == 4
    files = tmp_path / "files"
    files.mkdir()
    (files / "A.txt").write_text(DET)
    (files / "B.txt").write_text("2,-1,1,1,5,5,0.7,-1,-1,-1\n")
    store = read_detections(DetectionRequest(files))
    assert list(store.video_names) == ["A", "B"] and store.num_frames == 3 + 2


def test_scores_outside_0_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-1 everywhere is MOTChallenge's "no confidence": 1.0; a detector's own scale needs --score-range."""
    folder = _sequence(tmp_path, "S", det=DET.replace("0.9", "-1").replace("0.4", "-1").replace("0.8", "-1"))
    store = read_detections(DetectionRequest(folder / "det" / "det.txt"))
    (line,) = capsys.readouterr().err.splitlines()
    assert (store.scores == 1).all() and line.startswith("warning: ") and "every score is -1" in line
    dpm = _sequence(tmp_path, "T", det=DET.replace("0.9", "-0.5").replace("0.4", "1.5"))
    with pytest.raises(DataError, match=r"scores range from -0\.5 to 1\.5, outside \[0, 1\].*--score-range -0\.5,1\.5"):
        read_detections(DetectionRequest(dpm / "det" / "det.txt"))
    mapped = read_detections(DetectionRequest(dpm / "det" / "det.txt", score_range=(-0.5, 1.5)))
    np.testing.assert_allclose(mapped.scores, [0.0, 1.0, 0.65], rtol=1e-6)


def test_scalabel_and_coco_results(tmp_path: Path) -> None:
    frames = [
        {"name": f"{i}.jpg", "videoName": "v", "frameIndex": i, "labels": [
            {"id": "a", "category": "car", "score": 0.9, "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}},
            {"id": "b", "category": "person", "box2d": {"x1": 5, "y1": 5, "x2": 9, "y2": 9}}]}
        for i in range(3)
    ]  # fmt: skip
    scalabel = tmp_path / "dets.json"
    scalabel.write_text(json.dumps(frames))
    assert detection_format(scalabel) == "scalabel"
    store = read_detections(DetectionRequest(scalabel))
    assert store.categories == ("car", "person") and store.num_boxes == 6 and (store.track_ids == -1).all()
    np.testing.assert_allclose(store.scores, [0.9, 1.0] * 3, rtol=1e-6)  # a label without score counts 1.0
    cars = read_detections(DetectionRequest(scalabel, categories=["car"]))
    assert cars.categories == ("car",) and cars.num_boxes == 3 and cars.num_frames == 3
    with pytest.raises(DataError, match=r"no detection of the categories \['bus'\]"):
        read_detections(DetectionRequest(scalabel, categories=["bus"]))

    instances = tmp_path / "instances.json"
    instances.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [], "categories": [{"id": 3, "name": "car"}]}))  # fmt: skip
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 20], "score": 0.5}]))
    assert detection_format(results) == "coco"
    with pytest.raises(ConfigError, match=r"--gt: COCO results refer to image ids"):
        read_detections(DetectionRequest(results))
    store = read_detections(DetectionRequest(results, gt=instances))
    assert store.num_boxes == 1 and store.image_ids.tolist() == [7] and store.category_ids.tolist() == [3]
    np.testing.assert_array_equal(store.boxes[0], [1, 2, 11, 22])


def test_bad_input_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        detection_format(tmp_path / "missing.txt")
    bad = tmp_path / "S" / "det" / "det.txt"
    bad.parent.mkdir(parents=True)
    bad.write_text("0,-1,1,1,5,5,0.5,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"det\.txt: line 1: frame 0 is outside the sequence's frames 1\.\.0"):
        read_detections(DetectionRequest(bad))
    with pytest.raises(ConfigError, match="not a detection format"):
        read_detections(DetectionRequest(bad, format="image_folder"))
