"""Checkpoints of every layout load into vis4d models: names converted, categories mapped by name, strictness."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from torchvision.models.detection import FasterRCNN as TorchvisionFasterRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from tests.model.detect.conftest import tiny_config
from tests.model.weights.conftest import cache_dir
from vis4d.common.errors import ConfigError
from vis4d.config.schema import QDTrackConfig, SimilarityHeadConfig
from vis4d.model.detect.faster_rcnn import FasterRCNN
from vis4d.model.track.qdtrack import QDTrack
from vis4d.model.weights import load_weights, read_checkpoint

COCO_FILE = "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"  # torchvision's official file name


def _coco_twin() -> TorchvisionFasterRCNN:
    """torchvision's Faster R-CNN at the tiny config's sizes, with COCO's 91 classifier rows."""
    backbone = resnet_fpn_backbone(
        backbone_name="resnet18", weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5
    )
    backbone.fpn = FeaturePyramidNetwork([64, 128, 256, 512], 32, extra_blocks=LastLevelMaxPool())
    backbone.out_channels = 32
    return TorchvisionFasterRCNN(
        backbone, num_classes=None, box_head=TwoMLPHead(32 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 91)
    )


def test_torchvision_detector_maps_coco_categories_by_name(
    torch_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    theirs = _coco_twin().state_dict()
    torch.save(theirs, cache_dir(torch_home) / COCO_FILE)
    ours = FasterRCNN(tiny_config(), 3)
    checkpoint = load_weights(ours, "torchvision://fasterrcnn_resnet50_fpn", ["person", "car", "zebra_crossing"])
    assert checkpoint.layout == "torchvision detection" and checkpoint.categories[:2] == ["person", "bicycle"]
    cls = theirs["roi_heads.box_predictor.cls_score.weight"]
    reg = theirs["roi_heads.box_predictor.bbox_pred.weight"].view(91, 4, -1)
    own = ours.state_dict()
    torch.testing.assert_close(own["roi_heads.cls_score.weight"][0], cls[1])  # person: torchvision row 1
    torch.testing.assert_close(own["roi_heads.cls_score.weight"][1], cls[3])  # car: row 3
    torch.testing.assert_close(own["roi_heads.cls_score.weight"][3], cls[0])  # background: last
    torch.testing.assert_close(own["roi_heads.bbox_pred.weight"].view(3, 4, -1)[1], reg[3])
    err = capsys.readouterr().err
    assert "categories: 2 of 3 from the checkpoint; dropped 78 the config does not list: bicycle," in err
    assert "zebra_crossing not in the checkpoint (left as initialised: train them)" in err
    assert "N/A" not in err.split("dropped")[1]
    assert "model.detector.roi_head.aligned" not in err  # the tiny config computes as torchvision does


def test_imagenet_classifier_fills_the_backbone_and_strict_names_the_rest(torch_home: Path) -> None:
    from torchvision import models

    torch.save(models.resnet18(weights=None).state_dict(), cache_dir(torch_home) / "resnet18-f37072fd.pth")
    with pytest.raises(ConfigError, match=r"keys do not match the model \(missing: backbone.fpn"):
        load_weights(FasterRCNN(tiny_config(), 3), "torchvision://resnet18", ["a", "b", "c"])
    model = FasterRCNN(tiny_config(), 3)
    load_weights(model, "torchvision://resnet18", ["a", "b", "c"], strict=False)


def _as_mmdet(state: dict[str, Tensor], track: bool) -> dict[str, Tensor]:
    """vis4d names -> mmdetection's (and the official QDTrack's track head), the inverse of the converter."""
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("detector.")
        if key.startswith("backbone.body."):
            out["backbone." + key.removeprefix("backbone.body.")] = value
        elif key.startswith("backbone.fpn.inner_blocks."):
            index, rest = key.removeprefix("backbone.fpn.inner_blocks.").split(".0.")
            out[f"neck.lateral_convs.{index}.conv.{rest}"] = value
        elif key.startswith("backbone.fpn.layer_blocks."):
            index, rest = key.removeprefix("backbone.fpn.layer_blocks.").split(".0.")
            out[f"neck.fpn_convs.{index}.conv.{rest}"] = value
        elif key.startswith("rpn.head.convs.0."):
            out["rpn_head.rpn_conv." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("rpn.head.predictor."):
            suffix, anchors = key.rsplit(".", 1)[1], value.shape[0] // 5
            out[f"rpn_head.rpn_cls.{suffix}"], out[f"rpn_head.rpn_reg.{suffix}"] = value[:anchors], value[anchors:]
        elif key.startswith("roi_heads.fcs."):
            index = {"1": 0, "3": 1}[key.split(".")[2]]
            out[f"roi_head.bbox_head.shared_fcs.{index}.{key.rsplit('.', 1)[1]}"] = value
        elif key.startswith("roi_heads.cls_score."):
            out["roi_head.bbox_head.fc_cls." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("roi_heads.bbox_pred."):
            out["roi_head.bbox_head.fc_reg." + key.rsplit(".", 1)[1]] = value
        elif track and key.startswith("similarity_head.convs."):
            index, rest = key.removeprefix("similarity_head.convs.").split(".", 1)
            part = "conv" if int(index) % 3 == 0 else "gn"
            out[f"roi_head.track_head.convs.{int(index) // 3}.{part}.{rest}"] = value
        elif track and key.startswith("similarity_head.fcs."):
            out["roi_head.track_head." + key.removeprefix("similarity_head.")] = value
        elif track and key.startswith("similarity_head.embed."):
            out["roi_head.track_head.fc_embed." + key.rsplit(".", 1)[1]] = value
    return out


def _tiny_qdtrack(num_classes: int) -> QDTrack:
    cfg = QDTrackConfig(
        detector=tiny_config(),
        similarity_head=SimilarityHeadConfig(num_convs=2, conv_channels=32, norm_groups=4, fc_dim=64, embedding_dim=16),
    )  # fmt: skip
    return QDTrack(cfg, num_classes)


@pytest.mark.parametrize("wrapper", ["", "detector."])
def test_mmdetection_qdtrack_layout_round_trips(tmp_path: Path, wrapper: str) -> None:
    """The official QDTrack's names (mmdetection + roi_head.track_head), and mmtracking's ``detector.`` prefix."""
    torch.manual_seed(1)
    source = _tiny_qdtrack(2)
    mmdet = _as_mmdet(source.state_dict(), track=True)
    if wrapper:  # mmtracking: the detector under detector., the embedding head under track_head.embed_head.
        embed = "roi_head.track_head."
        mmdet = {
            (k.replace(embed, "track_head.embed_head.") if k.startswith(embed) else f"{wrapper}{k}"): v
            for k, v in mmdet.items()
        }
    path = tmp_path / "qdtrack_mmdet.pth"
    torch.save({"state_dict": mmdet, "meta": {"CLASSES": ("car", "pedestrian")}}, path)
    target = _tiny_qdtrack(2)
    checkpoint = load_weights(target, str(path), ["car", "pedestrian"])
    assert checkpoint.layout == "mmdetection QDTrack" and checkpoint.categories == ["car", "pedestrian"]
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value, msg=key)


def test_mmdetection_v3_meta_and_convention_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = FasterRCNN(tiny_config(), 2)
    path = tmp_path / "faster_rcnn_mmdet3.pth"
    meta = {"dataset_meta": {"classes": ("pedestrian", "car")}}
    torch.save({"state_dict": _as_mmdet(source.state_dict(), track=False), "meta": meta}, path)
    target = FasterRCNN(tiny_config(), 2)
    load_weights(target, str(path), ["car", "pedestrian"])
    own, theirs = target.state_dict()["roi_heads.cls_score.weight"], source.state_dict()["roi_heads.cls_score.weight"]
    torch.testing.assert_close(own[0], theirs[1])  # car was the checkpoint's second class
    torch.testing.assert_close(own[2], theirs[2])  # background
    err = capsys.readouterr().err
    assert "model.detector.roi_head.aligned = False (the checkpoint's: True)" in err
    assert "model.detector.roi_head.level_mapping = 'torchvision' (the checkpoint's: 'mmdet')" in err


def test_convert_writes_a_vis4d_file_that_keeps_its_categories(tmp_path: Path, torch_home: Path) -> None:
    from vis4d.model.weights.cli import convert_main

    torch.save(_coco_twin().state_dict(), cache_dir(torch_home) / COCO_FILE)
    output = tmp_path / "coco_detector.pt"
    assert convert_main(["torchvision://fasterrcnn_resnet50_fpn", str(output)]) == 0
    checkpoint = read_checkpoint(str(output))
    assert checkpoint.layout == "vis4d (from torchvision detection)"  # recorded by convert
    assert len(checkpoint.categories or []) == 90 and checkpoint.conventions["model.detector.roi_head.aligned"] is False
    model = FasterRCNN(tiny_config(), 2)
    load_weights(model, str(output), ["person", "car"])


def test_unknown_layouts_and_unreadable_files_are_one_line_errors(tmp_path: Path) -> None:
    text = tmp_path / "weights.txt"
    text.write_text("101\n")
    with pytest.raises(ConfigError, match=r"^--weights: .*weights.txt is a text file, expected a PyTorch checkpoint"):
        read_checkpoint(str(text))
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)  # a zip header, then nothing
    with pytest.raises(ConfigError, match=r"broken.pth is not a readable PyTorch checkpoint"):
        read_checkpoint(str(broken))
    odd = tmp_path / "odd.pth"
    torch.save({"encoder.layer.weight": torch.zeros(2)}, odd)
    with pytest.raises(
        ConfigError, match=r"odd.pth: unrecognised checkpoint layout \(first keys: encoder.layer.weight\)"
    ):
        read_checkpoint(str(odd))
    with pytest.raises(ConfigError, match="is a directory"):
        read_checkpoint(str(tmp_path))


def test_strict_refuses_mismatched_shapes_and_no_strict_loads_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FasterRCNN(tiny_config(), 3)
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": {f"model.{k}": v.half() for k, v in source.state_dict().items()}}, path)
    target = FasterRCNN(tiny_config(), 3)
    load_weights(target, str(path), ["a", "b", "c"])
    torch.testing.assert_close(
        target.backbone.fpn.inner_blocks[0][0].weight, source.backbone.fpn.inner_blocks[0][0].weight.half().float()
    )
    other = FasterRCNN(tiny_config(), 4)
    with pytest.raises(ConfigError, match=r"classifier has other classes than the config's 4 \(its categories are "
                       r"unknown\); with --no-strict the classifier and box regressor start from scratch"):  # fmt: skip
        load_weights(other, str(path), ["a", "b", "c", "d"])
    load_weights(other, str(path), ["a", "b", "c", "d"], strict=False)
    err = capsys.readouterr().err
    assert "4 shape-mismatched" in err and "classifier and box regressor start from scratch" in err
    torch.testing.assert_close(  # everything but the head loaded
        other.backbone.fpn.inner_blocks[0][0].weight, source.backbone.fpn.inner_blocks[0][0].weight.half().float()
    )
    smaller = FasterRCNN(tiny_config(fc_dim=48), 3)  # other shapes beyond the head: the generic message
    with pytest.raises(ConfigError, match="shape mismatch"):
        load_weights(smaller, str(path), ["a", "b", "c"])


def test_tracker_weights_into_a_detector_are_refused_by_strict_and_counted_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A QDTrack checkpoint holds a similarity head a detector config has no place for: not dropped silently."""
    from tests.model.detect.conftest import tiny_model

    path = tmp_path / "qdtrack.pt"
    torch.save({"state_dict": _tiny_qdtrack(3).state_dict()}, path)
    with pytest.raises(ConfigError, match=r"keys do not match the model \(unexpected: similarity_head\..* \(\d+\)\)"):
        load_weights(tiny_model(3), str(path), ["a", "b", "c"], strict=True)
    model = tiny_model(3)
    load_weights(model, str(path), ["a", "b", "c"], strict=False)
    err = capsys.readouterr().err
    assert "loaded non-strictly: 0 missing," in err and "unused: similarity_head" in err
