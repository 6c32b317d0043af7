"""Every bad input: one line, exit code 2, nothing lost (issue 11).

Each hostile input runs a real entry point in-process (``python -m
vis4d.engine.trainer``'s ``main``, or the ``vis4d`` command's) and must end
with exit code 2, no traceback, and exactly one ``error:`` line on stderr that
names the offending file, field or option. Most are refused while the command
line and the config are checked: for those, ``launch`` (model, data, Lightning)
is replaced by a function that fails the test, so "refused before any model is
built" is part of what is tested. A few need a run (a corrupt image met by a
data loader, a data loader worker's error); they use a tiny model on 64x96
images.

Inputs that used to be accepted with a wrong result (silent wrong) are tested
for what they do now: boxes outside their image are dropped with a counted
warning, names read from label files never write outside the output folder.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from tests.engine.conftest import TINY_MODEL, TINY_TRACKER
from vis4d.cli import main as vis4d_main
from vis4d.common.errors import DataError, one_line
from vis4d.common.names import UniqueNames, safe_name
from vis4d.common.structures import FrameOutput
from vis4d.engine import trainer
from vis4d.engine.trainer import main as trainer_main

CATEGORIES = ["car", "pedestrian", "cyclist"]
SIZE = (64, 96)  # height, width of every test image


def _box(x1: float, y1: float, x2: float, y2: float, **extra: Any) -> dict[str, Any]:
    return {"category": "car", "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}, **extra}


def _frame(name: str, labels: list[dict[str, Any]], video: str = "v1", index: int = 0) -> dict[str, Any]:
    numbered = [{"id": str(i), **label} for i, label in enumerate(labels)]
    return {"name": name, "videoName": video, "frameIndex": index, "labels": numbered}


@dataclasses.dataclass
class Files:
    """The hostile (and the few good) inputs, written once for the module."""

    root: Path
    config: Path
    tracker_config: Path
    checkpoint: Path  # a real (empty) torch.save file: good enough for the checks before the model is built
    text: Path  # any text file
    empty: Path  # a zero-byte file
    images: Path  # images/v1/f0.jpg (good), zero.jpg, bad.jpg, text.png
    gt: Path
    pred: Path

    def __getitem__(self, name: str) -> Path:
        """``files["x.json"]``: a file written below the root."""
        return self.root / name


def _write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _write_images(images: Path) -> None:
    (images / "v1").mkdir(parents=True)
    good = np.full((*SIZE, 3), 120, np.uint8)
    cv2.imwrite(str(images / "v1" / "f0.jpg"), good)
    cv2.imwrite(str(images / "f0.jpg"), good)
    encoded = cv2.imencode(".jpg", good)[1].tobytes()
    (images / "v1" / "zero.jpg").write_bytes(b"")
    (images / "v1" / "bad.jpg").write_bytes(encoded[: len(encoded) // 3])
    (images / "v1" / "text.png").write_text("not a picture")
    for name, data in (("zero", b""), ("truncated", encoded[: len(encoded) // 3])):
        (images / name).mkdir()
        (images / name / "f0.jpg").write_bytes(data)
    (images / "bad_video").mkdir()
    (images / "bad_video" / "clip.mp4").write_bytes(b"not a video")


def _write_mot(root: Path) -> None:
    seq = root / "mot" / "SEQ-01"
    (seq / "gt").mkdir(parents=True)
    (seq / "img1").mkdir()
    cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.zeros((*SIZE, 3), np.uint8))
    info = "[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=10\nseqLength=1\nimWidth=96\nimHeight=64\nimExt=.jpg\n"
    (seq / "seqinfo.ini").write_text(info)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n")
    (root / "mot_pred").mkdir()
    (root / "mot_pred" / "SEQ-01.txt").write_text("1,1,10,10,20,20\n")  # no score column
    (root / "mot_binary" / "SEQ-01" / "gt").mkdir(parents=True)
    (root / "mot_binary" / "SEQ-01" / "seqinfo.ini").write_text(info)
    (root / "mot_binary" / "SEQ-01" / "gt" / "gt.txt").write_bytes(b"\xff\xfe\x00garbage\x81")


def _write_coco(root: Path) -> None:
    instances = {
        "images": [{"id": 1, "file_name": "f0.jpg", "width": 96, "height": 64}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}],
        "categories": [{"id": 1, "name": "car"}],
    }
    _write_json(root / "coco.json", instances)
    _write_json(root / "coco_results.json", [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}])


def _write_configs(root: Path) -> tuple[Path, Path]:
    data = f"""
[[train]]
type = "synthetic"
name = "tiny_train"
root = "{(root / "synthetic").as_posix()}"
num_videos = 1
frames_per_video = 2
image_size = [64, 96]

[[test]]
type = "synthetic"
name = "tiny_test"
root = "{(root / "synthetic").as_posix()}"
split = "test"
num_videos = 1
frames_per_video = 2
image_size = [64, 96]

[train_handler]
batch_size = 1
transforms = [{{ type = "resize", shape = [64, 96] }}, {{ type = "flip", prob = 0.5 }}]

[launch]
cache_dir = "{(root / "cache").as_posix()}"
"""
    head = f"categories = {json.dumps(CATEGORIES)}\n"
    config = root / "tiny.toml"
    config.write_text(head + '[model]\ntype = "detector"\nname = "tiny"\n' + TINY_MODEL + data)
    tracker = root / "tiny_tracker.toml"
    tracker.write_text(head + '[model]\ntype = "qdtrack"\nname = "tiny_qd"\n' + TINY_MODEL + TINY_TRACKER + data)
    return config, tracker


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("hostile")
    config, tracker = _write_configs(root)
    checkpoint = root / "weights.ckpt"
    torch.save({"state_dict": {}}, checkpoint)
    (root / "text.txt").write_text("101\nnot a checkpoint\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "a_dir").mkdir()
    images = root / "images"
    _write_images(images)
    gt = _write_json(
        root / "gt.json", [{**_frame("f0.jpg", [_box(1, 1, 10, 10)]), "size": {"width": 96, "height": 64}}]
    )
    pred = _write_json(root / "pred.json", [_frame("f0.jpg", [_box(1, 1, 10, 10, score=0.9)])])
    _write_json(root / "pred_noscore.json", [_frame("f0.jpg", [_box(1, 1, 10, 10)])])
    _write_json(root / "pred_nan.json", [_frame("f0.jpg", [_box(math.nan, 1, 10, 10, score=0.9)])])
    (root / "pred_inf.json").write_text(json.dumps([_frame("f0.jpg", [_box(1, 1, math.inf, 10, score=0.5)])]))
    for name in ("zero.jpg", "bad.jpg", "text.png"):
        _write_json(root / f"pred_{name}.json", [_frame(name, [_box(1, 1, 10, 10, score=0.9)])])
    _write_json(root / "empty_list.json", [])
    (root / "binary.json").write_bytes(b"\xff\xfe\x00[\x81\x82]")
    (root / "malformed.json").write_text('[{"name": "f0.jpg", ')
    _write_json(root / "labels_not_list.json", [{"name": "f0.jpg", "labels": {"a": 1}}])
    _write_mot(root)
    _write_coco(root)
    (root / "not_a_config.txt").write_text("categories = ['car']\n")
    (root / "broken.toml").write_text("categories = [\n")
    (root / "trainer_devices.toml").write_text(f'base = "{config.name}"\n[trainer]\ndevices = -1\n')
    (root / "trainer_epochs.toml").write_text(f'base = "{config.name}"\n[trainer]\nmax_epochs = -5\n')
    (root / "momentum.toml").write_text(f'base = "{config.name}"\n[model.optimizer]\nmomentum = 1.0\n')
    folder_training = '[[train]]\ntype = "image_folder"\nname = "folder"\nroot = "images/v1"\n'
    (root / "train_on_folder.toml").write_text(
        f"categories = {json.dumps(CATEGORIES)}\n" + '[model]\ntype = "detector"\n' + TINY_MODEL + folder_training
    )
    _write_json(root / "pred_score_nan.json", [_frame("f0.jpg", [_box(1, 1, 10, 10, score=math.nan)])])
    for name, fields, _ in ODD_FRAMES:
        _write_json(root / f"frame_{name}.json", [{**_frame("f0.jpg", [_box(1, 1, 10, 10)]), **fields}])
    (root / "no_images").mkdir()
    (root / "no_images" / "readme.txt").write_text("x")
    return Files(root, config, tracker, checkpoint, root / "text.txt", root / "empty.bin", images, gt, pred)


# Frames whose fields have the wrong type (numpy would have coerced them silently): (name, frame fields, named).
ODD_FRAMES = [
    ("frame-index-float", {"frameIndex": 1.5}, "'frameIndex' must be an integer, got 1.5"),
    ("frame-name-int", {"name": 5}, "frame 0: missing or non-string 'name'"),
    ("video-name-int", {"videoName": 7}, "'videoName' must be a string, got 7"),
    ("size-text", {"size": {"width": "a", "height": 2}}, "'size' must be {width, height} non-negative numbers"),
    ("size-negative", {"size": {"width": -96, "height": 64}}, "'size' must be {width, height} non-negative numbers"),
]


# ------------------------------------------------------------------------------------------ running a command
@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input: the command (``train ...`` or a ``vis4d`` command) and what its error line must name."""

    id: str
    argv: Callable[[Files], list[str]]
    names: Callable[[Files], str]
    trainer: bool = False  # run by the trainer's main even if the first word is no action


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], force_trainer: bool = False) -> tuple[int, str, str]:
    command = argv[0]
    code = trainer_main(argv) if force_trainer or command in ("train", "test", "predict") else vis4d_main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_error_line(code: int, err: str, name: str, whole_stderr: bool = True) -> str:
    """Exit 2, no traceback, one ``error:`` line naming ``name``; with ``whole_stderr`` nothing else on stderr."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert code == 2, f"exit code {code}, stderr:\n{err}"
    assert "Traceback" not in err, err
    assert len(errors) == 1, f"expected one error line, got:\n{err}"
    assert name in errors[0], f"{name!r} not named in: {errors[0]}"
    if whole_stderr:
        assert len(lines) == 1, f"more than the error line on stderr:\n{err}"
    return errors[0]


def _never_launch(run: Any) -> int:
    raise AssertionError(f"{run.action} reached the launch (model, data, Lightning) instead of being refused")


def _train(*extra: str, action: str = "train") -> Callable[[Files], list[str]]:
    return lambda f: [action, "--config", str(f.config), "--work_dir", str(f.root / "ws"), *extra]


def _override(text: str) -> Case:
    key = text.split("=", 1)[0]
    return Case(f"cfg:{text}", _train("--cfg-options", text), lambda f: key)


def _option(option: str, value: str, action: str = "train", name: str | None = None) -> Case:
    return Case(f"{option}={value}", _train(option, value, action=action), lambda f: name or option)


CONFIG_RANGES = [
    _override(text)
    for text in (
        'categories=["car",""]',
        'categories=[" "]',
        "model.optimizer.lr=0",
        "model.optimizer.lr=-0.1",
        "model.optimizer.lr=nan",
        "model.optimizer.momentum=1",
        "model.optimizer.momentum=-0.1",
        "model.optimizer.weight_decay=-1",
        "train_handler.batch_size=0",
        "test_handler.batch_size=-1",
        "train_handler.num_workers=-1",
        "train_handler.pad_divisor=0",
        "train_handler.std=[1,0,1]",
        "model.detector.roi_head.score_thresh=1.5",
        "model.detector.roi_head.nms_thresh=-0.1",
        "model.detector.rpn.nms_thresh=2",
        "model.detector.rpn.fg_iou_thresh=1.1",
        "model.detector.rpn.bg_iou_thresh=0.9",
        "model.detector.roi_head.positive_fraction=2",
        "model.detector.roi_head.pooler_size=0",
        "model.detector.roi_head.detections_per_img=0",
        "model.detector.roi_head.box_coder_weights=[1,1,0,1]",
        "model.detector.rpn.anchor_sizes=[0,32,64,128,256]",
        "model.detector.rpn.aspect_ratios=[]",
        "model.detector.rpn.pre_nms_top_n_test=0",
        "train_handler.transforms.0.shape=[0,96]",
        "train_handler.transforms.0.shape=[64,-1]",
        "train_handler.transforms.0.scales=[[64,96],[0,0]]",
        "train_handler.transforms.1.prob=1.5",
        "train_handler.transforms.1.prob=-0.5",
        "launch.checkpoint_period=0",
        "launch.output_formats=[foo]",
        "launch.output_formats=[]",
        "launch.exp_name=../escape",
        "launch.version=/abs",
        "launch.exp_name=..",
        "model.name=a/b",
        "train.0.name=../x",
        "test.0.name='a\\b'",
        "train.0.num_videos=0",
        "train.0.image_size=[0,96]",
        "model.lr_scheduler.warmup_ratio=0",
        "model.lr_scheduler.milestones=[-1]",
        "model.lr_scheduler.gamma=0",
        "model.detector.backbone.frozen_stages=7",
        "model.detector.backbone.fpn_channels=0",
        "launch.seed=-1",
        "model.optimizer.lr=abc",
    )
]


def _tracker_override(text: str) -> Case:
    key = text.split(",")[-1].split("=", 1)[0]
    return Case(f"cfg:{text}", lambda f: ["train", "--config", str(f.tracker_config), "--cfg-options", text],
                lambda f: key)  # fmt: skip


TRACKER_RANGES = [
    _tracker_override(text)
    for text in (
        "model.tracker.new_track_thresh=1.5",
        "model.tracker.embedding_momentum=2",
        "model.similarity_head.pooler_size=0",
        "model.track_sampler.positive_fraction=-1",
        "model.tracker.type=iou,model.tracker.track_low_thresh=0.9",
        "train_handler.reference.num_ref=0",
    )
]

LAUNCH_OPTIONS = [
    _option("--checkpoint_period", "0"),
    _option("--checkpoint_period", "-3"),
    _option("--output_format", "foo", "test"),
    _option("--output_format", "scalabel,bogus", "test"),
    _option("--output_format", "", "test"),
    _option("--exp_name", "../escape"),
    _option("--exp_name", "/abs/path"),
    _option("--exp_name", "a\\b"),
    _option("--version", "a/b"),
    _option("--version", ".."),
    _option("--seed", "-1"),
    _option("--seed", "abc"),
    Case(
        "--work_dir=file",
        lambda f: ["train", "--config", str(f.config), "--work_dir", str(f.text)],
        lambda f: "--work_dir",
    ),  # fmt: skip
    Case(
        "--work_dir=below-file",
        lambda f: ["train", "--config", str(f.config), "--work_dir", str(f.text / "ws")],
        lambda f: "--work_dir",
    ),  # fmt: skip
    Case("launch.cache_dir=file", _train("--cfg-options", "launch.cache_dir={text}"), lambda f: "launch.cache_dir"),
    Case("--input_dir=missing", _train("--input_dir", "/no/such/folder", action="predict"), lambda f: "--input_dir"),
    Case("--input_dir=text", _train("--input_dir", "{text}", action="predict"), lambda f: "--input_dir"),
    Case("--input_dir-for-train", _train("--input_dir", "{images}"), lambda f: "--input_dir"),
    Case("--resume-for-test", _train("--resume", action="test"), lambda f: "--resume"),
    Case("--weights=text", _train("--weights", "{text}", action="test"), lambda f: str(f.text)),
    Case("--weights=empty", _train("--weights", "{empty}", action="test"), lambda f: str(f.empty)),
    Case("--weights=dir", _train("--weights", "{images}", action="test"), lambda f: "--weights"),
    Case("--weights=missing", _train("--weights", "/no/such.ckpt", action="test"), lambda f: "--weights"),
    Case("--config=dir", lambda f: ["train", "--config", str(f.images)], lambda f: str(f.images)),
    Case("--config=missing", lambda f: ["train", "--config", "/no/such.toml"], lambda f: "/no/such.toml"),
    Case("--config=.txt", lambda f: ["train", "--config", str(f["not_a_config.txt"])], lambda f: "not_a_config.txt"),
    Case("--config=broken-toml", lambda f: ["train", "--config", str(f["broken.toml"])], lambda f: "broken.toml"),
    Case("--config=none", lambda f: ["train"], lambda f: "--config"),
    Case("config:momentum=1", lambda f: ["train", "--config", str(f["momentum.toml"])], lambda f: "momentum"),
    Case(
        "config:train-on-an-image-folder",
        lambda f: ["train", "--config", str(f["train_on_folder.toml"])],
        lambda f: "train.0 is an image folder (images/v1), which has no labels",
    ),
    Case(
        "config:trainer.devices=-1",
        lambda f: ["train", "--config", str(f["trainer_devices.toml"])],
        lambda f: "trainer.devices",
    ),  # fmt: skip
    Case(
        "config:trainer.max_epochs=-5",
        lambda f: ["train", "--config", str(f["trainer_epochs.toml"])],
        lambda f: "trainer.max_epochs",
    ),  # fmt: skip
    _option("--cfg-options", "foo", name="--cfg-options"),
    _option("--cfg-options", "model.nonsense=1", name="model.nonsense"),
    _option("--cfg-options", "model.optimizer.lr=[1,", name="--cfg-options"),
]

LIGHTNING_OPTIONS = [
    _option("--devices", "abc"),
    _option("--devices", "-1"),
    _option("--devices", "0"),
    _option("--devices", "0,99"),
    _option("--devices", "1,1"),
    _option("--devices", "0,a"),
    _option("--gpus", "abc"),
    _option("--gpus", "-2"),
    _option("--precision", "foo"),
    _option("--precision", "8"),
    _option("--strategy", "nonsense"),
    _option("--strategy", "dp"),
    _option("--accelerator", "quantum"),
    _option("--limit_train_batches", "-1"),
    _option("--limit_val_batches", "1.5"),
    _option("--limit_test_batches", "-0.5", "test"),
    _option("--limit_predict_batches", "inf", "predict"),
    _option("--max_epochs", "-5"),
    _option("--max_epochs", "0"),
    _option("--max_epochs", "abc"),
    _option("--max_steps", "-3"),
    _option("--num_nodes", "0"),
    _option("--accumulate_grad_batches", "0"),
    _option("--log_every_n_steps", "0"),
    _option("--check_val_every_n_epoch", "0"),
    _option("--val_check_interval", "0"),
    _option("--gradient_clip_val", "-1"),
    _option("--num_sanity_val_steps", "-2"),
    _option("--profiler", "foo"),
    _option("--not_an_option", "1"),
    Case("action=fit", lambda f: ["fit", "--config", str(f.config)], lambda f: "fit", trainer=True),
]
if not torch.cuda.is_available():
    LIGHTNING_OPTIONS += [_option("--accelerator", "gpu"), _option("--accelerator", "cuda")]
if importlib.util.find_spec("torch_xla") is None:
    LIGHTNING_OPTIONS += [_option("--accelerator", "tpu")]
if importlib.util.find_spec("transformer_engine") is None:
    LIGHTNING_OPTIONS += [_option("--precision", "transformer-engine")]


def _eval(*extra: str, task: str = "det") -> Callable[[Files], list[str]]:
    return lambda f: ["eval", "--task", task, "--gt", str(f.gt), "--pred", str(f.pred), *extra]


def _vis(*extra: str, pred: str = "pred.json") -> Callable[[Files], list[str]]:
    return lambda f: ["vis", "--pred", str(f[pred]), "--images", str(f.images), "--output", str(f.root / "vis"), *extra]


FILE_TOOLS = [
    Case("eval:pred-without-score", _eval("--pred", "{pred_noscore.json}"), lambda f: "pred_noscore.json"),
    Case("eval:pred-score-nan", _eval("--pred", "{pred_score_nan.json}"), lambda f: "pred_score_nan.json"),
    Case("eval:pred-without-score-hint", _eval("--pred", "{pred_noscore.json}"), lambda f: "--assume-score-1"),
    Case(
        "eval:coco-result-without-score",
        lambda f: ["eval", "--task", "det", "--gt", str(f["coco.json"]), "--pred", str(f["coco_results.json"])],
        lambda f: "coco_results.json",
    ),  # fmt: skip
    Case(
        "eval:mot-result-without-score",
        lambda f: ["eval", "--task", "track", "--gt", str(f["mot"]), "--pred", str(f["mot_pred"])],
        lambda f: "SEQ-01.txt",
    ),  # fmt: skip
    Case("eval:pred-zero-bytes", _eval("--pred", "{empty}"), lambda f: str(f.empty)),
    Case("eval:pred-empty-list", _eval("--pred", "{empty_list.json}"), lambda f: "empty_list.json"),
    Case(
        "eval:gt-empty-list",
        lambda f: ["eval", "--task", "det", "--gt", str(f["empty_list.json"]), "--pred", str(f.pred)],
        lambda f: "empty_list.json",
    ),  # fmt: skip
    Case(
        "eval:gt-zero-bytes",
        lambda f: ["eval", "--task", "det", "--gt", str(f.empty), "--pred", str(f.pred)],
        lambda f: str(f.empty),
    ),  # fmt: skip
    Case("eval:pred-malformed", _eval("--pred", "{malformed.json}"), lambda f: "malformed.json"),
    Case("eval:labels-not-list", _eval("--pred", "{labels_not_list.json}"), lambda f: "labels_not_list.json"),
    Case("eval:output-dir", _eval("--output", "{a_dir}"), lambda f: "--output"),
    Case("eval:output-below-file", _eval("--output", "{text}/m.json"), lambda f: "--output"),
    Case("eval:iou-2", _eval("--iou-threshold", "2", task="track"), lambda f: "--iou-threshold"),
    Case("eval:iou-0", _eval("--iou-threshold", "0", task="track"), lambda f: "--iou-threshold"),
    Case("eval:iou-nan", _eval("--iou-threshold", "nan", task="track"), lambda f: "--iou-threshold"),
    Case("eval:config-dir", _eval("--config", "{a_dir}"), lambda f: "--config"),
    Case("eval:config-missing", _eval("--config", "/no/such.toml"), lambda f: "--config"),
    Case("eval:pred-missing", _eval("--pred", "/no/such.json"), lambda f: "--pred"),
    Case(
        "eval:gt-missing",
        lambda f: ["eval", "--task", "det", "--gt", "/no/gt.json", "--pred", str(f.pred)],
        lambda f: "--gt",
    ),  # fmt: skip
    Case("eval:task-foo", _eval(task="foo"), lambda f: "--task"),
    Case("eval:format-foo", _eval("--format", "foo"), lambda f: "--format"),
    Case("eval:coco-track", _eval("--format", "coco", task="track"), lambda f: "--format"),
    Case("vis:nan-box", _vis(pred="pred_nan.json"), lambda f: "pred_nan.json"),
    Case("vis:inf-box", _vis(pred="pred_inf.json"), lambda f: "pred_inf.json"),
    Case("vis:zero-byte-image", _vis(pred="pred_zero.jpg.json"), lambda f: "zero.jpg"),
    Case("vis:corrupt-image", _vis(pred="pred_bad.jpg.json"), lambda f: "bad.jpg"),
    Case("vis:text-as-image", _vis(pred="pred_text.png.json"), lambda f: "text.png"),
    Case("vis:pred-empty-list", _vis(pred="empty_list.json"), lambda f: "empty_list.json"),
    Case("vis:pred-zero-bytes", _vis(pred="empty.bin"), lambda f: "empty.bin"),
    Case("vis:pred-binary", _vis(pred="binary.json"), lambda f: "binary.json"),
    Case("eval:pred-binary", _eval("--pred", "{binary.json}"), lambda f: "binary.json"),
    Case(
        "stats:binary",
        lambda f: ["data", "stats", "--format", "scalabel", "--path", str(f["binary.json"])],
        lambda f: "binary.json",
    ),  # fmt: skip
    Case(
        "vis:output-file",
        lambda f: ["vis", "--pred", str(f.pred), "--images", str(f.images), "--output", str(f.text)],
        lambda f: "--output",
    ),  # fmt: skip
    Case(
        "vis:output-below-file",
        lambda f: ["vis", "--pred", str(f.pred), "--images", str(f.images), "--output", str(f.text / "out")],
        lambda f: "--output",
    ),  # fmt: skip
    Case("vis:fps-0", _vis("--fps", "0"), lambda f: "--fps"),
    Case("vis:fps-negative", _vis("--fps", "-1"), lambda f: "--fps"),
    Case(
        "vis:images-file",
        lambda f: ["vis", "--pred", str(f.pred), "--images", str(f.text), "--output", str(f.root / "vis")],
        lambda f: "--images",
    ),  # fmt: skip
    Case(
        "vis:images-missing",
        lambda f: ["vis", "--pred", str(f.pred), "--output", str(f.root / "vis")],
        lambda f: "--images",
    ),  # fmt: skip
    Case("vis:pred-missing", _vis(pred="no_such.json"), lambda f: "no_such.json"),
    *(
        Case(
            f"stats:{name}",
            lambda f, name=name: ["data", "stats", "--format", "scalabel", "--path", str(f[f"frame_{name}.json"])],
            lambda f, named=named: named,
        )
        for name, _, named in ODD_FRAMES
    ),
    Case(
        "stats:empty-list",
        lambda f: ["data", "stats", "--format", "scalabel", "--path", str(f["empty_list.json"])],
        lambda f: "empty_list.json",
    ),  # fmt: skip
    Case(
        "stats:zero-bytes",
        lambda f: ["data", "stats", "--format", "scalabel", "--path", str(f.empty)],
        lambda f: str(f.empty),
    ),  # fmt: skip
    Case(
        "stats:missing",
        lambda f: ["data", "stats", "--format", "scalabel", "--path", "/no/such.json"],
        lambda f: "/no/such.json",
    ),  # fmt: skip
    Case(
        "stats:format-foo", lambda f: ["data", "stats", "--format", "foo", "--path", str(f.gt)], lambda f: "--format"
    ),  # fmt: skip
    Case(
        "stats:config-dir",
        lambda f: ["data", "stats", "--format", "scalabel", "--path", str(f.gt), "--config", str(f["a_dir"])],
        lambda f: "a_dir",
    ),  # fmt: skip
    Case(
        "stats:coco-zero-bytes",
        lambda f: ["data", "stats", "--format", "coco", "--path", str(f.empty)],
        lambda f: str(f.empty),
    ),  # fmt: skip
    Case(
        "stats:mot-binary",
        lambda f: ["data", "stats", "--format", "motchallenge", "--path", str(f["mot_binary"])],
        lambda f: "gt.txt",
    ),  # fmt: skip
    Case(
        "stats:folder-without-images",
        lambda f: ["data", "stats", "--format", "image_folder", "--path", str(f["no_images"])],
        lambda f: "no_images",
    ),  # fmt: skip
    Case("report:missing", lambda f: ["report", "/no/such/run"], lambda f: "/no/such/run"),
    Case("report:file", lambda f: ["report", str(f.text)], lambda f: str(f.text)),
]

CASES = CONFIG_RANGES + TRACKER_RANGES + LAUNCH_OPTIONS + LIGHTNING_OPTIONS + FILE_TOOLS


def _expand(words: list[str], files: Files) -> list[str]:
    """``{name}`` in a word: a file of the fixture (``{text}``, ``{images}``, ``{x.json}``)."""
    known = {"text": files.text, "empty": files.empty, "images": files.images}

    def path(match: re.Match[str]) -> str:
        return str(known.get(match.group(1), files.root / match.group(1)))

    return [re.sub(r"\{([\w.]+)\}", path, word) for word in words]


def test_there_are_at_least_a_hundred_hostile_inputs() -> None:
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_one_line_and_exit_2(
    case: Case, files: Files, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer, "launch", _never_launch)
    monkeypatch.chdir(files.root)
    code, _, err = _run(_expand(case.argv(files), files), capsys, case.trainer)
    _assert_one_error_line(code, err, case.names(files))


# ----------------------------------------------------------------------------------------- inputs met in a run
def _scalabel_config(root: Path, name: str, labels: Path, section: str = "train", extra: str = "") -> Path:
    """A tiny detector on one Scalabel dataset (``section``: train or test) of the module's images."""
    text = f"categories = {json.dumps(CATEGORIES)}\n" + '[model]\ntype = "detector"\nname = "tiny"\n' + TINY_MODEL
    text += f"""
[[{section}]]
type = "scalabel"
name = "{name}"
annotations = "{labels.as_posix()}"
image_root = "{(root / "images").as_posix()}"
cache = false
{extra}

[train_handler]
batch_size = 1
transforms = [{{ type = "resize", shape = [64, 96] }}]

[test_handler]
batch_size = 1
transforms = [{{ type = "resize", shape = [64, 96] }}]
"""
    path = root / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def model_weights(files: Files) -> Path:
    """The tiny detector's initial weights, a vis4d state dict: what predict and test load."""
    from vis4d.config.load import load_config
    from vis4d.model.build import build_model

    config = load_config(files.config)
    torch.manual_seed(0)
    path = files.root / "tiny_model.pth"
    torch.save(build_model(config.model, len(CATEGORIES)).state_dict(), path)
    return path


def _labels(root: Path, name: str, frames: list[dict[str, Any]]) -> Path:
    return _write_json(root / f"{name}_labels.json", frames)


RUN_OPTIONS = ["--max_epochs", "1", "--limit_train_batches", "1", "--accelerator", "cpu", "--devices", "1"]


def _run_dir(files: Files, name: str) -> list[str]:
    """A run directory of its own for each run (runs started in the same second would share a timestamp)."""
    return ["--work_dir", str(files.root / "ws"), "--exp_name", "runs", "--version", name]


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker"])
def test_corrupt_image_in_a_training_set_is_one_line(
    files: Files, workers: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zero-byte image (or a truncated one, met by a data loader worker) stops training with one line naming it."""
    monkeypatch.chdir(files.root)
    video = "zero" if workers == 0 else "truncated"
    labels = _labels(files.root, f"corrupt_{workers}", [_frame("f0.jpg", [_box(1, 1, 10, 10)], video=video)])
    config = _scalabel_config(files.root, f"corrupt_{workers}", labels)
    argv = ["train", "--config", str(config), *_run_dir(files, f"corrupt_{workers}"), *RUN_OPTIONS]
    code, _, err = _run([*argv, "--cfg-options", f"train_handler.num_workers={workers}"], capsys)
    line = _assert_one_error_line(code, err, f"{video}/f0.jpg", whole_stderr=False)
    assert "Original Traceback" not in err and "DataLoader worker" not in line


@pytest.mark.parametrize(("folder", "named"), [("zero", "zero/f0.jpg"), ("truncated", "truncated/f0.jpg"),
                                              ("bad_video", "clip.mp4")])  # fmt: skip
def test_corrupt_image_in_the_input_dir_is_one_line(
    files: Files, model_weights: Path, folder: str, named: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(files.root)
    argv = ["predict", "--config", str(files.config), *_run_dir(files, f"predict_{folder}"), "--weights",
            str(model_weights), "--input_dir", str(files.images / folder), "--accelerator", "cpu"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    _assert_one_error_line(code, err, named, whole_stderr=False)


@pytest.mark.parametrize(
    ("name", "frames", "extra", "named"),
    [
        ("no_frames", [], "", "holds no frames"),
        ("outside_fail", [_frame("f0.jpg", [_box(200, 1, 250, 10)])], 'on_degenerate_box = "fail"', "outside"),
        ("nan_fail", [_frame("f0.jpg", [_box(math.nan, 1, 5, 10)])], 'on_degenerate_box = "fail"', "label 0"),
        ("no_boxes", [_frame("f0.jpg", []), _frame("f1.jpg", [])], "", "has no boxes of the config's categories"),
    ],
)
def test_bad_training_labels_are_one_line(
    files: Files, name: str, frames: list[dict[str, Any]], extra: str, named: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(files.root)
    labels = _labels(files.root, name, [{**frame, "size": {"width": 96, "height": 64}} for frame in frames])
    config = _scalabel_config(files.root, name, labels, extra=extra)
    code, _, err = _run(["train", "--config", str(config), *_run_dir(files, name), *RUN_OPTIONS], capsys)
    line = _assert_one_error_line(code, err, labels.name, whole_stderr=False)
    assert named in line


def test_testing_on_a_set_without_ground_truth_says_its_metrics_are_undefined(
    files: Files, model_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files.root)
    labels = _labels(
        files.root, "no_gt", [{**_frame("f0.jpg", []), "labels": None, "size": {"width": 96, "height": 64}}]
    )
    config = _scalabel_config(files.root, "no_gt", labels, section="test")
    argv = ["test", "--config", str(config), *_run_dir(files, "no_gt"), "--weights", str(model_weights)]
    code, _, err = _run([*argv, "--accelerator", "cpu"], capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {labels.as_posix()}: test set 'no_gt' has no boxes of the config's categories in 1 frame(s); "
        "its metrics are undefined ('-')"
    ]


# ----------------------------------------------------------------------------- silently wrong before, now right
def test_ground_truth_boxes_outside_their_image_are_dropped_with_a_counted_warning(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _frame("f0.jpg", [_box(1, 1, 10, 10), _box(120, 1, 130, 10), _box(1, -30, 10, -5)])
    labels = _write_json(files.root / "outside.json", [{**frame, "size": {"width": 96, "height": 64}}])
    code, out, err = _run(["data", "stats", "--format", "scalabel", "--path", str(labels), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["boxes"] == 1
    assert "skipped 2 box(es) entirely outside their image" in err
    assert "outside.json: frame 'f0.jpg' label 1" in err


def test_predictions_outside_the_image_are_kept_as_false_positives(files: Files) -> None:
    """Only labelled boxes are dropped: an evaluator counts a prediction outside the image as a false positive."""
    from vis4d.data.datasets import load_scalabel

    frame = {**_frame("f0.jpg", [_box(120, 1, 130, 10, score=0.5)]), "size": {"width": 96, "height": 64}}
    store = load_scalabel(_write_json(files.root / "pred_outside.json", [frame]), ["car"], predictions=True)
    assert store.num_boxes == 1


def test_nan_predictions_in_eval_are_dropped_with_a_counted_warning(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(_eval("--pred", str(files["pred_nan.json"]))(files), capsys)
    assert code == 0, err
    assert "skipped 1 degenerate box(es)" in err and "pred_nan.json: frame 'f0.jpg' label 0" in err


def test_predictions_without_scores_load_with_the_flag(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    pred_noscore = str(files["pred_noscore.json"])
    code, out, err = _run(_eval("--pred", pred_noscore, "--assume-score-1")(files), capsys)
    assert code == 0, err
    assert "Detection (COCO AP)" in out
    mot = ["eval", "--task", "track", "--gt", str(files["mot"]), "--pred", str(files["mot_pred"]), "--assume-score-1"]
    code, out, err = _run(mot, capsys)
    assert code == 0, err


def _files_below(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.mark.parametrize("video", ["../../escape", "..", "../../../../../escape", "/etc/escape", ".hidden"])
def test_vis_writes_nothing_outside_its_output_folder(
    files: Files, video: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "a" / "b" / "out"
    pred = _write_json(tmp_path / "pred.json", [_frame("f0.jpg", [_box(1, 1, 10, 10, score=0.9)], video=video)])
    before = _files_below(tmp_path)
    code, _, err = _run(["vis", "--pred", str(pred), "--images", str(files.images), "--output", str(output),
                         "--video"], capsys)  # fmt: skip
    assert code == 0, err
    written = _files_below(tmp_path) - before
    assert written and all(output in path.parents for path in written), written
    assert all(not part.startswith(".") for path in written for part in path.relative_to(output).parts)


def test_a_run_writes_nothing_outside_its_run_directory(
    files: Files, model_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A label file's video name ``../../escape`` (and deeper) ends up as a file name inside the run directory."""
    monkeypatch.chdir(files.root)
    escape = "../../../../../../escape"
    frames = [_frame("f0.jpg", [_box(1, 1, 10, 10)], video=escape), _frame("f0.jpg", [_box(1, 1, 10, 10)], video="..")]
    config = _scalabel_config(files.root, "escape", _labels(files.root, "escape", frames), section="test")
    sandbox = files.root.parent
    before = _files_below(sandbox)
    argv = ["test", "--config", str(config), *_run_dir(files, "escape"), "--weights", str(model_weights),
            "--output_format", "scalabel,bdd100k,motchallenge,coco", "--visualize", "--accelerator", "cpu",
            "--cfg-options", "launch.per_video_predictions=true"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    run_dir = files.root / "ws" / "runs" / "escape"
    written = _files_below(sandbox) - before
    assert all(run_dir in path.parents for path in written), sorted(map(str, written - _files_below(run_dir)))
    names = {path.name for path in written}
    assert {f"{safe_name(escape)}.json", "_.json", f"{safe_name(escape)}.txt", f"{safe_name(escape)}.mp4"} <= names
    outputs = [path.relative_to(run_dir / "test") for path in written if run_dir / "test" in path.parents]
    assert outputs and not any(part.startswith(".") for path in outputs for part in path.parts)  # no hidden outputs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../escape", "____escape"),
        ("..", "_"),
        (".", "_"),
        (".hidden", "_hidden"),
        ("a/b\\c", "a_b_c"),
        ("/etc/passwd", "_etc_passwd"),
        ("", "unnamed"),
        ("b1c66a42-6f7d68ca", "b1c66a42-6f7d68ca"),
        ("v1.2", "v1.2"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_keeps_long_names_distinct_and_short() -> None:
    first, second = safe_name("x" * 300 + "a"), safe_name("x" * 300 + "b")
    assert first != second and len(first.encode()) <= 200 and len(second.encode()) <= 200


def test_two_videos_never_share_a_prediction_file(tmp_path: Path) -> None:
    """``a/b`` and ``a_b`` make the same safe name; the second video gets its own file instead of overwriting."""
    from vis4d.common.structures import FrameMeta
    from vis4d.data.formats import WriterSettings, build_writers

    names = UniqueNames()
    assert [names("a/b"), names("a_b"), names("a/b")] == ["a_b", "a_b-2", "a_b"]
    (writer,) = build_writers(["bdd100k"], WriterSettings(tmp_path, "ds", CATEGORIES))
    for video in ("a/b", "a_b"):
        meta = FrameMeta("f0.jpg", video, 0, "f0.jpg", SIZE, SIZE)
        writer.add_frame(FrameOutput(meta, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), None))
    written = writer.close()
    assert [path.name for path in written] == ["a_b.json", "a_b-2.json"]
    assert all(tmp_path in path.parents for path in written)


def test_a_data_loader_workers_error_is_reduced_to_its_own_line() -> None:
    """torch re-raises a worker's error with the worker's traceback in the message; the user sees its last line."""
    from torch._utils import ExceptionWrapper

    try:
        raise DataError("cannot decode image /data/x.jpg: the file is empty (0 bytes)")
    except DataError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(DataError) as info:
        wrapper.reraise()
    assert "\n" in str(info.value)
    assert one_line(info.value) == "cannot decode image /data/x.jpg: the file is empty (0 bytes)"
    assert one_line(DataError("a\nb")) == "a b"
