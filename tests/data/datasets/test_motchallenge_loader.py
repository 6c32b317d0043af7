from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vis4d.common.errors import DataError
from vis4d.data.datasets import load_motchallenge
from vis4d.data.mapping import LoadOptions
from vis4d.data.notes import collecting

SEQINFO = """[Sequence]
name={name}
imDir=img1
frameRate=30
seqLength={length}
imWidth=640
imHeight=480
imExt=.jpg
"""

# frame, id, x, y, w, h, conf, class, visibility
GT = """1,1,10,20,30,40,1,1,1.0
1,2,100,100,10,20,1,1,0.5
2,1,12,22,30,40,1,1,1.0
2,3,50,50,5,5,0,8,1.0
3,4,0,0,10,10,1,7,0.2
3,5,0,0,10,10,0,1,1.0
3,6,0,0,10,10,1,3,1.0
2,7,60,60,5,5,1,12,1.0
"""


def _sequence(root: Path, name: str, length: int, gt: str, det: str = "") -> Path:
    folder = root / name
    (folder / "gt").mkdir(parents=True)
    (folder / "det").mkdir()
    (folder / "seqinfo.ini").write_text(SEQINFO.format(name=name, length=length))
    (folder / "gt" / "gt.txt").write_text(gt)
    (folder / "det" / "det.txt").write_text(det)
    return folder


def test_gt_mot17_rules(tmp_path: Path) -> None:
    _sequence(tmp_path, "MOT17-02", 4, GT)
    store = load_motchallenge(tmp_path)
    assert store.categories == ("pedestrian",)
    assert list(store.video_names) == ["MOT17-02"]
    assert list(store.frame_names) == ["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]
    assert store.frame_index.tolist() == [0, 1, 2, 3]  # 1-based in the file
    assert store.image_paths[2] == str((tmp_path / "MOT17-02" / "img1" / "000003.jpg").resolve())
    assert store.widths.tolist() == [640] * 4 and store.heights.tolist() == [480] * 4
    # Frame 1: two pedestrians; frame 2: pedestrian + distractor (conf 0 still an ignore region)
    # + reflection; frame 3: static person (ignore); conf-0 pedestrian and car dropped.
    assert np.diff(store.box_offsets).tolist() == [2, 3, 1, 0]
    assert store.track_ids.tolist() == [1, 2, 1, 3, 7, 4]  # ids kept as written
    assert store.ignore.tolist() == [False, False, False, True, True, True]
    np.testing.assert_array_equal(store.boxes[0], [10, 20, 40, 60])
    assert (store.class_ids == 0).all()


def test_public_detections_and_sequence_selection(tmp_path: Path) -> None:
    _sequence(tmp_path, "A", 2, GT.splitlines()[0] + "\n", det="1,-1,1,2,3,4,0.9,-1,-1,-1\n2,-1,5,5,5,5,0.3,-1,-1,-1\n")
    _sequence(tmp_path, "B", 1, "")
    store = load_motchallenge(tmp_path, ["pedestrian"], use_public_detections=True, sequences=["A"])
    assert list(store.video_names) == ["A"] and store.num_boxes == 2
    np.testing.assert_allclose(store.scores, [0.9, 0.3], rtol=1e-6)
    assert (store.track_ids == -1).all()
    both = load_motchallenge(tmp_path)
    assert list(both.video_names) == ["A", "B"] and both.num_frames == 3


def test_tracker_results_against_gt_root_and_alone(tmp_path: Path) -> None:
    gt_root = tmp_path / "gt"
    _sequence(gt_root, "S", 3, GT.splitlines()[0] + "\n")
    results = tmp_path / "pred"
    results.mkdir()
    (results / "S.txt").write_text("3,7,1,1,2,2,0.8,-1,-1,-1\n1,5,0,0,4,4,0.6,-1,-1,-1\n")
    store = load_motchallenge(gt_root, ["pedestrian"], results_dir=results)
    assert store.num_frames == 3 and np.diff(store.box_offsets).tolist() == [1, 0, 1]
    assert store.track_ids.tolist() == [5, 7]
    np.testing.assert_allclose(store.scores, [0.6, 0.8], rtol=1e-6)
    alone = load_motchallenge(results)
    assert list(alone.video_names) == ["S"] and list(alone.frame_names) == ["000001.jpg", "000003.jpg"]
    assert alone.frame_index.tolist() == [0, 2]


def test_person_named_differently_in_config(tmp_path: Path) -> None:
    _sequence(tmp_path, "S", 4, GT)
    store = load_motchallenge(tmp_path, ["person"], options=LoadOptions(name_mapping={"pedestrian": "person"}))
    assert store.categories == ("person",) and store.num_boxes == 6 and store.ignore.sum() == 3


def test_bad_mot_files(tmp_path: Path) -> None:
    _sequence(tmp_path / "a", "S", 2, "1,1,0,0,1,1,1,1,1\n3,2,0,0,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"gt\.txt: line 2: frame 3 is outside the sequence's frames 1\.\.2"):
        load_motchallenge(tmp_path / "a")
    _sequence(tmp_path / "b", "S", 2, "1,1,0,0,1,1,1,1,1\n1,x,0,0,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"gt\.txt: .*could not convert"):
        load_motchallenge(tmp_path / "b")
    _sequence(tmp_path / "c", "S", 2, "1,1,0,0,1,1,1,1,1\n1,1,5,5,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"gt\.txt: frame '000001\.jpg' line 2: track id used twice"):
        load_motchallenge(tmp_path / "c")
    _sequence(tmp_path / "c", "T", 1, "1,1,0,0,1,1,1,1,1\n")
    with collecting() as said:
        store = load_motchallenge(tmp_path / "c", options=LoadOptions(on_malformed="skip"))
    assert list(store.video_names) == ["T"]
    assert len(said) == 1 and "track id used twice" in said[0]
    _sequence(tmp_path / "d", "S", 2, "1,1,0,0,-1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"line 1: box has"):
        load_motchallenge(tmp_path / "d", options=LoadOptions(on_degenerate_box="fail"))
    (tmp_path / "e" / "S").mkdir(parents=True)
    (tmp_path / "e" / "S" / "seqinfo.ini").write_text("[Sequence]\nname=S\n")
    with pytest.raises(DataError, match=r"seqinfo\.ini: malformed seqinfo\.ini"):
        load_motchallenge(tmp_path / "e")
    with pytest.raises(DataError, match="MOTChallenge root not found"):
        load_motchallenge(tmp_path / "missing")


MOTMETRICS_DATA = Path(__import__("motmetrics").__file__).parent / "data"


def test_sequences_without_seqinfo_end_at_their_last_labelled_frame(tmp_path: Path) -> None:
    """motmetrics ships TUD-Campus as SEQ/gt.txt without seqinfo.ini: a root of those loads, and so do results."""
    nested = tmp_path / "nested" / "S"
    (nested / "gt").mkdir(parents=True)
    (nested / "gt" / "gt.txt").write_text("1,1,10,20,30,40,1,1,1.0\n3,1,12,22,30,40,1,1,1.0\n")
    flat = tmp_path / "flat" / "S"
    flat.mkdir(parents=True)
    (flat / "gt.txt").write_text((nested / "gt" / "gt.txt").read_text())
    for root in (tmp_path / "nested", tmp_path / "flat"):
        store = load_motchallenge(root)
        assert list(store.video_names) == ["S"] and store.frame_index.tolist() == [0, 1, 2]
        assert np.diff(store.box_offsets).tolist() == [1, 0, 1] and store.widths.tolist() == [0, 0, 0]
    results = tmp_path / "pred"
    results.mkdir()
    (results / "S.txt").write_text("2,7,1,1,2,2,0.8,-1,-1,-1\n")
    pred = load_motchallenge(tmp_path / "flat", results_dir=results)
    assert pred.num_frames == 3 and np.diff(pred.box_offsets).tolist() == [0, 1, 0]
    (results / "S.txt").write_text("4,7,1,1,2,2,0.8,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"S\.txt: line 1: frame 4 is outside the sequence's frames 1\.\.3"):
        load_motchallenge(tmp_path / "flat", results_dir=results)


def test_mot15_world_coordinates_are_not_classes() -> None:
    """TUD-Stadtmitte's gt.txt carries world x, y, z where MOT16 has class and visibility: every box is a person."""
    store = load_motchallenge(MOTMETRICS_DATA)
    assert list(store.video_names) == ["TUD-Campus", "TUD-Stadtmitte"]
    lines = [len((MOTMETRICS_DATA / v / "gt.txt").read_text().splitlines()) for v in store.video_names]
    assert store.num_boxes == sum(lines) == 359 + 1156 and not store.ignore.any()
    assert store.num_frames == 71 + 179


def test_sequences_without_tracker_output_are_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """motmetrics' convention: a root's sequences without PRED/SEQ.txt are not evaluated (one warning names them)."""
    _sequence(tmp_path / "gt", "A", 2, GT.splitlines()[0] + "\n")
    _sequence(tmp_path / "gt", "B", 3, GT.splitlines()[0] + "\n")
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "B.txt").write_text("1,5,0,0,4,4,0.6,-1,-1,-1\n")
    store = load_motchallenge(tmp_path / "gt", results_dir=tmp_path / "pred")
    assert list(store.video_names) == ["B"] and store.num_frames == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"warning: {tmp_path / 'pred'} has no tracker output for 1 of 2 sequences, left out of the " \
        "evaluation: A"  # fmt: skip
    (tmp_path / "pred" / "B.txt").unlink()
    with pytest.raises(DataError, match=r"pred: no tracker output <SEQ>\.txt for any sequence \(A, \.\.\.\)"):
        load_motchallenge(tmp_path / "gt", results_dir=tmp_path / "pred")
