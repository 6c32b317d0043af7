import math

import pytest
import torch

from vis4d.common.errors import ConfigError
from vis4d.common.structures import Batch, FrameMeta, FramePrediction, Targets
from vis4d.config.schema import (
    BackboneConfig,
    FasterRCNNDetectorConfig,
    IoUGraphConfig,
    QDTrackConfig,
    RoIHeadConfig,
    RPNConfig,
    SimilarityHeadConfig,
    TrackSamplerConfig,
)
from vis4d.model.track.qdtrack import QDTrack

H, W = 64, 96


def tiny_cfg(**kw) -> QDTrackConfig:
    return QDTrackConfig(
        detector=FasterRCNNDetectorConfig(
            backbone=BackboneConfig(type="resnet18", fpn_channels=32),
            rpn=RPNConfig(
                pre_nms_top_n_train=200, post_nms_top_n_train=100, pre_nms_top_n_test=100, post_nms_top_n_test=50
            ),
            roi_head=RoIHeadConfig(fc_dim=64, batch_size_per_image=64),
        ),
        similarity_head=SimilarityHeadConfig(num_convs=1, conv_channels=32, norm_groups=8, fc_dim=64, embedding_dim=16),
        track_sampler=TrackSamplerConfig(batch_size_per_image=32),
        **kw,
    )


def make_batch(num: int, video: str = "v", frame: int = 0, shift: float = 0.0, seed: int = 0) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    boxes = torch.tensor([[5.0, 5.0, 40.0, 50.0], [50.0, 10.0, 90.0, 40.0]]) + shift
    targets = [
        Targets(boxes.clone(), torch.tensor([0, 1]), torch.tensor([11, 12]), torch.tensor([False, False]))
        for _ in range(num)
    ]
    meta = [FrameMeta(f"{video}-{frame}", video, frame, "", (H, W), (H, W)) for _ in range(num)]
    return Batch(torch.randn(num, 3, H, W, generator=gen), targets, meta)


def test_loss_keys_finite_and_backprop():
    torch.manual_seed(0)
    model = QDTrack(tiny_cfg(), num_classes=2).train()
    batch = make_batch(2)
    batch.refs = [make_batch(2, frame=1, shift=2.0, seed=1)]
    losses = model.loss(batch)
    assert {"track_loss", "track_aux_loss"} <= set(losses)
    assert len(losses) > 2  # detector losses too
    assert all(v.dim() == 0 and math.isfinite(v.item()) for v in losses.values())
    assert losses["track_loss"].item() > 0  # gt boxes are sampled on both frames: there are positives
    torch.stack(list(losses.values())).sum().backward()
    embed_grad = model.similarity_head.embed.weight.grad
    assert embed_grad is not None and embed_grad.abs().sum() > 0
    backbone_grads = [p.grad for p in model.detector.backbone.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in backbone_grads)


def test_qdtrack_on_yolox_trains_detector_and_embeddings():
    """QDTrack-YOLOX (Vis4D 1.0's): YOLOX's SimOTA losses, the L1 loss once the last epochs start, and the
    embedding losses on RoIs pooled from its neck; gradients reach the backbone through both."""
    from vis4d.config.schema import YOLOXConfig

    torch.manual_seed(0)
    cfg = tiny_cfg().model_copy(update={"detector": YOLOXConfig(size="nano", width=0.125)})
    model = QDTrack(cfg, num_classes=2).train()
    batch = make_batch(2)
    batch.refs = [make_batch(2, frame=1, shift=2.0, seed=1)]
    losses = model.loss(batch)
    assert {"yolox_iou", "yolox_obj", "yolox_cls", "track_loss", "track_aux_loss"} == set(losses)
    assert all(v.dim() == 0 and math.isfinite(v.item()) for v in losses.values())
    assert losses["track_loss"].item() > 0
    torch.stack(list(losses.values())).sum().backward()
    for name in ("track_loss", "yolox_iou"):  # each alone reaches the backbone's stem
        model.zero_grad()
        model.loss(batch)[name].backward()
        stem = model.detector.backbone.stem.conv.conv.weight.grad
        assert stem is not None and stem.abs().sum() > 0, name
    model.set_no_aug_phase(True)
    assert "yolox_l1" in model.loss(batch)
    model.set_no_aug_phase(False)
    assert "yolox_l1" not in model.loss(batch)


def test_loss_with_reference_of_other_size_and_missing_refs():
    torch.manual_seed(0)
    model = QDTrack(tiny_cfg(), num_classes=2).train()
    batch = make_batch(1)
    ref = make_batch(1, frame=1, seed=1)
    ref.images = torch.nn.functional.pad(ref.images, (0, 32))  # padded wider: two backbone passes
    batch.refs = [ref]
    assert all(math.isfinite(v.item()) for v in model.loss(batch).values())
    with pytest.raises(ConfigError, match="train_handler.reference"):
        model.loss(make_batch(1))


def track_list(prediction: FramePrediction) -> list[int]:
    assert prediction.track_ids is not None
    return prediction.track_ids.tolist()


class FixedDetections:
    """A stand-in for the detector's ``detect``: the same two objects in every frame."""

    def __init__(self, model: QDTrack) -> None:
        self.model = model

    def __call__(self, features, image_sizes):
        return [
            FramePrediction(
                torch.tensor([[5.0, 5.0, 40.0, 50.0], [50.0, 10.0, 90.0, 40.0]]),
                torch.tensor([0.95, 0.9]),
                torch.tensor([0, 1]),
            )
            for _ in image_sizes
        ]


def one_hot_embeddings(features, boxes, image_sizes):
    """Two distinct appearances, by box position: stands in for a trained similarity head."""
    return [torch.nn.functional.one_hot((b[:, 0] > 45).long(), 16).float() * 10 for b in boxes]


@pytest.mark.parametrize("graph", ["qdtrack", "iou"])
def test_predict_static_scene_keeps_ids_and_resets_per_video(graph, monkeypatch):
    torch.manual_seed(0)
    cfg = tiny_cfg() if graph == "qdtrack" else tiny_cfg(tracker=IoUGraphConfig())
    model = QDTrack(cfg, num_classes=2).eval()
    monkeypatch.setattr(model.detector, "detect", FixedDetections(model))
    if graph == "qdtrack":
        monkeypatch.setattr(model.similarity_head, "forward", one_hot_embeddings)
    image = make_batch(1).images
    outputs = []
    for frame in range(3):
        batch = make_batch(1, video="a", frame=frame)
        batch.images = image  # static scene
        outputs.append(model.predict(batch)[0])
    assert [track_list(o) for o in outputs] == [[0, 1]] * 3
    assert all(
        o.boxes.shape == (2, 4) and o.track_ids is not None and o.track_ids.dtype == torch.int64 for o in outputs
    )
    # a new video in the same batch: its tracks start fresh, ids keep increasing
    batch = make_batch(2, video="b", frame=0)
    batch.meta[1] = FrameMeta("b-1", "b", 1, "", (H, W), (H, W))
    second = model.predict(batch)
    assert [track_list(p) for p in second] == [[2, 3], [2, 3]]
    model.reset_tracking()
    assert track_list(model.predict(make_batch(1, video="b", frame=2))[0]) == [4, 5]


def test_predict_real_detector_runs():
    torch.manual_seed(0)
    model = QDTrack(tiny_cfg(), num_classes=2).eval()
    (pred,) = model.predict(make_batch(1))
    assert pred.track_ids is not None and len(pred.track_ids) == len(pred.boxes) == len(pred.scores)
    assert (pred.track_ids >= 0).all()


def test_registered_builder():
    from vis4d.model.build import build_model

    assert isinstance(build_model(tiny_cfg(), 2), QDTrack)


class DetectionsWithAWeakOne(FixedDetections):
    """The two objects and a third detection at score 0.1, below the graph's track_high_thresh (0.5)."""

    def __call__(self, features, image_sizes):
        dets = super().__call__(features, image_sizes)
        weak = FramePrediction(torch.tensor([[10.0, 40.0, 30.0, 60.0]]), torch.tensor([0.1]), torch.tensor([1]))
        return [
            FramePrediction(
                *(
                    torch.cat([a, b])
                    for a, b in zip((d.boxes, d.scores, d.class_ids), (weak.boxes, weak.scores, weak.class_ids))
                )
            )  # fmt: skip
            for d in dets
        ]


def test_predictions_carry_the_detectors_own_detections(monkeypatch):
    torch.manual_seed(0)
    model = QDTrack(tiny_cfg(), num_classes=2).eval()
    monkeypatch.setattr(model.detector, "detect", DetectionsWithAWeakOne(model))
    monkeypatch.setattr(model.similarity_head, "forward", one_hot_embeddings)
    (pred,) = model.predict(make_batch(1))
    assert track_list(pred) == [0, 1]  # the tracker outputs the two confident objects
    assert pred.detections is not None and pred.detections.detections is None
    assert pred.detections.scores.tolist() == pytest.approx([0.95, 0.9, 0.1])  # the detector's, weak one included
    assert pred.detections.track_ids is None

    # In original pixels (input scaled by 2), both the tracked boxes and the detector's detections.
    from vis4d.common.structures import frame_output

    meta = FrameMeta("v-0", "v", 0, "", (H // 2, W // 2), (H, W), scale=(2.0, 2.0))
    out = frame_output(meta, pred)
    assert out.detections is not None and out.detections.track_ids is None
    assert out.detections.boxes[2].tolist() == [5.0, 20.0, 15.0, 30.0]
    assert out.boxes.tolist() == out.detections.boxes[:2].tolist() and out.track_ids.tolist() == [0, 1]
    assert pred.to("cpu").detections is not None and pred.select(torch.tensor([0])).detections is None
