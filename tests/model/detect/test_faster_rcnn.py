from __future__ import annotations

import pytest
import torch

from tests.model.detect.conftest import make_batch, tiny_config, tiny_model
from vis4d.common.structures import Batch, Targets
from vis4d.config.schema import BackboneConfig, DetectorModelConfig
from vis4d.model.detect.base import FeatureLevel
from vis4d.model.detect.faster_rcnn import FasterRCNN
from vis4d.model.detection import DetectionModel

NUM_CLASSES = 3


def test_the_tables_build_a_detector_model_around_faster_rcnn() -> None:
    """model.type = detector, model.detector.type = faster_rcnn, through the tables the engine uses."""
    from vis4d.model.build import build_model

    model = build_model(DetectorModelConfig(detector=tiny_config()), NUM_CLASSES)
    assert isinstance(model, DetectionModel) and isinstance(model.detector, FasterRCNN)
    assert model.detector.feature_levels == [FeatureLevel(f"p{k}", 2**k, 32) for k in (2, 3, 4, 5)]


def test_losses_decrease_when_fitting_a_fixed_batch(tiny_batch: Batch) -> None:
    torch.manual_seed(0)
    model = tiny_model(NUM_CLASSES)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    totals = []
    for _ in range(20):
        losses = model.loss(tiny_batch)
        assert set(losses) == {"rpn_cls_loss", "rpn_box_loss", "roi_cls_loss", "roi_box_loss"}
        total = torch.stack(list(losses.values())).sum()
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total.detach()))
    assert totals[-1] < 0.7 * totals[0], totals


def test_predict_returns_bounded_valid_detections(tiny_batch: Batch) -> None:
    torch.manual_seed(0)
    model = tiny_model(NUM_CLASSES, score_thresh=0.0, detections_per_img=5).eval()
    with torch.no_grad():
        features = model.detector.extract_features(tiny_batch.images)
        detections = model.detector.detect(features, tiny_batch.image_sizes)
        predictions = model.predict(tiny_batch)
    assert list(features) == ["p2", "p3", "p4", "p5", "p6"]
    assert len(detections) == len(predictions) == 2
    for prediction in predictions:
        assert 0 < prediction.boxes.shape[0] <= 5
        assert ((prediction.scores >= 0) & (prediction.scores <= 1)).all()
        assert ((prediction.class_ids >= 0) & (prediction.class_ids < NUM_CLASSES)).all()
        assert (prediction.boxes[:, 2] <= 96).all() and (prediction.boxes[:, 3] <= 64).all()


def test_batch_without_any_ground_truth_trains() -> None:
    torch.manual_seed(0)
    model = tiny_model(NUM_CLASSES).train()
    batch = make_batch(torch.randn(2, 3, 64, 96), [Targets.empty(), Targets.empty()])
    losses = model.loss(batch)
    assert losses["rpn_box_loss"] == 0 and losses["roi_box_loss"] == 0
    assert losses["rpn_cls_loss"] > 0 and losses["roi_cls_loss"] > 0
    torch.stack(list(losses.values())).sum().backward()


def test_mobilenet_detector_pools_its_own_levels(tiny_batch: Batch) -> None:
    torch.manual_seed(0)
    detector = tiny_config().model_copy(update={"backbone": BackboneConfig(type="mobilenet_v3_small", fpn_channels=32)})
    model = DetectionModel(DetectorModelConfig(detector=detector), NUM_CLASSES)
    assert [level.name for level in model.detector.feature_levels] == ["p3", "p4", "p5"]
    losses = model.train().loss(tiny_batch)
    assert all(torch.isfinite(v) for v in losses.values())
    assert len(model.eval().predict(tiny_batch)) == 2


def test_bfloat16_autocast_keeps_boxes_float32(tiny_batch: Batch) -> None:
    torch.manual_seed(0)
    model = tiny_model(NUM_CLASSES, score_thresh=0.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model.train().loss(tiny_batch)
        predictions = model.eval().predict(tiny_batch)
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(p.boxes.dtype == torch.float32 and p.scores.dtype == torch.float32 for p in predictions)


def test_zero_classes_is_a_config_error() -> None:
    from vis4d.common.errors import ConfigError

    with pytest.raises(ConfigError, match="categories"):
        FasterRCNN(tiny_config(), 0)
