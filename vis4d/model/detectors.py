"""Which detector class a config's ``model.detector.type`` builds: one explicit table.

A new detector is a :class:`~vis4d.model.detect.base.Detector` with a
constructor ``(detector_config, num_classes, pretrained)``, a config class in
:mod:`vis4d.config.detector_schema` (a member of ``DetectorConfig``), and one
row here; every model (detector alone, QDTrack, ByteTrack) and export then take it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vis4d.model.detect.base import Detector
from vis4d.model.detect.faster_rcnn import FasterRCNN
from vis4d.model.yolox.detector import YOLOX

DETECTOR_TYPES: dict[str, Callable[[Any, int, bool], Detector]] = {
    "faster_rcnn": FasterRCNN,
    "yolox": YOLOX,
}


def build_detector(detector_config: Any, num_classes: int, pretrained: bool = False) -> Detector:
    """The detector ``detector_config.type`` names, for ``num_classes`` categories.

    ``pretrained``: whole-model weights will be loaded (``model.weights``),
    which some detectors build for (frozen batch norm with pretrained weights).
    """
    try:
        builder = DETECTOR_TYPES[detector_config.type]
    except KeyError as err:
        known = sorted(DETECTOR_TYPES)
        raise KeyError(f"unknown detector type {detector_config.type!r}; known: {known}") from err
    return builder(detector_config, num_classes, pretrained)
