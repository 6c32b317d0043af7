"""A metric owns its display: registered once, it appears in tables, metrics.json, the summary and the report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.eval.reference import random_tracking
from vis4d.eval.registry import count_names, ratio_names, sections
from vis4d.eval.summary import format_summary_line, summarize_metrics
from vis4d.eval.tables import format_metrics_table
from vis4d.eval.track import METRICS, evaluate_tracking
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.prepare import TrackingData
from vis4d.vis.class_bars import class_panels
from vis4d.vis.report import write_report


class Coverage(TrackMetric):
    """A toy metric: the share of ground-truth boxes that some prediction of their class overlaps."""

    name = "coverage"
    title = "Coverage"
    ratio_fields = ("COV",)
    count_fields = ("COVERED",)
    columns = ("COV", "COVERED")
    headline = ("COV",)
    default = False

    def compute(self, data: TrackingData, options: EvalOptions) -> Raw:
        covered = np.zeros(len(data.g_cell), dtype=bool)
        covered[data.pair_g] = True
        return {"COVERED": data.seq_sum(data.g_seq[covered]), "GT": data.seq_sum(data.g_seq)}

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        return {"COV": float(raw["COVERED"]) / max(1.0, float(raw["GT"]))}


def test_every_registered_metric_declares_consistent_fields() -> None:
    fields = [f for m in METRICS.values() for f in (*m.ratio_fields, *m.count_fields)]
    assert len(fields) == len(set(fields)), "field names must be unique across metrics (metrics.json is flat)"
    for key, metric in METRICS.items():
        assert key == metric.name and metric.view in ("per_class", "class_agnostic", None)
        assert set(metric.columns) <= {*metric.ratio_fields, *metric.count_fields}
        assert set(metric.headline) <= {*metric.ratio_fields, *metric.count_fields}


def test_a_registered_toy_metric_shows_everywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(METRICS, "coverage", Coverage())  # the one registry line
    gt, pred = random_tracking(0)
    track = evaluate_tracking(gt, pred, metrics=["coverage", "hota"])
    assert 0 < track["mean"]["COV"] <= 1 and isinstance(track["overall"]["COVERED"], int)
    assert "COV" in track["per_class"]["car"] and "MOTA" not in track["overall"]
    # Tables: its title, its columns (the count as an integer).
    table = format_metrics_table({"track": track})
    assert table.startswith("Tracking (HOTA, Coverage); ") and "mCOV" in table.splitlines()[0]
    header = table.splitlines()[1].split()
    overall = dict(zip(header, next(r.split() for r in table.splitlines() if r.startswith("overall")), strict=True))
    assert overall["COV"] == f"{100 * track['overall']['COV']:.1f}" and overall["COVERED"] == str(
        track["overall"]["COVERED"]
    )
    # Summary and the validation line.
    summary = summarize_metrics({"track": track})
    assert summary["mCOV"] == track["mean"]["COV"] and summary["COV"] == track["overall"]["COV"]
    assert "mCOV" in format_summary_line(summary)
    assert "COV" in ratio_names() and "mCOV" in ratio_names() and "COVERED" in count_names()
    assert any(m.title == "Coverage" for m in sections()["track"])
    # The report: metrics.json rendered in percent, per-class bars of its headline.
    run = tmp_path / "run"
    (run / "test").mkdir(parents=True)
    (run / "test" / "metrics.json").write_text(json.dumps({"track": track, "summary": summary}))
    _, md = write_report(run)
    text = md.read_text()
    assert f"| mCOV | {100 * summary['mCOV']:.1f} |" in text and (run / "report_classes.png").is_file()
    assert [p[0] for p in class_panels({"track": track})] == ["HOTA (mHOTA dashed)", "COV (mCOV dashed)"]


def test_vis4d_eval_computes_a_registered_metric(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vis4d.eval.cli import main

    monkeypatch.setitem(METRICS, "coverage", Coverage())
    fixtures = Path(__file__).parent / "fixtures" / "teta" / "bdd100k_0"
    out = tmp_path / "m.json"
    code = main(["--task", "track", "--gt", str(fixtures / "gt"), "--pred", str(fixtures / "pred.json"),
                 "--metrics", "coverage", "--output", str(out)])  # fmt: skip
    assert code == 0
    metrics = json.loads(out.read_text())
    assert set(metrics["summary"]) == {"mCOV", "COV"} and "COVERED" in metrics["track"]["overall"]
