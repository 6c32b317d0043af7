"""``vis4d track``: trackers over detection files, scored by ``vis4d eval`` against real ground truth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import fork_server
from vis4d.cli import main as vis4d_main
from vis4d.engine import track_cli
from vis4d.model.track.video import VideoTracker

MOT_DATA = Path(__import__("motmetrics").__file__).parent / "data"  # real MOT15 sequences: gt.txt, a tracker's test.txt
SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
ROOT = Path(__file__).resolve().parents[2]


def mot_root(folder: Path, sequences: tuple[str, ...] = SEQUENCES) -> Path:
    """A MOTChallenge root of motmetrics' TUD sequences: ``SEQ/gt/gt.txt`` and, as public detections, the boxes of
    ``test.txt`` without their ids (``SEQ/det/det.txt``, conf -1 as the file has it); no seqinfo.ini."""
    for name in sequences:
        (folder / name / "gt").mkdir(parents=True)
        (folder / name / "det").mkdir()
        shutil.copy(MOT_DATA / name / "gt.txt", folder / name / "gt" / "gt.txt")
        rows = np.loadtxt(MOT_DATA / name / "test.txt", delimiter=",", ndmin=2)
        rows[:, 1] = -1
        np.savetxt(folder / name / "det" / "det.txt", rows, delimiter=",", fmt="%.6g")
    return folder


def _vis4d(*argv: str, cwd: Path) -> tuple[int, str, str]:
    done = fork_server().run("vis4d", list(argv), cwd, {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}, 120)
    return done.returncode, done.stdout, done.stderr


def _idf1_per_video(csv: Path) -> dict[str, dict[str, float]]:
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    return {row.split(",")[0]: dict(zip(header[1:], map(float, row.split(",")[1:]), strict=True)) for row in lines[1:]}


def test_public_detections_tracked_then_scored_against_the_ground_truth(tmp_path: Path) -> None:
    """The MOTChallenge protocol on real sequences: better than the raw detections, and motmetrics agrees."""
    root = mot_root(tmp_path / "MOT")
    code, out, err = _vis4d("track", "--detections", "MOT", "--tracker", "bytetrack", "--output", "tracks",
                            "--output_format", "motchallenge,scalabel", cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    assert "every score is -1" in err and "bytetrack: 250 frames of 2 videos, 971 detections in" in out
    assert (tmp_path / "tracks" / "motchallenge" / "TUD-Campus.txt").is_file()
    code, out, err = _vis4d("eval", "--task", "track", "--gt", "MOT", "--pred", "tracks/motchallenge", "--per-video",
                            "--output", "metrics.json", cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    tracked = _idf1_per_video(tmp_path / "metrics.json.per_video.csv")
    # The raw detections as a "tracker": every box its own track.
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in SEQUENCES:
        rows = np.loadtxt(root / name / "det" / "det.txt", delimiter=",", ndmin=2)
        rows[:, 1], rows[:, 6] = np.arange(1, len(rows) + 1), 1.0
        np.savetxt(raw / f"{name}.txt", rows, delimiter=",", fmt="%.6g")
    code, _, err = _vis4d("eval", "--task", "track", "--gt", "MOT", "--pred", "raw", "--per-video", "raw.csv",
                          cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    untracked = _idf1_per_video(tmp_path / "raw.csv")
    for name in SEQUENCES:
        assert tracked[name]["IDF1"] > untracked[name]["IDF1"] + 0.4, (name, tracked[name], untracked[name])
        assert tracked[name]["MOTA"] > 0.5 and tracked[name]["IDF1"] > 0.55 and tracked[name]["HOTA"] > 0.35
        assert tracked[name]["IDSW"] <= 6
        expected = motmetrics_figures(MOT_DATA / name / "gt.txt", tmp_path / "tracks" / "motchallenge" / f"{name}.txt")
        assert tracked[name]["MOTA"] == pytest.approx(expected["mota"], abs=1e-9)
        assert tracked[name]["IDF1"] == pytest.approx(expected["idf1"], abs=1e-9)
    # The Scalabel file holds the same tracks.
    frames = json.loads((tmp_path / "tracks" / "tracks.json").read_text())
    mot_files = [tmp_path / "tracks" / "motchallenge" / f"{name}.txt" for name in SEQUENCES]
    mot_lines = sum(len(path.read_text().splitlines()) for path in mot_files)
    assert len(frames) == 250 and sum(len(f["labels"]) for f in frames) == mot_lines
    summary = json.loads((tmp_path / "metrics.json").read_text())["summary"]
    assert summary["IDF1"] > 0.6, summary


def test_a_single_det_txt_scored_against_its_gt_txt_or_the_whole_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """motmetrics' own layout (SEQ/gt.txt, SEQ/test.txt, no seqinfo.ini): a file of boxes in, gt.txt or the root
    (whose other sequence has no tracker file, so it is left out) to score against: the same figures."""
    argv = ["track", "--detections", str(MOT_DATA / "TUD-Campus" / "test.txt"), "--tracker", "bytetrack",
            "--output", str(tmp_path / "o"), "--output_format", "motchallenge"]  # fmt: skip
    assert vis4d_main(argv) == 0
    tracks = tmp_path / "o" / "motchallenge" / "TUD-Campus.txt"
    summaries = []
    for gt, pred in ((MOT_DATA / "TUD-Campus" / "gt.txt", tracks), (MOT_DATA, tracks.parent)):
        out = tmp_path / f"{len(summaries)}.json"
        assert vis4d_main(["eval", "--task", "track", "--gt", str(gt), "--pred", str(pred), "--output", str(out)]) == 0
        summaries.append(json.loads(out.read_text())["summary"])
    assert "left out of the evaluation: TUD-Stadtmitte" in capsys.readouterr().err
    assert summaries[0] == summaries[1]
    expected = motmetrics_figures(MOT_DATA / "TUD-Campus" / "gt.txt", tracks)
    assert summaries[0]["MOTA"] == pytest.approx(expected["mota"]) and summaries[0]["IDF1"] == pytest.approx(
        expected["idf1"]) and summaries[0]["IDF1"] > 0.55  # fmt: skip


def motmetrics_figures(gt: Path, pred: Path) -> dict[str, float]:
    """MOTA and IDF1 of a tracker file by motmetrics (an independent reading of both files)."""
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]  # removed in numpy 2
    import motmetrics as mm

    accumulator = mm.utils.compare_to_groundtruth(
        mm.io.loadtxt(gt, fmt="mot15-2D", min_confidence=1), mm.io.loadtxt(pred, fmt="mot15-2D"), "iou", distth=0.5
    )
    figures = mm.metrics.create().compute(accumulator, metrics=["mota", "idf1"], name="x")
    return {key: float(figures[key].iloc[0]) for key in ("mota", "idf1")}


@pytest.mark.parametrize(
    ("tracker", "options"),
    [("bytetrack", ""), ("sort", ""), ("ocsort", "min_hits=1"), ("iou", ""), ("botsort", "cmc_method=none"),
     ("deepocsort", "cmc_method=none")],
)  # fmt: skip
def test_every_motion_tracker_tracks_a_det_txt(tracker: str, options: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    mot_root(tmp_path / "MOT", ("TUD-Campus",))
    det = tmp_path / "MOT" / "TUD-Campus" / "det" / "det.txt"
    argv = ["track", "--detections", str(det), "--tracker", tracker, "--output", str(tmp_path / "out")]
    assert vis4d_main([*argv, *(["--tracker-options", options] if options else [])]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"{tracker}: 71 frames of 1 video, 222 detections in" in out
    lines = np.loadtxt(tmp_path / "out" / "motchallenge" / "TUD-Campus.txt", delimiter=",", ndmin=2)
    tracks = np.unique(lines[:, 1])
    assert 150 < len(lines) <= 222 and 5 <= len(tracks) <= 15  # about seven people cross TUD-Campus


def _panning_sequence(folder: Path, frames: int = 8, shift: int = 32) -> None:
    """A camera panning right by ``shift`` px per frame over a textured scene with three people standing still:
    their boxes move left by ``shift`` px per frame, more than IoU matching of 40 px wide boxes survives."""
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (240, 480 + shift * frames, 3), dtype=np.uint8), (5, 5), 0)
    (folder / "img1").mkdir(parents=True)
    (folder / "det").mkdir()
    lines = []
    for index in range(frames):
        offset = shift * index
        cv2.imwrite(str(folder / "img1" / f"{index + 1:06d}.jpg"), scene[:, offset : offset + 480])
        for person, x in enumerate((250, 330, 410)):
            lines.append(f"{index + 1},-1,{x - offset},{60 + 30 * person},40,90,0.9,-1,-1,-1")
    (folder / "det" / "det.txt").write_text("\n".join(lines) + "\n")
    (folder / "seqinfo.ini").write_text(f"[Sequence]\nname=pan\nimDir=img1\nframeRate=10\nseqLength={frames}\n"
                                        "imWidth=480\nimHeight=240\nimExt=.jpg\n")  # fmt: skip


def test_camera_motion_reads_the_frames_of_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """BoT-SORT compensates the pan from the pixels: one track per person; without the frames it refuses."""
    _panning_sequence(tmp_path / "pan")
    det = str(tmp_path / "pan" / "det" / "det.txt")
    base = ["track", "--detections", det, "--tracker", "botsort", "--output_format", "motchallenge"]
    assert vis4d_main([*base, "--output", str(tmp_path / "cmc"), "--images", str(tmp_path / "pan")]) == 0
    assert vis4d_main([*base, "--output", str(tmp_path / "off"), "--tracker-options", "cmc_method=none"]) == 0
    with_cmc = np.loadtxt(tmp_path / "cmc" / "motchallenge" / "pan.txt", delimiter=",", ndmin=2)
    without = np.loadtxt(tmp_path / "off" / "motchallenge" / "pan.txt", delimiter=",", ndmin=2)
    assert len(np.unique(with_cmc[:, 1])) == 3 and len(with_cmc) >= 3 * 7
    assert len(np.unique(without[:, 1])) > 3  # IoU matching alone loses them as the camera pans
    (tmp_path / "pan" / "img1").rename(tmp_path / "frames")
    capsys.readouterr()
    assert vis4d_main([*base, "--output", str(tmp_path / "x")]) == 2  # the images the sequence names are gone
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --images: no image for frame '000001.jpg' of video 'pan'")
    assert vis4d_main([*base, "--output", str(tmp_path / "y"), "--images", str(tmp_path / "frames")]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tracker", "qdtrack"], "--tracker qdtrack: it matches detections by appearance embeddings"),
        (["--tracker", "sort", "--reid", "osnet_x0_25_msmt17"], "--reid: the sort tracker uses no appearance"),
        (["--tracker", "botsort", "--reid", "osnet_x0_25_msmt17"], "--reid osnet_x0_25_msmt17: appearance is cropped "
         "from the frames; give them with --images DIR"),
        (["--tracker", "ocsort", "--tracker-options", "iou_treshold=0.2"], "--tracker-options: unknown option "
         "'iou_treshold' of the ocsort tracker; did you mean 'iou_thresh'?"),
        (["--tracker", "ocsort", "--tracker-options", "min_hits=-1"], "--tracker-options: min_hits: input should be "
         "greater than or equal to 0, got -1"),
        (["--tracker", "iou", "--tracker-options", "track_high_thresh=[0.1"], "--tracker-options: missing ']' in"),
        (["--tracker", "iou", "--output_format", "mot"], "--output_format: unknown format 'mot'"),
        (["--tracker", "iou", "--score-range", "1,0"], "--score-range: expected finite numbers with LO < HI"),
        (["--tracker", "deepocsort"], "--images: no image for frame '000001.jpg' of video 'TUD-Campus'"),
        (["--tracker", "tracktor"], "argument --tracker: invalid choice: 'tracktor'"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mot_root(tmp_path / "MOT", ("TUD-Campus",))
    assert vis4d_main(["track", "--detections", str(tmp_path / "MOT"), "--output", str(tmp_path / "o"), *extra]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning: ")]
    assert line.startswith("error: ") and message in line, line
    assert not (tmp_path / "o").exists()


def test_interrupted_run_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    mot_root(tmp_path / "MOT", ("TUD-Campus",))
    calls = []
    original = VideoTracker.__call__

    def interrupted(self: VideoTracker, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(VideoTracker, "__call__", interrupted)
    argv = ["track", "--detections", str(tmp_path / "MOT"), "--tracker", "sort", "--output", str(tmp_path / "o"),
            "--output_format", "scalabel,motchallenge,coco"]  # fmt: skip
    assert vis4d_main(argv) == 130
    assert "interrupted: no track file written" in capsys.readouterr().err
    assert not [p for p in (tmp_path / "o").rglob("*") if p.is_file()]


def test_scalabel_detections_tracked_and_scored_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """BDD100K sample labels as detections (ids dropped, scored): tracking them recovers the labelled tracks."""
    labels = ROOT / "assets" / "bdd100k_sample" / "labels"
    frames = [frame for path in sorted(labels.glob("*.json")) for frame in json.loads(path.read_text())]
    for frame in frames:
        for label in frame.get("labels") or []:
            label.pop("id", None)
            label["score"] = 0.9
    (tmp_path / "dets.json").write_text(json.dumps(frames))
    argv = [
        "track",
        "--detections",
        str(tmp_path / "dets.json"),
        "--tracker",
        "iou",
        "--output",
        str(tmp_path / "o"),
        "--output_format",
        "scalabel,bdd100k,coco,motchallenge",
        "--tracker-options",
        "new_track_thresh=0.5",
    ]
    assert vis4d_main(argv) == 0, capsys.readouterr().err
    written = {p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*") if p.is_file()}
    videos = sorted(p.stem for p in labels.glob("*.json"))
    assert written == {"tracks.json", "tracks_coco.json", "tracks_coco_images.json",
                       *(f"bdd100k/{v}.json" for v in videos), *(f"motchallenge/{v}.txt" for v in videos)}  # fmt: skip
    capsys.readouterr()
    assert vis4d_main(["eval", "--task", "track", "--gt", str(labels), "--pred", str(tmp_path / "o" / "tracks.json"),
                       "--output", str(tmp_path / "m.json")]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "m.json").read_text())
    overall = metrics["track"]["overall"]
    assert overall["FP"] == overall["FN"] == 0 and overall["MOTP"] == pytest.approx(1.0)  # the boxes as given
    assert overall["MOTA"] > 0.85 and overall["IDF1"] > 0.85, overall  # 5 fps dashcam: a few id switches


NO_TORCH = """
import contextlib, io, sys
from vis4d.cli import main
cases = ((["-h"], 0, "  track "), (["track", "-h"], 0, "--tracker-options"), (["track", "--detections", sys.argv[1],
         "--tracker", "ocsort", "--output", "o", "--tracker-options", "min_hits=x"], 2, "--tracker-options: min_hits"))
for argv, expected, said in cases:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    assert code == expected and said in out.getvalue(), (argv, code, out.getvalue())
print(" ".join(sorted(name for name in ("torch", "lightning", "torchvision", "cv2") if name in sys.modules)) or "none")
"""


def test_help_and_bad_options_answer_before_torch_is_imported(tmp_path: Path) -> None:
    (tmp_path / "det.txt").write_text("1,-1,1,1,5,5,0.5\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path / "det.txt")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


def test_the_lists_kept_for_a_fast_help_are_the_registries() -> None:
    from vis4d.config.tracker_schema import TRACKER_CONFIGS
    from vis4d.data.detections import DETECTION_FORMATS
    from vis4d.data.formats import format_names
    from vis4d.model.track.graphs import GRAPH_TYPES

    assert set(track_cli.TRACKERS) == set(TRACKER_CONFIGS) == set(GRAPH_TYPES)
    assert track_cli.DETECTION_FORMATS == DETECTION_FORMATS
    assert set(track_cli.OUTPUT_FORMATS) == set(format_names(lambda fmt: fmt.writer))


def test_appearance_from_a_reid_network_cropped_from_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--reid: an OSNet checkpoint (a small one of torchreid's layout) embeds crops of the frames for BoT-SORT."""
    import torch

    from vis4d.model.track.reid import OSNet

    torch.manual_seed(0)
    torch.save({"state_dict": OSNet((16, 64, 96, 128)).state_dict()}, tmp_path / "osnet.pth")
    _panning_sequence(tmp_path / "pan")
    base = ["track", "--detections", str(tmp_path / "pan" / "det" / "det.txt"), "--tracker", "botsort",
            "--images", str(tmp_path / "pan"), "--output_format", "motchallenge"]  # fmt: skip
    assert vis4d_main([*base, "--output", str(tmp_path / "o"), "--reid", str(tmp_path / "osnet.pth")]) == 0
    rows = np.loadtxt(tmp_path / "o" / "motchallenge" / "pan.txt", delimiter=",", ndmin=2)
    assert len(np.unique(rows[:, 1])) == 3 and len(rows) >= 21
    capsys.readouterr()
    assert vis4d_main([*base, "--output", str(tmp_path / "x"), "--reid", str(tmp_path / "missing.pth")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"error: --reid: re-identification weights not found: {tmp_path / 'missing.pth'} (a path, or " \
        "reid://NAME)"  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_images_from_a_video_file(tmp_path: Path) -> None:
    """--images my_video.mp4: frame N of the det.txt (1-based) is the video's N-th frame."""
    _panning_sequence(tmp_path / "pan")
    writer = cv2.VideoWriter(str(tmp_path / "pan.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (480, 240))
    for image in sorted((tmp_path / "pan" / "img1").glob("*.jpg")):
        writer.write(cv2.imread(str(image)))
    writer.release()
    (tmp_path / "pan" / "img1").rename(tmp_path / "elsewhere")  # only the video holds the frames now
    argv = ["track", "--detections", str(tmp_path / "pan" / "det" / "det.txt"), "--tracker", "botsort", "--images",
            str(tmp_path / "pan.mp4"), "--output", str(tmp_path / "o"), "--output_format", "motchallenge"]  # fmt: skip
    assert vis4d_main(argv) == 0
    rows = np.loadtxt(tmp_path / "o" / "motchallenge" / "pan.txt", delimiter=",", ndmin=2)
    assert len(np.unique(rows[:, 1])) == 3 and len(rows) >= 21
