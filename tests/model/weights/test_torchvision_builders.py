"""Every torchvision builder vis4d supports computes, with the builder's own weights, what torchvision computes.

The weights are random (no download): written under the official file names
into a temporary TORCH_HOME and loaded by their ``torchvision://`` names,
through the same path a user's download takes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision import models

from tests.model.weights.conftest import cache_dir
from vis4d.config.schema import BackboneConfig
from vis4d.model.backbones import build_backbone
from vis4d.model.weights.loading import load_backbone_weights
from vis4d.model.weights.sources import resolve_source


def _randomise_norms(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Non-trivial batch-norm statistics, so that a wrong epsilon or a skipped norm shows."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)


@pytest.mark.parametrize("builder", ["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large"])
def test_imagenet_backbones_compute_torchvisions_features(builder: str, torch_home: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    reference = getattr(models, builder)(weights=None).eval()
    _randomise_norms(reference, generator)
    torch.save(reference.state_dict(), cache_dir(torch_home) / resolve_source(f"torchvision://{builder}").path.name)
    ours = build_backbone(BackboneConfig(type=builder, weights=f"torchvision://{builder}", fpn_channels=8)).eval()
    load_backbone_weights(ours, f"torchvision://{builder}")
    image = torch.randn(1, 3, 96, 128, generator=generator)
    with torch.no_grad():
        features = ours.body(image)
        if builder.startswith("resnet"):
            x = reference.maxpool(reference.relu(reference.bn1(reference.conv1(image))))
            expected = []
            for layer in (reference.layer1, reference.layer2, reference.layer3, reference.layer4):
                x = layer(x)
                expected.append(x)
        else:
            expected, x = [], image
            for index, block in enumerate(reference.features):
                x = block(x)
                if index in ours.body.return_indices:
                    expected.append(x)
    assert len(features) == len(expected)
    for got, want in zip(features, expected, strict=True):
        # Frozen batch norm folds scale and shift, eval-mode BatchNorm2d does not: rounding differs, relative 1e-6.
        assert got.shape == want.shape
        assert (got - want).abs().max() <= 1e-5 * want.abs().max()


def _legacy_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The key names of torchvision's 2019 detection files (before Conv2dNormActivation)."""
    import re

    out = {}
    for key, value in state.items():
        key = re.sub(r"^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.0\.", r"\1.", key)
        out[key.replace("rpn.head.conv.0.0.", "rpn.head.conv.")] = value
    return out


@pytest.mark.slow
def test_published_coco_detector_detects_what_torchvision_detects(torch_home: Path) -> None:
    """The shipped ByteTrack config's detector against torchvision's fasterrcnn_resnet50_fpn, on a real frame.

    Same weights (the COCO_V1 builder's architecture: frozen batch norm with
    epsilon 0, legacy key names), same image through each one's own input
    pipeline (vis4d's handler with the config's resize; torchvision's
    GeneralizedRCNNTransform): the detections of the config's six categories
    agree, boxes within 0.5 px and scores within 1e-3.
    """
    from torchvision.models.detection import FasterRCNN as TorchvisionFasterRCNN
    from torchvision.models.detection._utils import overwrite_eps
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops.misc import FrozenBatchNorm2d

    from tests.model.weights.deterministic_weights import state_dict_for
    from tests.model.weights.test_vis4d_v1_equivalence import _compare
    from vis4d.common.structures import to_original_coordinates
    from vis4d.config.load import load_config
    from vis4d.config.schema import ImageFolderDatasetConfig
    from vis4d.data.datasets.image_folder import load_image_folder
    from vis4d.data.handler import FrameDataset, make_collate
    from vis4d.data.io import decode_image
    from vis4d.model.detect.faster_rcnn import FasterRCNN
    from vis4d.model.weights import load_weights

    root = Path(__file__).resolve().parents[3]
    # The shipped config's input conventions (torchvision's GeneralizedRCNNTransform: shorter edge, longer-edge cap,
    # floor, plain bilinear) at a quarter of its 800/1333 edges, for 1/16 of the compute; torchvision is told the same.
    config = load_config(root / "configs" / "experiments" / "bytetrack" / "bytetrack_faster_rcnn_R_50_FPN_coco.toml",
                         "test_handler.transforms.0.shape=[200,333]")  # fmt: skip
    detector = config.model.detector
    # No cap: the two keep their detections of all classes.
    roi_head = detector.roi_head.model_copy(update={"detections_per_img": 1000})
    detector = detector.model_copy(update={"roi_head": roi_head})
    config = config.model_copy(update={"model": config.model.model_copy(update={"detector": detector})})
    backbone = _resnet_fpn_extractor(models.resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)
    theirs = TorchvisionFasterRCNN(backbone, num_classes=91, box_detections_per_img=100_000, min_size=200,
                                   max_size=333).eval()  # fmt: skip
    overwrite_eps(theirs, 0.0)
    shapes = {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in theirs.state_dict().items()}
    weights = state_dict_for(shapes, seed=3)
    theirs.load_state_dict(weights)
    torch.save(_legacy_names(weights), cache_dir(torch_home) / "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth")

    ours = FasterRCNN(config.model.detector, len(config.categories)).eval()
    load_weights(ours, "torchvision://fasterrcnn_resnet50_fpn", config.categories, strict=True, config=config)
    folder = root / "assets" / "bdd100k_sample" / "images" / "b1c66a42-6f7d68ca"
    store = load_image_folder(ImageFolderDatasetConfig(root=str(folder)), config.categories)
    batch = make_collate(config.test_handler)([FrameDataset(store, config.test_handler, config.categories, False)[0]])
    assert batch.meta[0].input_hw == (187, 333)  # torchvision's floor(720 * 333 / 1280) x 333
    with torch.no_grad():
        (prediction,) = ours(batch.images, batch.image_sizes)
        (expected,) = theirs([decode_image(batch.meta[0].image_path).float() / 255])
    coco = [c for c in models.get_weight("FasterRCNN_ResNet50_FPN_Weights.COCO_V1").meta["categories"]]
    wanted = torch.tensor([coco.index(name) for name in config.categories])
    keep = torch.isin(expected["labels"], wanted)
    assert 0 < int(keep.sum()) == len(prediction.scores)
    order = torch.argsort(prediction.scores, descending=True)
    ours_out = {
        "boxes": to_original_coordinates(prediction.boxes[order], batch.meta[0]).numpy(),
        "scores": prediction.scores[order].numpy(),
        "class_ids": prediction.class_ids[order].numpy(),
    }
    theirs_out = {
        "boxes": expected["boxes"][keep].numpy(),
        "scores": expected["scores"][keep].numpy(),
        "class_ids": [config.categories.index(coco[i]) for i in expected["labels"][keep].tolist()],
    }
    # Scores within 1e-3, classes equal, boxes within 0.5 px; detections whose scores tie within the tolerance may
    # come in either order (the convolutions round differently), matched by class and nearest box.
    _compare(ours_out, theirs_out, "the sample frame")
