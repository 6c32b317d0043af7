"""Shared by the YOLOX equivalence tests: the sample frames, the seeded weights as a published file, comparison.

A fixture (``fixtures/<reference>/``) holds the reference's state-dict
layout (``keys.json``) and its outputs (``outputs.json``). The test rebuilds
the reference's weights from the key names (:mod:`tests.model.yolox.yolox_weights`),
writes them under the published file's name into the temporary torch.hub
cache, and loads them the way a user's weights name does, through the
layout detection and the converter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.model.weights.conftest import cache_dir
from tests.model.weights.test_vis4d_v1_equivalence import _compare
from tests.model.yolox.yolox_weights import state_dict_for
from tests.published_weights import made_once
from vis4d.common.structures import FramePrediction

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = ROOT / "assets" / "bdd100k_sample" / "images"


def sample_frames() -> Iterator[tuple[str, str, Path]]:
    """(video, frame name, path) of the 12 sample frames, videos and frames in name order (the fixtures' order)."""
    for path in sorted(SAMPLE.glob("*/*.jpg")):
        yield path.parent.name, path.name, path


def fixture(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys, outputs) of ``fixtures/<name>``."""
    folder = FIXTURES / name
    return json.loads((folder / "keys.json").read_text()), json.loads((folder / "outputs.json").read_text())


def write_published(
    torch_home: Path,
    file_name: str,
    keys: dict[str, Any],
    wrap: str,
    prefix: str = "",
    input_std: float = 20.0,
    objectness: tuple[float, float] | None = None,
) -> None:
    """The seeded weights of ``keys`` saved as ``file_name`` in the cache, in the container ``wrap`` names
    (made once per process: :func:`tests.published_weights.made_once`)."""
    options = {"input_std": input_std} | ({"objectness": objectness} if objectness is not None else {})

    def make(target: Path) -> None:
        state = {prefix + key: value for key, value in state_dict_for(keys, **options).items()}  # type: ignore[arg-type]
        torch.save({wrap: state}, target)

    what = json.dumps([file_name, keys, wrap, prefix, input_std, objectness], sort_keys=True)
    made_once(what, cache_dir(torch_home) / file_name, make)


def original_pixels(prediction: FramePrediction, ratio: tuple[float, float]) -> dict[str, np.ndarray]:
    """Detections (best first) with boxes divided by the resize ratio (x, y), as the references report them."""
    order = np.argsort(-prediction.scores.numpy(), kind="stable")
    return {
        "boxes": prediction.boxes.numpy()[order] / np.array([ratio[0], ratio[1], ratio[0], ratio[1]]),
        "scores": prediction.scores.numpy()[order],
        "class_ids": prediction.class_ids.numpy()[order],
    }


def assert_same_detections(
    ours: FramePrediction, ratio: tuple[float, float], theirs: dict[str, Any], where: str
) -> None:
    """Same detections: boxes within 0.5 original pixels, scores within 1e-3, equal classes."""
    _compare(original_pixels(ours, ratio), theirs, where)
