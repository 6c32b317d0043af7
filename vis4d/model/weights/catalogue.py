"""The weights vis4d knows by name: what ``vis4d weights list`` shows and ``vis4d weights download`` fetches.

torchvision's entries come from torchvision itself (URL, file size, the
metric its documentation reports), so they cannot drift from the installed
version. Other zoos are listed with the figures their authors publish.
"""

from __future__ import annotations

import dataclasses

# torchvision builders whose default weights vis4d runs exactly: ImageNet backbones and the detector.
TORCHVISION_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large")
TORCHVISION_DETECTORS = ("fasterrcnn_resnet50_fpn",)


@dataclasses.dataclass(frozen=True)
class KnownWeights:
    """One named checkpoint: its name, the size of its file and what it was trained on (with a metric)."""

    name: str
    size_mb: float | None
    trained_on: str
    use: str  # what it initialises in vis4d


def _torchvision_entries() -> list[KnownWeights]:
    from torchvision import models

    entries = []
    for builder in (*TORCHVISION_BACKBONES, *TORCHVISION_DETECTORS):
        enum = models.get_model_weights(builder)
        for weights in enum:
            metrics = weights.meta.get("_metrics", {})
            dataset, values = next(iter(metrics.items()), ("", {}))
            metric = ", ".join(f"{key} {value}" for key, value in values.items())
            default = weights == enum.DEFAULT
            name = f"torchvision://{builder}" if default else f"torchvision://{weights}"
            use = "model.weights (detector)" if builder in TORCHVISION_DETECTORS else "model.detector.backbone.weights"
            entries.append(KnownWeights(name, weights.meta.get("_file_size"), f"{dataset}: {metric}", use))
    return entries


def known_weights() -> list[KnownWeights]:
    """Every named checkpoint vis4d knows, torchvision's first."""
    return _torchvision_entries() + list(OTHER_ZOOS)


# Published checkpoints of other model zoos that vis4d converts (figures as their authors report them; sizes
# where known). mmtracking's MOT17 QDTrack is not listed: its caffe-style ResNet computes differently.
MMDET_R50_1X = "mmdet://faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth"
MMDET_R101_1X = "mmdet://faster_rcnn/faster_rcnn_r101_fpn_1x_coco/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth"
QDTRACK_BDD100K = "bdd100k://mot/models/qdtrack-frcnn_r50_fpn_12e_mot_bdd100k.pth"
VIS4D_QDTRACK_BDD100K = "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_frcnn_r50_fpn_augs_1x_bdd100k_456b1e.pt"
OTHER_ZOOS: tuple[KnownWeights, ...] = (
    KnownWeights(MMDET_R50_1X, None, "COCO (mmdetection): box AP 37.4", "model.weights (detector)"),
    KnownWeights(MMDET_R101_1X, None, "COCO (mmdetection): box AP 39.4", "model.weights (detector, resnet101)"),
    KnownWeights(
        "bdd100k://det/models/faster_rcnn_r50_fpn_3x_det_bdd100k.pth",
        None,
        "BDD100K detection, 10 classes: AP-val 32.3",
        "model.weights (detector)",
    ),
    KnownWeights(QDTRACK_BDD100K, None, "BDD100K MOT (official QDTrack): mMOTA-val 36.6, mIDF1 51.6", "model.weights"),
    KnownWeights(
        VIS4D_QDTRACK_BDD100K, None, "BDD100K MOT (Vis4D 1.0 QDTrack): mMOTA-val 37.7, mIDF1 52.7", "model.weights"
    ),
)
