"""``vis4d weights list|download``: exit codes, what is cached, one-line errors (offline: ``file://`` plays the web)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.model.weights.conftest import cache_dir
from vis4d.cli import main
from vis4d.model.weights.catalogue import MMDET_R50_1X


def test_list_names_every_known_checkpoint_and_what_is_cached(
    torch_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cache_dir(torch_home) / MMDET_R50_1X.rsplit("/", 1)[1]).write_bytes(b"placed by hand")
    assert main(["weights", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if "://" in line[:60].split(" ")[0]}
    assert "torchvision://resnet50" in rows and "torchvision://fasterrcnn_resnet50_fpn" in rows
    assert "torchvision://ResNet50_Weights.IMAGENET1K_V1" in rows  # non-default members by their enum name
    assert rows[MMDET_R50_1X].split()[2] == "yes"  # "?" size, then the cached column
    assert rows["torchvision://resnet50"].split()[3] == "no"  # size "97.8 MB" spans two columns


def test_download_fetches_into_the_cache(tmp_path: Path, torch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    published = tmp_path / "mirror" / "detector.pth"
    published.parent.mkdir()
    published.write_bytes(b"weights")
    assert main(["weights", "download", published.as_uri()]) == 0
    cached = cache_dir(torch_home) / "detector.pth"
    assert cached.read_bytes() == b"weights"
    assert capsys.readouterr().out.splitlines() == [f"{published.as_uri()}: {cached}"]


def test_download_failure_is_one_line_naming_the_url_and_where_to_place_the_file(
    tmp_path: Path, torch_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = (tmp_path / "mirror" / "gone.pth").as_uri()
    assert main(["weights", "download", missing]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert f"cannot download {missing}" in lines[0]
    assert f"place the file by hand at {cache_dir(torch_home) / 'gone.pth'}" in lines[0]
    assert not (cache_dir(torch_home) / "gone.pth").exists()


def test_unknown_names_and_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "download", "torchvision://no_such_model"]) == 2
    assert "unknown torchvision weights 'no_such_model'" in capsys.readouterr().err
    assert main(["weights"]) == 2  # no subcommand
