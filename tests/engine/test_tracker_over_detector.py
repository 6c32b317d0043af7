"""Any tracker over any detector, by one config option: a detector's config and weights run as a tracking model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tests.engine.conftest import run_cli, write_tiny_config
from vis4d.config.load import load_config
from vis4d.model.build import build_model

TRACKER = "model.type=bytetrack,model.tracker.type=ocsort,model.tracker.track_high_thresh=0.0,model.tracker.min_hits=1"


def test_a_detector_config_and_checkpoint_predict_tracks_with_model_type_bytetrack(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    cfg = load_config(config)
    torch.manual_seed(0)
    torch.save(build_model(cfg.model, len(cfg.categories)).state_dict(), tmp_path / "detector.pt")
    common = ["predict", "--config", str(config), "--weights", str(tmp_path / "detector.pt"), "--work_dir",
              str(tmp_path / "ws"), "--exp_name", "e", "--output_format", "motchallenge"]  # fmt: skip

    alone = run_cli(*common, "--version", "a", "--cfg-options", "model.tracker.type=ocsort", cwd=tmp_path)
    assert alone.returncode == 2
    (line,) = alone.stderr.strip().splitlines()
    assert line == (
        "error: --cfg-options: model.tracker.type: a detector (model.type = 'detector') has no tracker; "
        "model.type = 'bytetrack' runs any motion tracker (bytetrack, sort, ocsort, botsort, deepocsort, iou) over "
        "the same detector and weights, e.g. --cfg-options model.type=bytetrack,model.tracker.type=ocsort"
    )

    result = run_cli(*common, "--version", "b", "--cfg-options", TRACKER, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded weights (--weights)" in result.stdout  # strictly: every key of the detector's checkpoint fits
    files = sorted((tmp_path / "ws" / "e" / "b" / "predict" / "predictions" / "motchallenge").glob("*.txt"))
    assert len(files) == 2  # the two test videos
    rows = np.loadtxt(files[0], delimiter=",", ndmin=2)
    assert (rows[:, 1] >= 0).all()  # every box has a track id
    frames_of_track = {int(t): set(rows[rows[:, 1] == t, 0].tolist()) for t in np.unique(rows[:, 1])}
    assert max(len(frames) for frames in frames_of_track.values()) == 3  # a track through all three frames
