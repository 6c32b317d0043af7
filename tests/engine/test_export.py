"""vis4d export and --backend onnxruntime|torchscript: the exported graph computes what PyTorch computes.

A tiny randomly initialised QDTrack (its detections are meaningless, but
there are 20 of them per frame to compare) is exported once per module; the
frames are real BDD100K frames from assets/bdd100k_sample at a reduced size.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from vis4d.cli import main as vis4d_main
from vis4d.config.load import load_config
from vis4d.engine.datamodule import Vis4DDataModule
from vis4d.engine.trainer import main as trainer_main
from vis4d.model.build import build_model
from vis4d.model.export import EXAMPLE_SIZE, ExportableDetector, export_metadata, export_model
from vis4d.model.exported import ExportedModel, load_exported, open_exported
from vis4d.model.weights import load_weights

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "bdd100k_sample" / "images"
TOLERANCE = 1e-3
CONFIG = """
categories = ["pedestrian", "car", "bicycle"]
[model]
type = "qdtrack"
name = "tiny_export"
[model.detector]
type = "faster_rcnn"

[model.detector.backbone]
type = "resnet18"
fpn_channels = 16
[model.detector.rpn]
pre_nms_top_n_test = 100
post_nms_top_n_test = 50
[model.detector.roi_head]
fc_dim = 32
detections_per_img = 20
[model.similarity_head]
num_convs = 1
conv_channels = 16
fc_dim = 32
embedding_dim = 16
norm_groups = 4
[model.tracker]
type = "qdtrack"
new_track_thresh = 0.0
track_high_thresh = 0.0
[[test]]
type = "bdd100k"
name = "sample"
annotations = "{root}/assets/bdd100k_sample/labels/"
image_root = "{root}/assets/bdd100k_sample/images/"
[test_handler]
batch_size = 1
transforms = [{{ type = "resize", shape = {size}, keep_ratio = true }}]
[launch]
cache_dir = "{tmp}/cache"
work_dir = "{tmp}/ws"
"""


def _write_config(tmp: Path, size: tuple[int, int], name: str = "cfg.toml") -> Path:
    path = tmp / name
    path.write_text(CONFIG.format(root=ROOT.as_posix(), tmp=tmp.as_posix(), size=list(size)))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A config, its random weights, the model exported as ONNX and TorchScript, and 5 real frames (2 videos)."""
    tmp = tmp_path_factory.mktemp("export")
    config = _write_config(tmp, (144, 256))
    cfg = load_config(config)
    torch.manual_seed(0)
    model = build_model(cfg.model, len(cfg.categories))
    weights = tmp / "model.pt"
    torch.save({"state_dict": model.state_dict(), "vis4d": {"layout": "vis4d", "categories": cfg.categories}}, weights)
    for fmt, name in (("onnx", "model.onnx"), ("torchscript", "model.ts")):
        argv = ["export", "--config", str(config), "--weights", str(weights), "--format", fmt, "--output"]
        assert vis4d_main([*argv, str(tmp / name)]) == 0
    frames = tmp / "frames"
    videos = {"00091078-875c1f73": ("0000166", "0000167", "0000168"), "b1c66a42-6f7d68ca": ("0000001", "0000002")}
    for video, stems in videos.items():
        (frames / video).mkdir(parents=True)
        for stem in stems:
            shutil.copy(SAMPLE / video / f"{video}-{stem}.jpg", frames / video)
    return {"tmp": tmp, "config": config, "weights": weights, "onnxruntime": tmp / "model.onnx",
            "torchscript": tmp / "model.ts", "frames": frames}  # fmt: skip


def _torch_model(paths: dict[str, Path], config: Path) -> torch.nn.Module:
    cfg = load_config(config)
    model = build_model(cfg.model, len(cfg.categories))
    model.load_state_dict(torch.load(paths["weights"], weights_only=True)["state_dict"])
    return model.eval()


def _match(reference: list[np.ndarray], other: list[np.ndarray]) -> list[np.ndarray]:
    """``other``'s rows in ``reference``'s order: the same order, or (ties sorted apart) the closest boxes."""
    if all(r.shape == o.shape for r, o in zip(reference, other)) and np.abs(reference[0] - other[0]).max() < 1e-3:
        return other
    assert reference[0].shape == other[0].shape, (reference[0].shape, other[0].shape)
    cost = np.abs(reference[0][:, None] - other[0][None]).sum(-1) + 1e3 * (reference[2][:, None] != other[2][None])
    rows, cols = linear_sum_assignment(cost)
    order = cols[np.argsort(rows)]
    return [o[order] for o in other]


@pytest.mark.parametrize(("size", "backend"), [((144, 256), "onnxruntime"), ((208, 368), "onnxruntime"),
                                               ((144, 256), "torchscript")])  # fmt: skip
def test_the_graph_equals_pytorch_on_real_frames(
    exported: dict[str, Path], size: tuple[int, int], backend: str
) -> None:
    """Boxes, scores, classes and embeddings of every detection, within 1e-3, at sizes other than the traced one."""
    assert size != EXAMPLE_SIZE
    config = _write_config(exported["tmp"], size, f"cfg_{size[0]}.toml")
    cfg = load_config(config)
    model = _torch_model(exported, config)
    runner, _ = open_exported(exported[backend], backend)  # type: ignore[arg-type]
    counts = _compare_graph_with_pytorch(model, runner, cfg, exported)
    assert len(counts) == 5
    assert all(counts), f"a frame without detections compares nothing: {counts}"


def _compare_graph_with_pytorch(model: Any, runner: Any, cfg: Any, paths: dict[str, Path]) -> list[int]:
    """Each sample frame's detections and embeddings, PyTorch's vs the graph's, within 1e-3; detections per frame."""
    datamodule = Vis4DDataModule(cfg, paths["tmp"] / "cache", input_dir=str(paths["frames"]))
    counts = []
    with torch.no_grad():
        for loader in datamodule.predict_dataloader():
            for batch in loader:
                features = model.detector.extract_features(batch.images)
                (det,) = model.detector.detect(features, batch.image_sizes)
                (embeddings,) = model.similarity_head(features, [det.boxes], batch.image_sizes)
                reference = [det.boxes.numpy(), det.scores.numpy(), det.class_ids.numpy(), embeddings.numpy()]
                outputs = [out.numpy() for out in runner(batch.images, torch.tensor(batch.image_sizes[0]))]
                for name, ref, out in zip(("boxes", "scores", "class_ids", "embeddings"), reference,
                                          _match(reference, outputs)):  # fmt: skip
                    np.testing.assert_allclose(out, ref, atol=TOLERANCE, rtol=0, err_msg=name)
                counts.append(len(det.boxes))
    return counts


def test_the_trained_zoo_model_exports_equal_on_real_frames(exported: dict[str, Path]) -> None:
    """Trained weights (the R18 zoo entry), exported with the CLI: its detections and embeddings within 1e-3."""
    zoo = ROOT / "zoo" / "qdtrack_r18_fpn_synthetic"
    output = exported["tmp"] / "zoo.onnx"
    argv = ["export", "--config", str(zoo / "config.yaml"), "--weights", str(zoo / "model.pt"), "--output"]
    assert vis4d_main([*argv, str(output)]) == 0
    cfg = load_config(zoo / "config.yaml")
    model = build_model(cfg.model, len(cfg.categories))
    load_weights(model, str(zoo / "model.pt"), cfg.categories)
    model.eval().fold_batch_norm()
    runner, _ = open_exported(output, "onnxruntime")
    assert sum(_compare_graph_with_pytorch(model, runner, cfg, exported)) > 0


def _predict(paths: dict[str, Path], version: str, *options: str) -> list[dict[str, object]]:
    argv = ["predict", "--config", str(paths["config"]), "--input_dir", str(paths["frames"]), "--version", version]
    assert trainer_main([*argv, *options]) == 0
    frames = json.loads((paths["tmp"] / "ws" / "tiny_export" / version / "predict/predictions/frames.json").read_text())
    assert isinstance(frames, list)
    return frames


def test_predict_with_onnxruntime_writes_the_torch_backends_predictions(exported: dict[str, Path]) -> None:
    torch_frames = _predict(exported, "torch", "--weights", str(exported["weights"]))
    onnx_frames = _predict(exported, "onnx", "--backend", "onnxruntime", "--model", str(exported["onnxruntime"]))
    assert [f["name"] for f in onnx_frames] == [f["name"] for f in torch_frames]
    tracked = 0
    for ours, theirs in zip(onnx_frames, torch_frames):
        labels, reference = ours["labels"], theirs["labels"]
        assert [(x["id"], x["category"]) for x in labels] == [(x["id"], x["category"]) for x in reference]
        boxes = [[x["box2d"][k] for k in ("x1", "y1", "x2", "y2")] for x in labels]
        expected = [[x["box2d"][k] for k in ("x1", "y1", "x2", "y2")] for x in reference]
        # Original pixels (x5 the input's): 1e-3 of the input's pixels.
        np.testing.assert_allclose(boxes, expected, atol=5 * TOLERANCE, rtol=0)
        np.testing.assert_allclose([x["score"] for x in labels], [x["score"] for x in reference], atol=TOLERANCE)
        tracked += len(labels)
    assert tracked > 0


def test_torchscript_runs_the_tracker_like_the_pytorch_model(exported: dict[str, Path]) -> None:
    cfg = load_config(exported["config"])
    model = _torch_model(exported, exported["config"])
    scripted = load_exported(exported["torchscript"], "torchscript", cfg.model, cfg.categories, "cfg")
    assert isinstance(scripted, ExportedModel)
    datamodule = Vis4DDataModule(cfg, exported["tmp"] / "cache", input_dir=str(exported["frames"]))
    with torch.no_grad():
        for loader in datamodule.predict_dataloader():
            for batch in loader:
                (ours,), (theirs,) = scripted.predict(batch), model.predict(batch)
                assert ours.track_ids is not None and theirs.track_ids is not None
                assert ours.track_ids.tolist() == theirs.track_ids.tolist()
                torch.testing.assert_close(ours.boxes, theirs.boxes, atol=TOLERANCE, rtol=0)


def test_a_frame_without_detections_gives_empty_outputs(exported: dict[str, Path]) -> None:
    """No detection at all (score threshold 1): onnxruntime still runs the graph (its GroupNorm on zero boxes)."""
    cfg = load_config(exported["config"], "model.detector.roi_head.score_thresh=1.0")
    torch.manual_seed(2)  # these weights trace with exactly one RoI on a level (an exporter special case, see pooler)
    wrapper = ExportableDetector(build_model(cfg.model, len(cfg.categories)))
    path = exported["tmp"] / "empty.onnx"
    export_model(wrapper, export_metadata(wrapper, cfg.model.model_dump(mode="json"), cfg.categories), path, "onnx")
    runner, _ = open_exported(path, "onnxruntime")
    outputs = runner(torch.zeros(1, 3, 64, 96), torch.tensor([64, 96]))
    assert [tuple(o.shape) for o in outputs] == [(0, 4), (0,), (0,), (0, 16)]


def test_the_tracker_section_may_differ_from_the_exported_one(exported: dict[str, Path]) -> None:
    cfg = load_config(exported["config"], "model.tracker.track_high_thresh=0.3,model.optimizer.lr=0.5")
    model = load_exported(exported["onnxruntime"], "onnxruntime", cfg.model, cfg.categories, "cfg")
    assert model.meta["embedding_dim"] == "16" and model.meta["model_type"] == "qdtrack"


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_a_file_that_is_not_onnx_is_one_line(exported: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["predict", "--config", str(exported["config"]), "--input_dir", str(exported["frames"])]
    for bad in (exported["weights"], exported["config"]):
        err = _one_line_error(capsys, trainer_main([*argv, "--backend", "onnxruntime", "--model", str(bad)]))
        assert f"--model: {bad} is not an ONNX model" in err
    err = _one_line_error(
        capsys, trainer_main([*argv, "--backend", "torchscript", "--model", str(exported["onnxruntime"])])
    )
    assert "is not a TorchScript model" in err
    err = _one_line_error(capsys, trainer_main([*argv, "--backend", "onnxruntime"]))
    assert "needs --model" in err
    err = _one_line_error(capsys, trainer_main([*argv, "--model", str(exported["onnxruntime"])]))
    assert "--model: only read with --backend" in err


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("model.similarity_head.embedding_dim=32", "model.similarity_head.embedding_dim = 32"),
        ("categories=[pedestrian,car]", "categories ['pedestrian', 'car'] differ"),
        ("model.detector.roi_head.score_thresh=0.5", "model.detector.roi_head.score_thresh = 0.5"),
    ],
)
def test_a_config_that_does_not_match_the_export_is_one_line(
    exported: dict[str, Path], override: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["predict", "--config", str(exported["config"]), "--input_dir", str(exported["frames"]),
            "--backend", "onnxruntime", "--model", str(exported["onnxruntime"]), "--cfg-options", override]  # fmt: skip
    err = _one_line_error(capsys, trainer_main(argv))
    assert named in err and "exported" in err, err


def test_export_refuses_bad_weights_and_formats(exported: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", "--config", str(exported["config"]), "--output", str(exported["tmp"] / "x.onnx")]
    err = _one_line_error(capsys, vis4d_main([*base, "--weights", str(exported["config"])]))
    assert "--weights" in err
    err = _one_line_error(capsys, vis4d_main([*base, "--weights", str(exported["weights"]), "--format", "tflite"]))
    assert "--format" in err
    assert not (exported["tmp"] / "x.onnx").exists()


def test_export_leaves_gradients_on(exported: dict[str, Path]) -> None:
    """The CLI runs in-process here: it must not switch autograd off for whatever runs next."""
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("backend", ["onnxruntime", "torchscript"])
def test_the_python_api_runs_an_exported_model_like_the_pytorch_one(exported: dict[str, Path], backend: str) -> None:
    from vis4d import Tracker
    from vis4d.common.errors import ConfigError

    reference = Tracker.from_config(exported["config"], weights=str(exported["weights"]), device="cpu")
    tracker = Tracker.from_exported(exported["config"], exported[backend], backend=backend)
    expected, outputs = list(reference.track(exported["frames"])), list(tracker.track(exported["frames"]))
    assert [o.meta.name for o in outputs] == [o.meta.name for o in expected] and len(outputs) == 5
    assert sum(len(o.boxes) for o in outputs) > 0
    for ours, theirs in zip(outputs, expected, strict=True):  # original pixels: 1e-3 of the input's, x5
        np.testing.assert_allclose(ours.boxes, theirs.boxes, atol=5 * TOLERANCE, rtol=0)
        np.testing.assert_array_equal(ours.track_ids, theirs.track_ids)
    with pytest.raises(ConfigError, match="backend 'tensorrt'"):
        Tracker.from_exported(exported["config"], exported[backend], backend="tensorrt")
