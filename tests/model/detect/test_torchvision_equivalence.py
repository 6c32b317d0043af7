"""Oracle test: with torchvision's weights copied in, vis4d's Faster R-CNN detects what torchvision detects."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN as TorchvisionFasterRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from tests.model.detect.conftest import tiny_config
from vis4d.common.structures import Batch
from vis4d.model.detect.faster_rcnn import FasterRCNN
from vis4d.model.weights.torchvision import convert_detection

NUM_CLASSES = 3


def _torchvision_twin(height: int, width: int) -> TorchvisionFasterRCNN:
    cfg = tiny_config(score_thresh=0.0)
    backbone = resnet_fpn_backbone(
        backbone_name="resnet18", weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5
    )
    # torchvision's helper fixes the FPN at 256 channels; rebuild it at ours.
    backbone.fpn = FeaturePyramidNetwork([64, 128, 256, 512], 32, extra_blocks=LastLevelMaxPool())
    backbone.out_channels = 32
    model = TorchvisionFasterRCNN(
        backbone,
        num_classes=None,
        min_size=height,
        max_size=width,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
        rpn_pre_nms_top_n_test=cfg.rpn.pre_nms_top_n_test,
        rpn_post_nms_top_n_test=cfg.rpn.post_nms_top_n_test,
        box_head=TwoMLPHead(32 * 7 * 7, 64),
        box_predictor=FastRCNNPredictor(64, NUM_CLASSES + 1),
        box_score_thresh=cfg.roi_head.score_thresh,
        box_nms_thresh=cfg.roi_head.nms_thresh,
        box_detections_per_img=cfg.roi_head.detections_per_img,
    )
    model.transform.resize = lambda image, target=None: (image, target)  # type: ignore[method-assign]
    return model


def test_same_weights_give_same_detections_as_torchvision(tiny_batch: Batch) -> None:
    torch.manual_seed(0)
    theirs = _torchvision_twin(64, 96).eval()
    with torch.no_grad():  # make the classifier confident enough that detections differ in score
        theirs.roi_heads.box_predictor.cls_score.weight.normal_(std=0.5)
        theirs.roi_heads.box_predictor.bbox_pred.weight.normal_(std=0.05)
    ours = FasterRCNN(tiny_config(score_thresh=0.0), NUM_CLASSES).eval()
    ours.load_state_dict(convert_detection(theirs.state_dict()).state_dict)
    with torch.no_grad():
        expected = theirs(list(tiny_batch.images))
        predictions = ours(tiny_batch.images, tiny_batch.image_sizes)
    for prediction, reference in zip(predictions, expected, strict=True):
        assert prediction.boxes.shape[0] == reference["boxes"].shape[0] == 20  # detections_per_img
        torch.testing.assert_close(prediction.scores, reference["scores"], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(prediction.class_ids, reference["labels"] - 1)
        torch.testing.assert_close(prediction.boxes, reference["boxes"], rtol=1e-4, atol=1e-3)
