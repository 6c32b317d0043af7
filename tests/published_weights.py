"""Published weights, made by the tests: files in each publisher's layout under the official file names.

The suite never downloads. Where a command or a config names published
weights (``torchvision://fasterrcnn_resnet50_fpn``, Vis4D 1.0's QDTrack URL,
the BDD100K zoo's official QDTrack), :func:`place` writes a checkpoint with the
same keys, shapes and metadata as the published file into a torch.hub cache
under the file name the URL ends in, exactly where a download would put it;
vis4d then finds it "already downloaded". The values are random (seeded) or,
for Vis4D 1.0's layouts, the deterministic weights of its equivalence fixture.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tests.model.weights.deterministic_weights import state_dict_for

FIXTURE = Path(__file__).resolve().parent / "model" / "weights" / "fixtures" / "vis4d_1_0"
VIS4D_V1_QDTRACK = "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_frcnn_r50_fpn_augs_1x_bdd100k_456b1e.pt"
OFFICIAL_QDTRACK = "bdd100k://mot/models/qdtrack-frcnn_r50_fpn_12e_mot_bdd100k.pth"

# Vis4D 1.0's names -> mmdetection's / the official QDTrack's (the inverse of Vis4D 1.0's loading map).
TO_MMDET = (
    (r"^basemodel\.", "backbone."),
    (r"^fpn\.inner_blocks\.(\d+)\.0\.", r"neck.lateral_convs.\1.conv."),
    (r"^fpn\.layer_blocks\.(\d+)\.0\.", r"neck.fpn_convs.\1.conv."),
    (r"^faster_rcnn_head\.rpn_head\.rpn_box\.", "rpn_head.rpn_reg."),
    (r"^faster_rcnn_head\.rpn_head\.", "rpn_head."),
    (r"^faster_rcnn_head\.roi_head\.", "roi_head.bbox_head."),
    (r"^qdtrack_head\.similarity_head\.convs\.(\d+)\.norm\.", r"roi_head.track_head.convs.\1.gn."),
    (r"^qdtrack_head\.similarity_head\.convs\.(\d+)\.weight", r"roi_head.track_head.convs.\1.conv.weight"),
    (r"^qdtrack_head\.similarity_head\.fcs\.(\d+)\.0\.", r"roi_head.track_head.fcs.\1."),
    (r"^qdtrack_head\.similarity_head\.fc_embed\.", "roi_head.track_head.fc_embed."),
)
# The official QDTrack's class tuple (in its checkpoint's meta), not its classifier's row order.
OFFICIAL_CLASS_TUPLE = ("pedestrian", "rider", "car", "bus", "truck", "bicycle", "motorcycle", "train")


def vis4d_v1_tensors() -> dict[str, torch.Tensor]:
    """The Vis4D 1.0 QDTrack R50-FPN tensors of the equivalence fixture (Vis4D 1.0's key names)."""
    return state_dict_for(json.loads((FIXTURE / "keys.json").read_text()))


def vis4d_v1_checkpoint() -> dict[str, Any]:
    """Vis4D 1.0's published QDTrack as its file holds it: a Lightning checkpoint."""
    return {"state_dict": {f"model.{k}": v for k, v in vis4d_v1_tensors().items()}, "epoch": 11}


def official_qdtrack_checkpoint() -> dict[str, Any]:
    """The official QDTrack's BDD100K model (mmdetection names, its class tuple in the meta)."""
    renamed = {}
    for key, value in vis4d_v1_tensors().items():
        for pattern, replacement in TO_MMDET:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return {"state_dict": renamed, "meta": {"CLASSES": OFFICIAL_CLASS_TUPLE}}


def _torchvision(builder: str) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        from torchvision import models

        torch.manual_seed(0)
        if builder.startswith("fasterrcnn"):
            model = models.get_model(builder, weights=None, weights_backbone=None)
        else:
            model = models.get_model(builder, weights=None)
        return dict(model.state_dict())

    return make


def to_megvii(key: str) -> str:
    """A vis4d YOLOX key under Megvii's name (the inverse of :func:`vis4d.model.weights.megvii.rename`)."""
    from vis4d.model.weights import megvii

    key = key.replace(".depthwise.", ".dconv.").replace(".pointwise.", ".pconv.")
    match = re.match(r"^((?:backbone\.dark[234]\.1|backbone\.dark5\.2|neck\.(?:top_down|bottom_up)_p\d))\."
                     r"(main_conv|short_conv|final_conv|blocks)\.", key)  # fmt: skip
    if match:
        parts = {v: k for k, v in megvii._CSP_PARTS.items()}
        key = f"{match.group(1)}.{parts[match.group(2)]}.{key[match.end() :]}"
    if key.startswith("neck.out_convs."):
        return "head.stems." + key.removeprefix("neck.out_convs.")
    if key.startswith("neck."):
        part, rest = key.removeprefix("neck.").split(".", 1)
        names = {v: k for k, v in megvii._NECK.items()}
        return f"backbone.{names.get(part, part)}.{rest}"
    if key.startswith("backbone."):
        return "backbone.backbone." + key.removeprefix("backbone.")
    return key


def _megvii(size: str) -> Callable[[], dict[str, Any]]:
    """Megvii's COCO release file of YOLOX-``size``: ``{"model": state}`` under its names, 80 classes."""

    def make() -> dict[str, Any]:
        from vis4d.config.yolox_schema import YOLOXConfig
        from vis4d.model.weights.megvii import rename
        from vis4d.model.yolox.detector import YOLOX

        torch.manual_seed(0)
        ours = YOLOX(YOLOXConfig(size=size), 80).state_dict()  # type: ignore[arg-type]
        state = {to_megvii(key): value.contiguous() for key, value in ours.items()}
        assert all(rename(key) == own for key, own in zip(state, ours, strict=True))
        return {"model": state, "start_epoch": 300}

    return make


MAKERS: dict[str, Callable[[], dict[str, Any]]] = {
    VIS4D_V1_QDTRACK: vis4d_v1_checkpoint,
    OFFICIAL_QDTRACK: official_qdtrack_checkpoint,
    "torchvision://fasterrcnn_resnet50_fpn": _torchvision("fasterrcnn_resnet50_fpn"),
    "torchvision://ResNet50_Weights.IMAGENET1K_V1": _torchvision("resnet50"),
    "torchvision://resnet50": _torchvision("resnet50"),
    "torchvision://resnet18": _torchvision("resnet18"),
    **{
        f"https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_{size}.pth": _megvii(size)
        for size in ("nano", "tiny", "s", "m", "l", "x")
    },  # fmt: skip
}


_MADE: dict[str, Path] = {}  # copies of the files made_once made in this process, by what they hold
_KEPT: list[Path] = []  # the process's folder of those copies, removed when it exits


def _kept_folder() -> Path:
    if not _KEPT:
        _KEPT.append(Path(tempfile.mkdtemp(prefix="vis4d-made-")))
        atexit.register(shutil.rmtree, _KEPT[0], True)
    return _KEPT[0]


def made_once(what: str, target: Path, make: Callable[[Path], None]) -> None:
    """``make(target)``, unless this process made the file ``what`` describes already: then it is copied.

    Seeded weights of large models take seconds to make (R50 QDTrack 0.5 s, YOLOX-X 4 s) and are the same
    for every test that writes them; a copy takes a fraction of that. Copies, not links: a test may corrupt
    its file in place (a truncated download) without reaching the next test's.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if what in _MADE:
        shutil.copyfile(_MADE[what], target)
        return
    make(target)
    kept = _kept_folder() / f"{len(_MADE)}-{target.name}"
    shutil.copyfile(target, kept)
    _MADE[what] = kept


def place(name: str, torch_home: Path) -> Path:
    """Write the published file of weights ``name`` into ``torch_home``'s cache (once); returns its path."""
    from vis4d.model.weights.sources import resolve_source

    url = resolve_source(name).url
    assert url is not None, f"{name} is not a published (remote) file"
    path = torch_home / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    if not path.is_file():
        if name not in MAKERS:
            raise KeyError(f"no maker for published weights {name!r}; add one to tests/published_weights.py")
        made_once(f"published {name}", path, lambda target: torch.save(MAKERS[name](), target))
    return path
