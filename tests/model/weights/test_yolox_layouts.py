"""The YOLOX checkpoint layouts: recognised by their keys, renamed exactly onto vis4d's YOLOX, named by URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.model.weights.conftest import cache_dir
from tests.model.yolox.oracle import ROOT, fixture
from vis4d.common.errors import ConfigError
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.weights import fetch, resolve_source
from vis4d.model.weights.catalogue import bytetrack_page, known_weights, megvii_url
from vis4d.model.weights.layouts import to_vis4d
from vis4d.model.weights.yolox_common import coco_categories, map_head_categories
from vis4d.model.yolox.detector import YOLOX


def _shapes(keys: dict[str, list]) -> dict[str, torch.Tensor]:
    return {k: torch.zeros(shape, dtype=getattr(torch, dtype)) for k, (shape, dtype) in keys.items()}


def _own_keys(size: str, classes: int) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = YOLOX(YOLOXConfig(size=size), classes)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    ("folder", "size", "classes", "layout"),
    [
        ("megvii", "nano", 80, "Megvii YOLOX"),
        ("vis4d_1_0", "tiny", 80, "vis4d 1.0 YOLOX (EMA weights)"),
        ("qdtrack_vis4d_1_0", "x", 8, "vis4d 1.0 YOLOX (EMA weights)"),
    ],
)
def test_reference_layouts_rename_onto_every_key_of_vis4d_yolox(
    folder: str, size: str, classes: int, layout: str
) -> None:
    keys, _ = fixture(folder)
    state = _shapes(keys)
    if folder.endswith("vis4d_1_0"):  # Lightning checkpoints: model.<adapter keys>
        state = {f"model.{k}": v for k, v in state.items()}
    name = "qdtrack_yolox_x_25e_bdd100k_c14af2.pt" if size == "x" else "yolox.pth"
    checkpoint = to_vis4d(state, {}, name, "--weights")
    assert checkpoint.layout == layout
    detector = {k: tuple(v.shape) for k, v in checkpoint.state_dict.items() if not k.startswith("similarity_head.")}
    assert detector == _own_keys(size, classes)
    assert (len(detector) < len(checkpoint.state_dict)) == (folder == "qdtrack_vis4d_1_0")
    if classes == 80:
        assert checkpoint.categories == coco_categories()
    assert checkpoint.conventions["test_handler.channel_order"] == "BGR"


def test_vis4d_own_yolox_checkpoints_are_recognised() -> None:
    state = {k: torch.zeros(s) for k, s in _own_keys("nano", 2).items()}
    assert to_vis4d(state, {}, "model.ckpt", "--weights").layout == "vis4d"
    prefixed = {f"model.detector.{k}": v for k, v in state.items()}  # a QDTrack-YOLOX trained by vis4d
    assert set(to_vis4d(prefixed, {}, "last.ckpt", "--weights").state_dict) == set(state)


def test_class_rows_map_by_name_on_every_level() -> None:
    given = ["person", "car", "dog"]
    state = {f"head.cls_preds.{i}.{p}": torch.arange(3.0).reshape(3, *([1] * (p == "weight"))) for i in range(3)
             for p in ("weight", "bias")}  # fmt: skip
    own = {k: torch.full((2, *v.shape[1:]), -1.0) for k, v in state.items()}
    missing, dropped = map_head_categories(state, given, ["car", "bicycle"], own)
    assert (missing, dropped) == (["bicycle"], ["person", "dog"])
    for value in state.values():
        assert value.flatten().tolist() == [1.0, -1.0]


def test_catalogue_names_the_published_files() -> None:
    names = {entry.name for entry in known_weights()}
    assert megvii_url("s") == "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_s.pth"
    assert {megvii_url(size) for size in ("nano", "tiny", "s", "m", "l", "x")} <= names
    assert "bytetrack://bytetrack_x_mot17.pth.tar" in names and "bytetrack://bytetrack_x_mot20.pth.tar" in names
    assert "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_yolox_x_25e_bdd100k_c14af2.pt" in names
    assert sum(name.startswith("mmdet://yolox/") for name in names) == 4
    source = resolve_source("mmdet://yolox/yolox_s_8x8_300e_coco/yolox_s_8x8_300e_coco_20211121_095711-4592a793.pth")
    assert source.hash_prefix == "4592a793"


def test_bytetrack_files_are_placed_by_hand(torch_home: Path) -> None:
    name = "bytetrack://bytetrack_x_mot17.pth.tar"
    source = resolve_source(name, "model.weights")
    assert source.url is None and source.path == cache_dir(torch_home) / "bytetrack_x_mot17.pth.tar"
    page = bytetrack_page("bytetrack_x_mot17.pth.tar")
    assert page == "https://drive.google.com/file/d/1P4mY0Yyd3PPTybgZkjMYhFri88nTmJX5/view"
    with pytest.raises(ConfigError) as missing:
        fetch(source)
    message = str(missing.value)
    assert message.startswith("model.weights: ") and page in message and str(source.path) in message
    assert "\n" not in message
    source.path.write_bytes(b"placed by hand")
    assert fetch(source) == source.path
    with pytest.raises(ConfigError, match="no published file 'bytetrack_q_mot17.pth' is known; known: "):
        resolve_source("bytetrack://bytetrack_q_mot17.pth")


def test_weights_download_says_where_to_get_a_bytetrack_file(torch_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vis4d.cli", "weights", "download", "bytetrack://bytetrack_s_mot17.pth.tar"],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "TORCH_HOME": str(torch_home), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 2
    assert "drive.google.com/file/d/1uSmhXzyV1Zvb4TJJCzpsZOIcw7CCJLxj" in result.stderr
    assert str(cache_dir(torch_home) / "bytetrack_s_mot17.pth.tar") in result.stderr
