"""Configs written before the detector became a component still load: each old key is read as its new one.

Until vis4d 0.1 a model section held the detector's parts directly
(``model.backbone``, ``model.rpn``, ``model.roi_head``) and a detector-only
model was ``model.type = "faster_rcnn"``. Now every model holds
``model.detector = {type = "faster_rcnn", backbone, rpn, roi_head}`` and a
detector alone is ``model.type = "detector"``. An old file, a run's saved
``config.yaml`` or an old ``--cfg-options`` key is moved to its new place
before validation, and each moved key says so in one warning line naming the
new key, so the user can update the file.
"""

from __future__ import annotations

import sys
from typing import Any

from vis4d.common.errors import ConfigError

DETECTOR_PARTS = ("backbone", "rpn", "roi_head")  # the old model.* keys that are model.detector.* now


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def migrate_raw(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """``raw`` (a merged config dict) with the old detector keys moved under ``model.detector`` (in place)."""
    model = raw.get("model")
    if not isinstance(model, dict):
        return raw
    if model.get("type") == "faster_rcnn":
        model["type"] = "detector"
        model.setdefault("detector", {}).setdefault("type", "faster_rcnn")
        _warn(f"{source}: model.type = 'faster_rcnn' is model.type = 'detector' with model.detector.type = "
              "'faster_rcnn' now (read as such; update the file)")  # fmt: skip
    moved = [key for key in DETECTOR_PARTS if key in model]
    if not moved:
        return raw
    detector = model.setdefault("detector", {})
    if not isinstance(detector, dict):
        raise ConfigError(f"{source}: model.detector must be a table, got {detector!r}")
    detector.setdefault("type", "faster_rcnn")
    if detector["type"] != "faster_rcnn":
        raise ConfigError(f"{source}: model.{moved[0]} belongs to a faster_rcnn detector, but model.detector.type "
                          f"is {detector['type']!r}; remove it or move it into model.detector")  # fmt: skip
    for key in moved:
        value = model.pop(key)
        if isinstance(value, dict) and isinstance(detector.get(key), dict):
            value = {**value, **detector[key]}
        detector[key] = value
        _warn(f"{source}: model.{key} is model.detector.{key} now (read as such; update the file)")
    return raw


def migrate_key(key: str, source: str) -> str:
    """An old override key (``model.roi_head.score_thresh``) as its new one, with one warning line."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[0] == "model" and parts[1] in DETECTOR_PARTS:
        new = ".".join(["model", "detector", *parts[1:]])
        _warn(f"{source}: {key} is {new} now (read as such)")
        return new
    return key
