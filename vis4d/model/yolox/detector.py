"""YOLOX (Ge et al., 2021) behind vis4d's detector interface.

Images go through :class:`~vis4d.model.yolox.backbone.CSPDarknet` and
:class:`~vis4d.model.yolox.backbone.PAFPN`; the neck's three levels (``p3``,
``p4``, ``p5``, strides 8-32, all ``int(256 * width)`` channels) are the
features trackers pool from. The head predicts per cell; decoding and
selection are the pure functions of :mod:`vis4d.model.yolox.decode`.

The model takes images as the data handler makes them: YOLOX's published
weights expect raw 0-255 BGR pixels padded with 114 (Megvii, mmdetection,
Vis4D 1.0) or ImageNet-normalised RGB (ByteTrack); that is data handling, not
the model's business. Boxes in and out are in input pixels.

Training: :meth:`YOLOX.losses` assigns targets with SimOTA and returns the
IoU, objectness and class losses (:mod:`vis4d.model.yolox.losses`), plus the
L1 loss once :meth:`YOLOX.enable_l1_loss` switched it on; the proposals it
returns for trackers are the model's detections under the looser
``proposals`` settings, as Vis4D 1.0's QDTrack-YOLOX samples its embedding
RoIs from them.

Speed: channels-last weights and maps and, for test and predict, batch norm
folded into the convolutions and each convolution fused with its activation. NNPACK's fast 3x3 convolutions
(:mod:`vis4d.model.cpu_conv`), which speed up Faster R-CNN's 256-channel FPN,
are not used: on YOLOX-s at 640x640 they made inference slower (CSPDarknet's
3x3 convolutions are narrow, 32-256 channels) and their rounding moved
scores further from the reference's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FramePrediction, Targets
from vis4d.config.yolox_schema import YOLOXConfig
from vis4d.model.backbones import fold_conv_norm_pairs
from vis4d.model.detect.base import Detector, FeatureLevel, RoIPooling
from vis4d.model.detect.box_coder import ImageSizes, clip_boxes, image_size_tensor
from vis4d.model.yolox.backbone import PAFPN, CSPDarknet
from vis4d.model.yolox.blocks import ConvNormAct, ConvStyle
from vis4d.model.yolox.decode import SelectionSettings, decode_boxes, grid_priors, select_detections
from vis4d.model.yolox.head import DecoupledHead, HeadOutput
from vis4d.model.yolox.losses import yolox_losses
from vis4d.model.yolox.simota import SimOTASettings

STRIDES = (8, 16, 32)
LEVELS = ("p3", "p4", "p5")


class YOLOX(Detector):
    """CSPDarknet + PAFPN + decoupled head; see the module docstring."""

    def __init__(self, cfg: YOLOXConfig, num_classes: int, pretrained: bool = False) -> None:
        """``pretrained`` (whole-model weights will be loaded) changes nothing in YOLOX's layers."""
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"categories: a detector needs at least one category, got {num_classes}")
        self.cfg = cfg
        self.num_classes = num_classes
        depth, width, depthwise = cfg.multipliers()
        style = ConvStyle(cfg.activation, cfg.norm_eps, cfg.norm_momentum, depthwise)
        channels = int(256 * width)
        self.backbone = CSPDarknet(depth, width, style)
        self.neck = PAFPN(self.backbone.channels, channels, depth, style)
        self.head = DecoupledHead(channels, num_classes, len(STRIDES), style, cfg.prior_prob)
        self._levels = [FeatureLevel(name, s, channels) for name, s in zip(LEVELS, STRIDES, strict=True)]
        self.l1_loss_enabled = cfg.l1_loss
        self.assigner = SimOTASettings(
            cfg.center_radius, cfg.candidate_top_k, cfg.iou_cost_weight, cfg.candidate_region == "centre"
        )
        self.test_selection = SelectionSettings(
            cfg.score_threshold, cfg.nms_iou, cfg.class_agnostic_nms, cfg.pre_nms_top_k, cfg.max_detections
        )
        p = cfg.proposals
        self.proposal_selection = SelectionSettings(p.score_threshold, p.nms_iou, False, p.pre_nms_top_k,
                                                    p.max_proposals)  # fmt: skip
        self.to(memory_format=torch.channels_last)

    @property
    def feature_levels(self) -> list[FeatureLevel]:
        """The neck's three levels (strides 8, 16, 32; one width): what QDTrack-YOLOX pools from."""
        return list(self._levels)

    @property
    def roi_pooling(self) -> RoIPooling:
        """How Vis4D 1.0's QDTrack-YOLOX pools boxes from these levels: aligned, adaptive sampling, its mapping."""
        return RoIPooling(sampling_ratio=0, aligned=True, level_mapping="vis4d")

    def enable_l1_loss(self, enabled: bool = True) -> None:
        """Add (or drop) the L1 loss on raw box offsets: the reference's switch for the last epochs."""
        self.l1_loss_enabled = enabled

    def set_no_aug_phase(self, active: bool) -> None:
        """The L1 loss is on in the recipe's last epochs (Megvii's trainer), or throughout with ``l1_loss``."""
        self.enable_l1_loss(active or self.cfg.l1_loss)

    def extract_features(self, images: Tensor) -> OrderedDict[str, Tensor]:
        """The neck's maps ``p3``-``p5`` (channels-last) of images (B, 3, H, W), H and W divisible by 32."""
        levels = self.neck(*self.backbone(images.contiguous(memory_format=torch.channels_last)))
        return OrderedDict(zip(LEVELS, levels, strict=True))

    def _predict(self, features: OrderedDict[str, Tensor]) -> tuple[HeadOutput, Tensor, Tensor, Tensor]:
        """Head outputs, decoded boxes (B, N, 4), and the cells and strides they were decoded with."""
        head = self.head(list(features.values()))
        cells, strides = grid_priors(head.sizes, STRIDES, head.box_offsets.device)
        return head, decode_boxes(head.box_offsets, cells, strides), cells, strides

    def _select(
        self, head: HeadOutput, boxes: Tensor, image_sizes: ImageSizes, settings: SelectionSettings, clip: bool
    ) -> list[FramePrediction]:
        probs = head.class_logits.float().sigmoid()
        selected = select_detections(boxes, probs, head.objectness_logits.float().sigmoid(), settings)
        sizes = image_size_tensor(image_sizes, boxes.device) if clip else None
        predictions = []
        for image, (image_boxes, scores, classes) in enumerate(selected):
            if sizes is not None:  # after NMS, as Vis4D 1.0 clips
                image_boxes = clip_boxes(image_boxes, sizes[image, 0], sizes[image, 1])
            predictions.append(FramePrediction(image_boxes, scores, classes))
        return predictions

    def detect(self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes) -> list[FramePrediction]:
        """Per-image detections (input pixels), best first, under the test settings."""
        head, boxes, _, _ = self._predict(features)
        return self._select(head, boxes, image_sizes, self.test_selection, self.cfg.clip_boxes)

    def losses(
        self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes, targets: Sequence[Targets]
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        """SimOTA losses of a batch, and the detached proposals (the ``proposals`` settings' detections).

        Proposals are never clipped to the image: Vis4D 1.0's QDTrack-YOLOX
        samples its embedding RoIs from its unclipped training detections.
        """
        head, boxes, cells, strides = self._predict(features)
        losses = yolox_losses(head, boxes, cells, strides, list(targets), self.assigner, self.cfg.iou_loss_weight,
                              self.l1_loss_enabled)  # fmt: skip
        with torch.no_grad():
            detached = HeadOutput(
                head.class_logits.detach(), head.box_offsets.detach(), head.objectness_logits.detach(), head.sizes
            )
            selected = self._select(detached, boxes.detach(), image_sizes, self.proposal_selection, clip=False)
        proposals = [p.boxes for p in selected]
        return losses, proposals

    @torch.no_grad()
    def proposals(self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes) -> list[Tensor]:
        """The boxes :meth:`losses` returns for trackers, without losses (reference frames)."""
        head, boxes, _, _ = self._predict(features)
        return [p.boxes for p in self._select(head, boxes, image_sizes, self.proposal_selection, clip=False)]

    def fold_batch_norm(self) -> int:
        """Fold every batch norm into its convolution (inference only: call ``eval()`` first); returns how many.

        The folded blocks then also run convolution and activation as one
        primitive at CPU inference (:meth:`ConvNormAct.fuse_activation`).
        """
        if self.training:
            raise RuntimeError("fold_batch_norm is for inference: call model.eval() first")
        folded = fold_conv_norm_pairs(self)
        for module in self.modules():
            if isinstance(module, ConvNormAct):
                module.fuse_activation()
        return folded
