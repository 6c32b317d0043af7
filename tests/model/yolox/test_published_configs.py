"""The published YOLOX configs run as their references do, through vis4d's own data handling and model building.

The equivalence tests beside this file feed the references' preprocessed
inputs to the detector; tests/data/test_input_conventions.py shows the
handler makes those inputs from config options. Here the shipped configs
themselves are run: Vis4D 1.0's QDTrack-YOLOX-x gives Vis4D 1.0's
detections and track ids (its fixture, at the fixture's 224x416 input), and
ByteTrack on Megvii's COCO YOLOX-s maps the 80 COCO classes onto its six.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.model.weights.test_vis4d_v1_equivalence import _compare, _matching_order
from tests.model.yolox.oracle import fixture, sample_frames, write_published
from tests.published_weights import place
from vis4d.common.structures import FramePrediction, to_original_coordinates
from vis4d.config.load import load_config
from vis4d.config.schema import ImageFolderDatasetConfig
from vis4d.data.datasets.image_folder import load_image_folder
from vis4d.data.handler import FrameDataset, make_collate
from vis4d.model.build import build_model
from vis4d.model.weights import load_weights

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / "configs" / "experiments"


def _batches(config: Any) -> list[Any]:
    """The 12 sample frames through the config's test handler, one per batch, videos in name order."""
    store = load_image_folder(ImageFolderDatasetConfig(root=str(ROOT / "assets" / "bdd100k_sample" / "images")),
                              config.categories)  # fmt: skip
    dataset = FrameDataset(store, config.test_handler, config.categories, training=False)
    collate = make_collate(config.test_handler)
    return [collate([dataset[row]]) for row in range(len(dataset))]


def _original(prediction: FramePrediction, meta: Any) -> dict[str, np.ndarray]:
    order = np.argsort(-prediction.scores.numpy(), kind="stable")
    out = {
        "boxes": to_original_coordinates(prediction.boxes, meta).numpy()[order],
        "scores": prediction.scores.numpy()[order],
        "class_ids": prediction.class_ids.numpy()[order],
    }
    if prediction.track_ids is not None:
        out["track_ids"] = prediction.track_ids.numpy()[order]
    return out


def _same_partition(ours: dict[str, np.ndarray], theirs: dict[str, Any], ids: dict[int, int], where: str) -> None:
    """Boxes, scores and classes equal, and one consistent one-to-one map of our track ids onto theirs.

    The map, kept across frames, is the id partition: which boxes of which
    frames are one track. Two tracks born in the same frame get their ids in
    score order; where their scores are tied to 1e-4 (float rounding of the
    convolutions, ours against Vis4D 1.0's) the two ids may come in either
    order, which the map allows and nothing else does.
    """
    _compare(
        {k: v for k, v in ours.items() if k != "track_ids"},
        {k: v for k, v in theirs.items() if k != "track_ids"},
        where,
    )
    order = _matching_order(ours, theirs)
    for our_id, their_id in zip(
        ours["track_ids"].tolist(), np.asarray(theirs["track_ids"])[order].tolist(), strict=True
    ):
        assert ids.setdefault(our_id, their_id) == their_id, (
            f"{where}: track {our_id} was {ids[our_id]}, now {their_id}"
        )
    assert len(set(ids.values())) == len(ids), f"{where}: two of our tracks are one of theirs"


@pytest.mark.slow
def test_the_qdtrack_yolox_config_tracks_what_vis4d_1_0_tracks(torch_home: Path) -> None:
    """Detections and the track id partition of the first video and the start of the second (ids restart)."""
    keys, outputs = fixture("qdtrack_vis4d_1_0")
    config = load_config(
        CONFIGS / "qdtrack" / "qdtrack_yolox_x_bdd100k_vis4d_v1.toml", "test_handler.transforms.0.shape=[224,416]"
    )  # the fixture's input size (fmt: skip)
    assert config.model.weights is not None
    write_published(torch_home, config.model.weights.rsplit("/", 1)[1], keys, wrap="state_dict", prefix="model.",
                    objectness=(0.5, -12.0))  # fmt: skip
    model = build_model(config.model, len(config.categories)).eval()
    load_weights(model, config.model.weights, config.categories, strict=True, option="model.weights", config=config)
    model.fold_batch_norm()
    ids: dict[int, int] = {}
    wanted = {"00091078-875c1f73": 5, "b1c66a42-6f7d68ca": 2}  # frames checked per video (frame 5: a tie)
    seen: dict[str, int] = {}
    with torch.no_grad():
        for batch, expected, (video, frame, _) in zip(_batches(config), outputs, sample_frames(), strict=True):
            meta = batch.meta[0]
            assert (meta.video_name, meta.name) == (video, frame) == (expected["video"], expected["name"])
            seen[video] = seen.get(video, 0) + 1
            if seen[video] > wanted[video]:
                continue
            assert list(batch.images.shape) == expected["images_shape"]
            if seen[video] == 1:
                ids.clear()  # Vis4D 1.0 numbers each video's tracks from 0 again; vis4d's keep increasing
            (tracked,) = model.predict(batch)
            assert tracked.detections is not None
            _compare(_original(tracked.detections, meta), expected["detections"], f"detections of {frame}")
            _same_partition(_original(tracked, meta), expected["tracks"], ids, f"tracks of {frame}")


def test_bytetrack_on_megvii_yolox_s_keeps_its_six_coco_classes(torch_home: Path) -> None:
    """Megvii's COCO file (80 classes, its key names) loads strictly; the six classes' rows are picked by name."""
    config = load_config(CONFIGS / "bytetrack" / "bytetrack_yolox_s_coco.toml",
                         "test_handler.transforms.0.shape=[128,224],test_handler.pad_to=[128,224]")  # fmt: skip
    assert config.model.weights is not None
    path = place(config.model.weights, torch_home)
    coco = torch.load(path, weights_only=True)["model"]
    model = build_model(config.model, len(config.categories)).eval()
    checkpoint = load_weights(model, config.model.weights, config.categories, strict=True, option="model.weights",
                              config=config)  # fmt: skip
    assert checkpoint.layout == "Megvii YOLOX"
    rows = [checkpoint.categories.index(name) for name in config.categories] if checkpoint.categories else []
    assert rows == [0, 1, 2, 3, 5, 7]  # person, bicycle, car, motorcycle, bus, truck among COCO's 80
    for level in range(3):
        torch.testing.assert_close(model.detector.head.cls_preds[level].weight.flatten(1),
                                   coco[f"head.cls_preds.{level}.weight"][rows].flatten(1))  # fmt: skip
    with torch.no_grad():
        (tracked,) = model.predict(_batches(config)[0])
    assert tracked.track_ids is not None and tracked.detections is not None
