"""``vis4d eval --metrics`` (TETA from files, equal to the reference) and ``--per-video`` (worst first, CSV)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.eval.track.test_teta import FIELDS, FIXTURES
from vis4d.eval.cli import main

CASE = FIXTURES / "bdd100k_1"
ARGS = ["--task", "track", "--format", "bdd100k", "--gt", str(CASE / "gt"), "--pred", str(CASE / "pred.json")]


def test_teta_from_files_equals_the_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main([*ARGS, "--metrics", "teta,hota", "--output", str(out)]) == 0
    metrics = json.loads(out.read_text())
    expected = json.loads((CASE / "expected.json").read_text())
    for ref_key, key in FIELDS.items():
        assert metrics["track"]["mean"][key] == pytest.approx(expected["mean"][ref_key], abs=1e-6)
        assert metrics["track"]["overall"][key] == pytest.approx(expected["overall"][ref_key], abs=1e-6)
    assert metrics["summary"]["mTETA"] == metrics["track"]["mean"]["TETA"] and "mMOTA" not in metrics["summary"]
    assert "Tracking (HOTA, TETA)" in capsys.readouterr().out


def test_per_video_table_and_csv_worst_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main([*ARGS, "--metrics", "clear,teta", "--per-video", "--sort-by", "TETA", "--output", str(out)]) == 0
    per_video = json.loads(out.read_text())["track"]["per_video"]
    rows = list(csv.DictReader((tmp_path / "m.json.per_video.csv").open()))
    assert [r["video"] for r in rows] == sorted(per_video, key=lambda v: per_video[v]["TETA"])
    assert float(rows[0]["TETA"]) == pytest.approx(per_video[rows[0]["video"]]["TETA"]) and rows[0]["IDSW"].isdigit()
    text = capsys.readouterr().out
    assert "Per video, worst TETA first" in text and text.index(rows[0]["video"]) < text.index(rows[-1]["video"])


@pytest.mark.parametrize(("extra", "message"), [
    (["--metrics", "teta,nope"], "error: --metrics: unknown tracking metric(s) ['nope']"),
    (["--metrics", "teta", "--per-video", "--sort-by", "MOTA"], "error: --sort-by: 'MOTA' is not a field"),
])  # fmt: skip
def test_bad_metric_options_are_one_line(extra: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main([*ARGS, *extra]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message)


def test_metric_options_are_for_tracking(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--task", "det", "--gt", str(CASE / "gt"), "--pred", str(CASE / "pred.json"), "--per-video"]) == 2
    assert capsys.readouterr().err.strip() == "error: --per-video: only for --task track"
