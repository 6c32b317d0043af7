"""A tiny experiment (synthetic data, tiny models) for end-to-end CLI tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import fork_server
from tests.fork_server import Completed

# The smallest backbone vis4d builds: a checkpoint (weights + SGD momentum) is 8 MB where ResNet-18's is 90 MB, and a
# 10-step tiny tracker run that writes one every step takes 1.1 s instead of 3.5 s.
TINY_MODEL = """
[model.detector]
type = "faster_rcnn"

[model.detector.backbone]
type = "mobilenet_v3_small"
fpn_channels = 16

[model.detector.rpn]
anchor_sizes = [16, 32, 64, 128, 256]
pre_nms_top_n_train = 100
post_nms_top_n_train = 50
pre_nms_top_n_test = 100
post_nms_top_n_test = 50

[model.detector.roi_head]
batch_size_per_image = 16
fc_dim = 32
detections_per_img = 20

[model.optimizer]
lr = 0.01

[model.lr_scheduler]
type = "step"
warmup_steps = 2
milestones = [100]
"""

# A YOLOX-nano a quarter as wide with Megvii's whole recipe: parameter groups, Nesterov, yoloxwarmcos, EMA,
# mosaic + affine + mixup + HSV, the last epoch without them (L1 loss on), multi-scale batches every step.
TINY_YOLOX = """
[model.detector]
type = "yolox"
size = "nano"
width = 0.125

[model.optimizer]
lr = 0.01
nesterov = true
weight_decay = 5e-4
norm_and_bias_decay = false

[model.lr_scheduler]
type = "yoloxwarmcos"
warmup_epochs = 1
min_lr_ratio = 0.05

[model.ema]
ramp = 10
"""

YOLOX_HANDLER = """
[train_handler.mosaic]
shape = [64, 96]

[train_handler.affine]
scale = [0.5, 1.5]

[train_handler.mixup]

[train_handler.multiscale]
heights = [32, 96]
interval = 1
"""

TINY_DATA = """
[[train]]
type = "synthetic"
name = "tiny_train"
root = "{root}"
split = "train"
num_videos = 2
frames_per_video = 4
image_size = [64, 96]
max_objects = 3
seed = 1

[[test]]
type = "synthetic"
name = "tiny_test"
root = "{root}"
split = "test"
num_videos = 2
frames_per_video = 3
image_size = [64, 96]
max_objects = 3
seed = 1

[train_handler]
batch_size = 2
transforms = [{train_transforms}{{ type = "resize", shape = [64, 96] }}, {{ type = "flip", prob = 0.5 }}]
{train_extra}
[test_handler]
batch_size = 1
transforms = [{{ type = "resize", shape = [64, 96] }}]

[launch]
seed = 0
cache_dir = "{root}/cache"
"""

TINY_TRACKER = """
[model.similarity_head]
num_convs = 1
conv_channels = 16
fc_dim = 32
embedding_dim = 16
norm_groups = 4

[model.track_sampler]
batch_size_per_image = 16

[model.tracker]
type = "qdtrack"
new_track_thresh = 0.0
track_high_thresh = 0.0

[train_handler.reference]
num_ref = 1
scope = 2
"""


def write_tiny_config(tmp: Path, model_type: str = "detector", extra: str = "", detector: str = "faster_rcnn") -> Path:
    """Write a tiny config for ``model_type`` (with a ``detector``: faster_rcnn, yolox) into ``tmp``; its path.

    The YOLOX config trains with Megvii's recipe (``TINY_YOLOX``), its last epoch without mosaic.
    """
    yolox = detector == "yolox"
    name = f"tiny_{model_type}" + ("_yolox" if yolox else "")
    text = 'categories = ["car", "pedestrian", "cyclist"]\n'
    text += f'[model]\ntype = "{model_type}"\nname = "{name}"\n' + (TINY_YOLOX if yolox else TINY_MODEL)
    if model_type == "qdtrack":
        text += TINY_TRACKER
    text += TINY_DATA.format(
        root=(tmp / "data").as_posix(),
        train_transforms='{ type = "hsv" }, ' if yolox else "",
        train_extra="no_aug_epochs = 1\nmin_box_size = 1.0\n" if yolox else "",
    )
    text += (YOLOX_HANDLER if yolox else "") + extra
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def run_cli(
    *args: str, cwd: Path, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str] | Completed:
    """Run ``python -m vis4d.engine.trainer ARGS`` as a user would: a process of its own (``env`` adds to the
    environment), forked from the session's fork server so it starts without re-importing torch."""
    env = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", **(env or {})}
    return fork_server().run("trainer", list(args), cwd, env, timeout)


@pytest.fixture()
def tiny_detector_config(tmp_path: Path) -> Path:
    return write_tiny_config(tmp_path, "detector")


@pytest.fixture()
def tiny_tracker_config(tmp_path: Path) -> Path:
    return write_tiny_config(tmp_path, "qdtrack")
