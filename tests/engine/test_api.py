"""The Python API: the documented example runs, and a script gets what ``predict`` writes."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.engine.conftest import run_cli
from vis4d import Tracker
from vis4d.common.errors import ConfigError
from vis4d.common.structures import FrameOutput
from vis4d.data.io import decode_image

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "zoo" / "qdtrack_r18_fpn_synthetic"
FRAMES = ROOT / "assets" / "bdd100k_sample" / "images"


@pytest.fixture(scope="module")
def tracker() -> Tracker:
    return Tracker.from_config(ZOO / "config.yaml", weights=str(ZOO / "model.pt"), device="cpu")


def test_the_documented_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "python-api.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "docs/python-api.md", "exec"), {})  # noqa: S102 - the documentation's own code
    lines = out.getvalue().splitlines()
    assert lines[-1] == "12 frames tracked"
    assert any(re.fullmatch(r"\S+ \S+\.jpg: track \d+ (car|pedestrian|cyclist) \d\.\d\d", line) for line in lines)


def test_a_script_gets_what_predict_writes(tracker: Tracker, tmp_path: Path) -> None:
    result = run_cli("predict", "--config", str(ZOO / "config.yaml"), "--weights", str(ZOO / "model.pt"),
                     "--input_dir", str(FRAMES), "--work_dir", str(tmp_path), "--exp_name", "e", "--version", "v",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    written = json.loads((tmp_path / "e" / "v" / "predict" / "predictions" / "images.json").read_text())
    frames = list(tracker.track(FRAMES))
    assert [f.meta.name for f in frames] == [p["name"] for p in written]
    for frame, predicted in zip(frames, written):
        labels = predicted["labels"]
        boxes = [[b["box2d"][k] for k in ("x1", "y1", "x2", "y2")] for b in labels]
        np.testing.assert_allclose(frame.boxes, np.array(boxes, dtype=np.float32).reshape(-1, 4), atol=1e-3)
        np.testing.assert_allclose(frame.scores, [b["score"] for b in labels], atol=1e-5)
        assert [tracker.categories[c] for c in frame.class_ids] == [b["category"] for b in labels]
        assert frame.track_ids is not None and [str(t) for t in frame.track_ids] == [b["id"] for b in labels]
    assert sum(len(f.boxes) for f in frames) > 0  # the comparison compared something


def test_frames_one_at_a_time_equal_the_folder(tracker: Tracker) -> None:
    video = sorted((FRAMES / "00091078-875c1f73").glob("*.jpg"))
    from_folder = list(tracker.track(FRAMES / "00091078-875c1f73"))
    arrays = [decode_image(str(path)).permute(1, 2, 0).numpy() for path in video]
    from_arrays = list(tracker.track(arrays))
    tracker.reset()
    from_bgr = [tracker.update(array[:, :, ::-1], bgr=True) for array in arrays]
    for run in (from_arrays, from_bgr):
        for other, folder in zip(run, from_folder):
            np.testing.assert_allclose(other.boxes, folder.boxes, atol=1e-3)
        assert _first_seen_order(run) == _first_seen_order(from_folder)  # ids keep increasing across videos
    assert [f.meta.frame_index for f in from_arrays] == list(range(len(video)))
    assert from_arrays[0].meta.original_hw == (720, 1280)


def _first_seen_order(frames: list[FrameOutput]) -> list[list[int]]:
    """Track ids renumbered 0, 1, ... by first appearance: the same tracks, whatever ids came before."""
    seen: dict[int, int] = {}
    return [
        [seen.setdefault(int(t), len(seen)) for t in (f.track_ids if f.track_ids is not None else [])] for f in frames
    ]


def test_bad_calls_are_one_line_errors(tracker: Tracker, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('categories = ["car"]\n[model]\ntype = "detector"\n')
    with pytest.raises(ConfigError, match=r"names no weights \(model.weights\) and none were given"):
        Tracker.from_config(config)
    with pytest.raises(ConfigError, match=r"expected an H x W x 3 uint8 image, got \(4, 4\) float64"):
        tracker.update(np.zeros((4, 4)))
    with pytest.raises(ConfigError, match="not found"):
        list(tracker.track(tmp_path / "missing"))


TRACKER_OPTIONS = {
    "bytetrack": "model.tracker.track_high_thresh=0.3",
    "sort": "model.tracker.min_hits=1",
    "ocsort": "model.tracker.track_high_thresh=0.3,model.tracker.min_hits=1",
    "botsort": "model.tracker.track_high_thresh=0.3",
    "deepocsort": "model.tracker.track_high_thresh=0.3,model.tracker.min_hits=1",
    "iou": "model.tracker.track_high_thresh=0.3",
}


@pytest.mark.parametrize("name", sorted(TRACKER_OPTIONS))
def test_every_tracker_tracks_frame_by_frame(name: str) -> None:
    """``update`` frame by frame gives what tracking the folder gives, for every tracker (camera motion included)."""
    options = f"model.tracker.type={name},{TRACKER_OPTIONS[name]}"
    tracker = Tracker.from_config(ZOO / "config.yaml", weights=str(ZOO / "model.pt"), device="cpu", cfg_options=options)
    assert type(tracker.model.tracker.graph).__name__.lower().startswith(name[:4])  # type: ignore[union-attr]
    folder = FRAMES / "b1c66a42-6f7d68ca"
    from_folder = list(tracker.track(folder))
    tracker.reset()
    images = [decode_image(str(path)).permute(1, 2, 0).numpy() for path in sorted(folder.glob("*.jpg"))]
    streamed = [tracker.update(image) for image in images]
    for frame, reference in zip(streamed, from_folder, strict=True):
        np.testing.assert_allclose(frame.boxes, reference.boxes, atol=1e-3)
    assert _first_seen_order(streamed) == _first_seen_order(from_folder)
    assert sum(len(f.boxes) for f in streamed) > 0
