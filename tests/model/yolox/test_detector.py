from __future__ import annotations

import io
import warnings

import pytest
import torch
from torch import Tensor, nn

from tests.model.yolox.conventions import megvii_input
from tests.model.yolox.oracle import SAMPLE, fixture
from tests.model.yolox.yolox_weights import state_dict_for
from vis4d.common.structures import Targets
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.detect.base import Detector, FeatureLevel
from vis4d.model.weights import megvii
from vis4d.model.yolox.blocks import ConvNormAct
from vis4d.model.yolox.detector import YOLOX


def _busy(cfg: YOLOXConfig) -> YOLOX:
    """A randomly initialised YOLOX scores every cell about the same; the Megvii fixture's weights make it detect."""
    model = YOLOX(cfg.model_copy(update={"size": "nano"}), 80)
    keys, _ = fixture("megvii")
    model.load_state_dict(megvii.convert(state_dict_for(keys), {}, "yolox_nano.pth").state_dict)
    return model


def _targets() -> list[Targets]:
    boxes = torch.tensor([[8.0, 8.0, 40.0, 56.0], [50.0, 10.0, 90.0, 40.0]])
    return [Targets(boxes, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.zeros(2, dtype=torch.bool))] * 2


def test_features_are_the_declared_levels() -> None:
    model = YOLOX(YOLOXConfig(size="tiny"), 3)
    assert isinstance(model, Detector)
    assert model.feature_levels == [FeatureLevel("p3", 8, 96), FeatureLevel("p4", 16, 96), FeatureLevel("p5", 32, 96)]
    features = model.extract_features(torch.rand(1, 3, 64, 96))
    assert [(name, tuple(f.shape)) for name, f in features.items()] == [
        ("p3", (1, 96, 8, 12)), ("p4", (1, 96, 4, 6)), ("p5", (1, 96, 2, 3))
    ]  # fmt: skip
    assert features["p3"].is_contiguous(memory_format=torch.channels_last)


def test_detect_proposals_and_clipping() -> None:
    model = _busy(YOLOXConfig(size="nano", clip_boxes=True)).eval()
    frames = list(SAMPLE.glob("*/*.jpg"))[:2]
    with torch.no_grad():
        features = model.extract_features(torch.cat([megvii_input(f, (192, 320))[0] for f in frames]))
        predictions = model.detect(features, [(180, 300), (160, 320)])
        proposals = model.proposals(features, [(180, 300), (160, 320)])
    for prediction, (height, width) in zip(predictions, [(180, 300), (160, 320)], strict=True):
        assert len(prediction.boxes) > 0
        assert prediction.boxes[:, 0::2].max() <= width and prediction.boxes[:, 1::2].max() <= height
        assert prediction.boxes.min() >= 0 and prediction.class_ids.dtype == torch.int64
        assert bool((prediction.scores[:-1] >= prediction.scores[1:]).all())  # best first
    assert all(len(p) <= model.cfg.proposals.max_proposals and p.shape[1] == 4 for p in proposals)


def test_folding_batch_norm_keeps_the_outputs() -> None:
    torch.manual_seed(0)
    model = YOLOX(YOLOXConfig(size="nano"), 2)
    with pytest.raises(RuntimeError, match="inference"):
        model.fold_batch_norm()
    for module in model.modules():  # non-trivial statistics, as after training
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    model.eval()
    images = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        before = model.head(list(model.extract_features(images).values()))
        assert model.fold_batch_norm() == sum(1 for m in model.modules() if isinstance(m, nn.Conv2d)) - 9
        after = model.head(list(model.extract_features(images).values()))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.fused for m in model.modules() if isinstance(m, ConvNormAct))  # conv + activation as one primitive
    torch.testing.assert_close(after.class_logits, before.class_logits, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(after.box_offsets, before.box_offsets, atol=1e-3, rtol=1e-4)
    with torch.enable_grad():  # the plain path (training, export): the same numbers
        plain = model.head(list(model.extract_features(images).values()))
    torch.testing.assert_close(plain.class_logits.detach(), after.class_logits, atol=1e-4, rtol=1e-5)


def test_training_fits_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = YOLOX(YOLOXConfig(size="nano"), 2).train()
    images = torch.rand(2, 3, 64, 96) * 255
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    totals = []
    for step in range(20):
        model.enable_l1_loss(step >= 15)  # the reference's switch for the last epochs
        losses, proposals = model.losses(model.extract_features(images), [(64, 96)] * 2, _targets())
        assert ("yolox_l1" in losses) == (step >= 15)
        assert all(not p.requires_grad for p in proposals)
        total = sum(losses.values(), torch.zeros(()))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total.detach()) - float(losses.get("yolox_l1", torch.zeros(())).detach()))
    # SimOTA reassigns every step and batch statistics of two images are noisy: the loss falls unevenly.
    assert min(totals[10:]) < 0.75 * totals[0]


def test_mixed_precision_losses_are_finite() -> None:
    model = YOLOX(YOLOXConfig(size="nano"), 2).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = model.extract_features(torch.rand(2, 3, 64, 96) * 255)
        losses, _ = model.losses(features, [(64, 96)] * 2, _targets())
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())


class _Graph(nn.Module):
    """One image in, detections out: what an export holds."""

    def __init__(self, model: YOLOX) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor, image_size: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        (prediction,) = self.model.detect(self.model.extract_features(image), image_size.reshape(1, 2))
        return prediction.boxes, prediction.scores, prediction.class_ids


def test_detection_traces_for_any_image_size() -> None:
    """TorchScript and ONNX graphs traced at 256x448 detect as the model does at 384x672."""
    graph = _Graph(_busy(YOLOXConfig(size="nano", clip_boxes=True)).eval())
    graph.model.fold_batch_norm()
    frame = next(SAMPLE.glob("*/*.jpg"))
    example = (megvii_input(frame, (256, 448))[0], torch.tensor([252, 448]))
    other = (megvii_input(frame, (384, 672))[0], torch.tensor([378, 672]))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = graph(*other)
        traced = torch.jit.trace(graph, example, check_trace=False)  # type: ignore[no-untyped-call]
        # The graph holds plain convolutions and activations, eager inference fused ones: float rounding apart.
        for ours, theirs in zip(traced(*other), expected, strict=True):
            torch.testing.assert_close(ours, theirs, atol=1e-3, rtol=1e-4)
        buffer = io.BytesIO()
        torch.onnx.export(graph, example, buffer, input_names=["image", "image_size"], opset_version=17,
                          dynamic_axes={"image": {2: "height", 3: "width"}}, dynamo=False)  # fmt: skip
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"image": other[0].numpy(), "image_size": other[1].numpy()})
    assert len(outputs[0]) == len(expected[0]) > 0
    for ours, theirs in zip(outputs, expected, strict=True):
        torch.testing.assert_close(torch.from_numpy(ours), theirs, atol=1e-3, rtol=1e-4)
