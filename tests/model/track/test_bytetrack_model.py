from __future__ import annotations

import torch

from tests.model.detect.conftest import tiny_config
from vis4d.common.structures import Batch, FrameMeta
from vis4d.config.schema import ByteTrackConfig, ByteTrackModelConfig, IoUGraphConfig
from vis4d.model.build import build_model
from vis4d.model.track.bytetrack import ByteTrack


def _config(**tracker: object) -> ByteTrackModelConfig:
    graph = IoUGraphConfig(**tracker) if tracker.get("type") == "iou" else ByteTrackConfig(**tracker)  # type: ignore[arg-type]
    return ByteTrackModelConfig(detector=tiny_config(score_thresh=0.0), tracker=graph)


def _frames(video: str, count: int) -> list[Batch]:
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, 64, 96, generator=generator)
    return [
        Batch(image.clone(), [], [FrameMeta(f"{video}-{i}", video, i, "", (64, 96), (64, 96))]) for i in range(count)
    ]


def test_a_detector_tracks_with_kalman_boxes_and_stable_ids() -> None:
    torch.manual_seed(0)
    model = build_model(_config(track_thresh=0.02, new_track_thresh=0.03, match_thresh=0.9), 3).eval()
    assert isinstance(model, ByteTrack)
    with torch.no_grad():  # make the untrained detector confident enough to start tracks
        model.detector.roi_heads.cls_score.weight.normal_(std=0.5)
    outputs = [model.predict(batch)[0] for batch in _frames("v", 3)]
    assert outputs[0].track_ids is not None and len(outputs[0].track_ids) > 0  # a video's first frame outputs at once
    assert set(outputs[1].track_ids.tolist()) == set(outputs[0].track_ids.tolist())  # identical frames: same tracks
    model.reset_tracking()
    again = model.predict(_frames("v", 1)[0])[0]
    assert min(again.track_ids.tolist()) > max(outputs[0].track_ids.tolist())  # ids are never reused


def test_training_is_the_detectors_and_the_iou_tracker_is_an_option(tiny_batch: Batch) -> None:
    model = ByteTrack(_config(type="iou"), 3)
    losses = model.loss(tiny_batch)
    assert set(losses) == {"rpn_cls_loss", "rpn_box_loss", "roi_cls_loss", "roi_box_loss"}
    assert model.tracker.graph.output_boxes is None  # the IoU tracker reports the detections' own boxes


def test_predictions_carry_the_detectors_own_detections() -> None:
    torch.manual_seed(0)
    model = build_model(_config(track_thresh=0.02, new_track_thresh=0.03, match_thresh=0.9), 3).eval()
    with torch.no_grad():
        model.detector.roi_heads.cls_score.weight.normal_(std=0.5)
    batch = _frames("v", 1)[0]
    (pred,) = model.predict(batch)
    (detected,) = model.detector(batch.images, batch.image_sizes)
    assert pred.detections is not None and pred.detections.track_ids is None
    assert torch.equal(pred.detections.boxes, detected.boxes) and torch.equal(pred.detections.scores, detected.scores)
    assert len(detected.boxes) >= len(pred.boxes)
