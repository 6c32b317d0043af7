"""`vis4d report` on event files and metrics written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from vis4d.vis.report import main, read_scalars, write_report

METRICS = {
    "det": {"AP": 0.4213, "AP50": 0.6, "per_class": {"car": {"AP": 0.5}, "pedestrian": {"AP": 0.3426}}},
    "track": {
        "mean": {"MOTA": 0.31, "IDF1": 0.45},
        "overall": {"MOTA": 0.35, "IDSW": 12, "FP": 340},
        "per_class": {"car": {"MOTA": 0.4, "IDSW": 7}, "pedestrian": {"MOTA": 0.22, "IDSW": 5}},
    },
}


def write_run(run: Path, with_metrics: bool = True) -> None:
    train = SummaryWriter(str(run / "tensorboard" / "train"))
    for step in range(0, 50, 5):
        train.add_scalar("train/loss", 3.0 - 0.05 * step, step)
        train.add_scalar("train/loss_rpn_cls", 1.0 - 0.01 * step, step)
        train.add_scalar("train/lr", 0.02 * min(1.0, (step + 5) / 25), step)
        train.add_scalar("lr-SGD", 0.02 * min(1.0, (step + 5) / 25), step)
        train.add_scalar("epoch", step // 25, step)
    for step, (ap, fp) in zip((24, 49), ((0.21, 900.0), (0.33, 700.0)), strict=True):
        train.add_scalar("val/AP", ap, step)
        train.add_scalar("val/FP", fp, step)
    train.close()
    resumed = SummaryWriter(str(run / "tensorboard" / "resumed"))  # a second event dir continues the curves
    resumed.add_scalar("train/loss", 0.5, 60)
    resumed.close()
    if with_metrics:
        (run / "test").mkdir(parents=True)
        (run / "test" / "metrics.json").write_text(json.dumps(METRICS))
    (run / "checkpoints").mkdir(exist_ok=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"x")


def test_scalars_are_merged_over_event_dirs(tmp_path: Path) -> None:
    write_run(tmp_path)
    series = read_scalars(tmp_path)
    np.testing.assert_array_equal(series["train/loss"].steps, [*range(0, 50, 5), 60])
    assert series["train/loss"].last == 0.5
    np.testing.assert_allclose(series["val/AP"].values, [0.21, 0.33], rtol=1e-6)


def test_report_png_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_run(tmp_path)
    assert main([str(tmp_path)]) == 0
    assert "report.md" in capsys.readouterr().out
    png = matplotlib.image.imread(tmp_path / "report.png")
    assert png.shape[0] >= 300 and png.shape[1] >= 1000
    assert png[..., :3].std() > 0.05  # curves and text, not a blank canvas
    md = (tmp_path / "report.md").read_text()
    assert "ratios in %, counts as integers" in md
    assert "| AP | 42.1 |" in md  # final test metrics, in percent as the terminal tables
    assert "| pedestrian | 34.3 |" in md  # per-class table of det
    assert "| car | 40.0 | 7 |" in md  # per-class tracking table, counts as integers
    assert "| overall | 35.0 |  | 12 | 340 |" in md  # mean and overall share one table
    assert "| train/loss | 60 | 0.5000 |" in md  # last loss comes from the resumed run
    assert "| train/loss_rpn_cls | 45 | 0.5500 |" in md
    assert "| val/AP | 49 | 33.0 | 33.0 | 49 |" in md
    assert "| val/FP | 49 | 700 | 900 | 24 |" in md
    assert "| mean | 31.0 | 45.0 |" in md  # mean and overall rows of the tracking table
    assert "last.ckpt" in md and "metrics.json" in md
    assert "lr-SGD" not in md.split("## Last training losses")[1]  # the lr is not a loss


def test_report_without_metrics_uses_logs(tmp_path: Path) -> None:
    write_run(tmp_path, with_metrics=False)
    png, md = write_report(tmp_path)
    assert png.is_file()
    assert "has not been tested" in md.read_text()


def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    assert "run directory not found" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2
    assert "no TensorBoard event files" in capsys.readouterr().err
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "metrics.json").write_text("{broken")
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "metrics.json:1:2: malformed JSON: " in err and err.count("\n") == 1
    assert not (tmp_path / "report.md").exists()


def test_counts_are_integers_whatever_their_value(tmp_path: Path) -> None:
    """TensorBoard stores counts as floats: PT = 1 came out as ``1.0000``, MT = 0 as ``0.0000``."""
    writer = SummaryWriter(str(tmp_path / "tensorboard"))
    for step, (pt, mt, mota) in enumerate(((1.0, 0.0, 0.25), (2.0, 1.0, 0.5))):
        writer.add_scalar("val/PT", pt, step)
        writer.add_scalar("val/MT", mt, step)
        writer.add_scalar("val/MOTA", mota, step)
        writer.add_scalar("train/loss", 1.5, step)
    writer.close()
    (tmp_path / "test").mkdir()
    metrics = {"track": {"mean": {"MOTA": 0.5, "PT": 1, "ML": 0}, "overall": {"MOTA": 0.5, "PT": 1, "ML": 0}},
               "summary": {"det_boxes": "detector", "AP": None, "mMOTA": 0.5, "IDSW": 1}}  # fmt: skip
    (tmp_path / "test" / "metrics.json").write_text(json.dumps(metrics))
    md = write_report(tmp_path)[1].read_text()
    assert "| val/PT | 1 | 2 | 2 | 1 |" in md and "| val/MT | 1 | 1 | 1 | 1 |" in md
    assert "| val/MOTA | 1 | 50.0 | 50.0 | 1 |" in md
    assert "| mean | 50.0 | 1 | 0 |" in md  # PT and ML of the test metrics
    assert "| IDSW | 1 |" in md and "| mMOTA | 50.0 |" in md and "| AP | - |" in md and "| det_boxes | detector |" in md
    assert "1.0000" not in md and "0.0000" not in md
    from vis4d.vis.report import _plotted_metrics

    assert _plotted_metrics(read_scalars(tmp_path)) == ["val/MOTA"]  # counts of 0 and 1 are not curves of fractions
