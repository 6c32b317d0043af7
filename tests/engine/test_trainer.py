"""End-to-end tests of ``python -m vis4d.engine.trainer`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch

from tests.engine.conftest import run_cli, write_tiny_config
from vis4d.engine.cli import LAUNCH_OPTIONS, TRAINER_OPTIONS, action_parsers, build_parser
from vis4d.engine.trainer import main
from vis4d.vis.video import read_video_frame_count

SPEC_LAUNCH_OPTIONS = (
    "work_dir",
    "exp_name",
    "version",
    "input_dir",
    "find_unused_parameters",
    "visualize",
    "seed",
    "weights",
    "checkpoint_period",
    "resume",
    "pin_memory",
    "wandb",
    "strict",
    "tqdm",
)


def _ok(result) -> None:  # noqa: ANN001
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"


def test_help_lists_every_spec_option() -> None:
    result = run_cli("-h", cwd=Path.cwd())
    _ok(result)
    assert all(action in result.stdout for action in ("train", "test", "predict"))
    helps = "".join(parser.format_help() for parser in action_parsers(build_parser()).values())
    for name in (
        *SPEC_LAUNCH_OPTIONS,
        "cfg-options",
        "gpus",
        "accelerator",
        "devices",
        "strategy",
        "num_nodes",
        "precision",
        "max_epochs",
        "max_steps",
        "limit_train_batches",
        "limit_val_batches",
        "limit_test_batches",
        "val_check_interval",
        "check_val_every_n_epoch",
        "log_every_n_steps",
        "accumulate_grad_batches",
        "gradient_clip_val",
        "deterministic",
        "profiler",
    ):
        assert f"--{name}" in helps, name
    assert set(SPEC_LAUNCH_OPTIONS) <= set(LAUNCH_OPTIONS)
    assert {"gpus", "profiler"} <= set(TRAINER_OPTIONS)


@pytest.mark.parametrize(
    ("write", "args", "expected"),
    [
        (None, ["--config", "does/not/exist.toml"], "not found"),
        ("categories = [\n", [], "tiny.toml"),
        ('categories = ["car"]\n[model]\ntype = "detector"\n[model.optimiser]\nlr = 1\n', [], "optimizer"),
        ('categories = ["car"]\n[model]\ntype = "fooo"\n', [], "detector"),
        ('categories = ["car"]\n[model]\ntype = "detector"\n[model.optimizer]\nlr = "abc"\n', [], "lr"),
        (
            'categories = ["car"]\n[model]\ntype = "detector"\n',
            ["--cfg-options", "model.optimizr.lr=1"],
            "optimizer",
        ),
        ('categories = ["car"]\n[model]\ntype = "detector"\n', ["--weights", "nope.ckpt"], "nope.ckpt"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], write: str | None, args: list[str], expected: str
) -> None:
    config = tmp_path / "tiny.toml"
    if write is not None:
        config.write_text(write)
        args = ["--config", str(config), *args]
    code = main(["train", "--work_dir", str(tmp_path / "ws"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], err


def test_wandb_without_package_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed")
    config = write_tiny_config(tmp_path, "detector")
    assert main(["train", "--config", str(config), "--work_dir", str(tmp_path / "ws"), "--wandb"]) == 2
    assert "vis4d[wandb]" in capsys.readouterr().err


def test_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--config", str(tmp_path / "missing.toml"), "--debug"])
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.slow
def test_train_resume_test_predict_detector(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    ws = tmp_path / "ws"
    common = ["--config", str(config), "--work_dir", str(ws), "--exp_name", "det", "--version", "v1"]
    _ok(run_cli("train", *common, "--max_epochs", "1", "--limit_train_batches", "2", cwd=tmp_path))
    run_dir = ws / "det" / "v1"
    last = run_dir / "checkpoints" / "last.ckpt"
    assert last.is_file() and (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "epoch=0.ckpt").is_file()
    assert (run_dir / "config.yaml").is_file()
    assert torch.load(last, weights_only=False)["global_step"] == 2
    assert last.samefile(run_dir / "checkpoints" / "epoch=0.ckpt")  # written once, linked (not a second copy)
    first_epoch = (run_dir / "checkpoints" / "epoch=0.ckpt").stat()

    # Resume continues the step count from last.ckpt (no --config needed: the run keeps its own).
    resumed = run_cli(
        "train",
        "--resume",
        "--work_dir",
        str(ws),
        "--exp_name",
        "det",
        "--version",
        "v1",
        "--max_epochs",
        "2",
        "--limit_train_batches",
        "2",
        cwd=tmp_path,
    )
    _ok(resumed)
    assert torch.load(last, weights_only=False)["global_step"] == 4
    assert last.samefile(run_dir / "checkpoints" / "epoch=1.ckpt")  # relinked; the first epoch's file stays as it was
    assert torch.load(run_dir / "checkpoints" / "epoch=0.ckpt", weights_only=False)["global_step"] == 2
    assert (run_dir / "checkpoints" / "epoch=0.ckpt").stat().st_ino == first_epoch.st_ino  # not written again

    tested = run_cli("test", *common, cwd=tmp_path)
    _ok(tested)
    metrics = json.loads((run_dir / "test" / "metrics.json").read_text())
    assert 0.0 <= metrics["det"]["AP"] <= 1.0 and "per_class" in metrics["det"]
    predictions = json.loads((run_dir / "test" / "predictions" / "tiny_test.json").read_text())
    assert len(predictions) == 6 and {"name", "videoName", "frameIndex", "labels"} <= set(predictions[0])

    # The same checkpoint by URL: fetched into torch.hub's cache ($TORCH_HOME) and tested as a new experiment.
    best = run_dir / "checkpoints" / "best.ckpt"
    url_run = ["--config", str(config), "--work_dir", str(ws), "--exp_name", "det_url", "--version", "v1"]
    torch_home = {"TORCH_HOME": str(tmp_path / "torch_home")}
    _ok(run_cli("test", *url_run, "--weights", best.as_uri(), cwd=tmp_path, env=torch_home))
    assert (tmp_path / "torch_home" / "hub" / "checkpoints" / "best.ckpt").read_bytes() == best.read_bytes()
    assert json.loads((ws / "det_url" / "v1" / "test" / "metrics.json").read_text()) == metrics
    offline = run_cli("test", *url_run, "--weights", (tmp_path / "gone.ckpt").as_uri(), cwd=tmp_path, env=torch_home)
    assert offline.returncode == 2 and "Traceback" not in offline.stderr
    assert "cannot download" in offline.stderr and "place the file by hand at" in offline.stderr

    predicted = run_cli("predict", *common, "--visualize", cwd=tmp_path)
    _ok(predicted)
    assert (run_dir / "predict" / "predictions" / "tiny_test.json").is_file()
    assert len(list((run_dir / "predict" / "vis").glob("*/*.jpg"))) == 6

    # --weights is the only weights read: model.weights naming an unreachable URL is never fetched.
    unreachable = "model.weights=https://example.invalid/never.pth"
    only = run_cli("test", *url_run, "--weights", str(best), "--cfg-options", unreachable, cwd=tmp_path, env=torch_home)
    _ok(only)
    assert only.stdout.startswith(f"loaded weights (--weights): {best} [vis4d]")
    assert "example.invalid" not in only.stdout + only.stderr

    # No run in this experiment and no --weights: the config's model.weights (a published model's path).
    fresh = ["--config", str(config), "--work_dir", str(tmp_path / "fresh"), "--cfg-options", f"model.weights={best}"]
    published = run_cli("predict", *fresh, "--input_dir", str(_frames(tmp_path)), cwd=tmp_path)
    _ok(published)
    assert published.stdout.startswith(f"loaded weights (model.weights): {best} [vis4d]")
    assert list((tmp_path / "fresh").glob("*/*/predict/predictions/frames.json"))
    # Neither: today's error, naming both ways out; model.weights= (empty) means none.
    nothing = run_cli("predict", *fresh[:-1], "model.weights=", "--input_dir", str(_frames(tmp_path)), cwd=tmp_path)
    assert nothing.returncode == 2 and "pass --version or --weights PATH, or set model.weights" in nothing.stderr


def _frames(tmp_path: Path) -> Path:
    """Two real 720p BDD100K frames, shrunk, as a folder of frames (what --input_dir takes)."""
    folder = tmp_path / "frames"
    if not folder.is_dir():
        folder.mkdir()
        root = Path(__file__).resolve().parents[2] / "assets" / "bdd100k_sample" / "images"
        for index, image in enumerate(sorted(root.glob("*/*.jpg"))[:2]):
            cv2.imwrite(str(folder / f"{index}.jpg"), cv2.resize(cv2.imread(str(image)), (96, 64)))
    return folder


@pytest.mark.slow
def test_a_resume_from_an_epoch_end_does_not_write_that_epoch_again(tmp_path: Path) -> None:
    """Lightning replays the end of the epoch a run stopped at (--max_steps, after validation); epoch=0.ckpt stays."""
    config = write_tiny_config(tmp_path, "detector")
    run = ["--work_dir", str(tmp_path / "ws"), "--exp_name", "e", "--version", "v"]
    limits = ["--limit_train_batches", "1", "--limit_val_batches", "1"]
    _ok(run_cli("train", "--config", str(config), *run, "--max_steps", "1", *limits, cwd=tmp_path))
    checkpoints = tmp_path / "ws" / "e" / "v" / "checkpoints"
    first = (checkpoints / "epoch=0.ckpt").stat()
    _ok(run_cli("train", "--resume", *run, "--max_steps", "2", *limits, cwd=tmp_path))
    again = (checkpoints / "epoch=0.ckpt").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert torch.load(checkpoints / "epoch=1.ckpt", weights_only=False)["global_step"] == 2
    assert (checkpoints / "last.ckpt").samefile(checkpoints / "epoch=1.ckpt")


@pytest.mark.slow
def test_tracker_end_to_end(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    ws = tmp_path / "ws"
    common = ["--config", str(config), "--work_dir", str(ws), "--exp_name", "trk", "--version", "v1"]
    _ok(run_cli("train", *common, "--max_epochs", "1", "--limit_train_batches", "2", cwd=tmp_path))
    _ok(run_cli("test", *common, "--output_format", "scalabel,motchallenge", cwd=tmp_path))
    run_dir = ws / "trk" / "v1"
    metrics = json.loads((run_dir / "test" / "metrics.json").read_text())
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA"):
        assert key in metrics["track"]["mean"] or not metrics["track"]["per_class"]
    assert len(list((run_dir / "test" / "predictions" / "motchallenge").glob("*.txt"))) == 2

    frames = tmp_path / "frames" / "clip"
    frames.mkdir(parents=True)
    images = sorted((tmp_path / "data").rglob("*.jpg"))[:3]
    for i, image in enumerate(images):
        (frames / f"frame{[2, 10, 1][i]}.jpg").write_bytes(image.read_bytes())
    _ok(run_cli("predict", *common, "--input_dir", str(tmp_path / "frames"), "--visualize", cwd=tmp_path))
    preds = json.loads((run_dir / "predict" / "predictions" / "frames.json").read_text())
    assert [p["name"] for p in preds] == ["frame1.jpg", "frame2.jpg", "frame10.jpg"]
    assert all("id" in label for p in preds for label in p["labels"])
    assert len(list((run_dir / "predict" / "vis" / "clip").glob("*.jpg"))) == 3
    assert read_video_frame_count(run_dir / "predict" / "vis" / "clip.mp4") == 3

    # A video file is one sequence, decoded frame by frame; the drawn MP4 keeps its frame rate.
    video = tmp_path / "drive.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 7.0, (96, 64))
    for image in images:
        writer.write(cv2.imread(str(image)))
    writer.release()
    _ok(run_cli("predict", *common, "--input_dir", str(video), "--visualize", cwd=tmp_path))
    preds = json.loads((run_dir / "predict" / "predictions" / "drive.json").read_text())
    assert [p["name"] for p in preds] == ["drive-000000.jpg", "drive-000001.jpg", "drive-000002.jpg"]
    drawn = cv2.VideoCapture(str(run_dir / "predict" / "vis" / "drive.mp4"))
    assert drawn.get(cv2.CAP_PROP_FPS) == pytest.approx(7.0)
    assert read_video_frame_count(run_dir / "predict" / "vis" / "drive.mp4") == 3


def test_tracker_bf16_mixed_precision(tmp_path: Path) -> None:
    """``--precision bf16-mixed`` trains, tests and predicts QDTrack on the CPU (Lightning's autocast path)."""
    config = write_tiny_config(tmp_path, "qdtrack")
    ws = tmp_path / "ws"
    common = ["--config", str(config), "--work_dir", str(ws), "--exp_name", "amp", "--version", "v1"]
    amp = ["--precision", "bf16-mixed"]
    trained = run_cli("train", *common, *amp, "--max_epochs", "1", "--limit_train_batches", "2", cwd=tmp_path)
    _ok(trained)
    assert "(precision bf16-mixed)" in trained.stdout
    _ok(run_cli("test", *common, *amp, cwd=tmp_path))
    metrics = json.loads((ws / "amp" / "v1" / "test" / "metrics.json").read_text())
    assert "summary" in metrics
    frames = tmp_path / "frames" / "clip"
    frames.mkdir(parents=True)
    for i, image in enumerate(sorted((tmp_path / "data").rglob("*.jpg"))[:2]):
        (frames / f"{i}.jpg").write_bytes(image.read_bytes())
    _ok(run_cli("predict", *common, *amp, "--input_dir", str(tmp_path / "frames"), cwd=tmp_path))
    preds = json.loads((ws / "amp" / "v1" / "predict" / "predictions" / "frames.json").read_text())
    assert [p["name"] for p in preds] == ["0.jpg", "1.jpg"]


@pytest.mark.slow
def test_ddp_on_cpu(tmp_path: Path) -> None:
    """Two CPU processes (gloo) train and test. Lightning's ``ddp`` launcher, which starts the program again by
    its command line, runs in tests/test_docs_run.py (docs/distributed.md's command); here the ranks are forked
    (``ddp_fork``), the same distributed code without two more interpreter starts."""
    config = write_tiny_config(tmp_path, "qdtrack")
    ddp = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp_fork"]
    common = ["--config", str(config), "--work_dir", str(tmp_path / "ws"), "--exp_name", "ddp", "--version", "v"]
    result = run_cli("train", *common, *ddp, "--max_epochs", "1", "--limit_train_batches", "2",
                     "--limit_val_batches", "0", cwd=tmp_path)  # fmt: skip
    _ok(result)
    checkpoint = torch.load(tmp_path / "ws" / "ddp" / "v" / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 2

    # Test under DDP: each process tracks whole videos; the files end up as with one process.
    _ok(run_cli("test", *common, *ddp, "--output_format", "scalabel,motchallenge,coco", cwd=tmp_path))
    out = tmp_path / "ws" / "ddp" / "v" / "test"
    assert not list(out.rglob("*.rank*")), "per-process files are merged"
    frames = json.loads((out / "predictions" / "tiny_test.json").read_text())
    videos = ("test-000", "test-001")
    assert sorted((f["videoName"], f["frameIndex"]) for f in frames) == [(v, i) for v in videos for i in range(3)]
    assert sorted(p.name for p in (out / "predictions" / "motchallenge").iterdir()) == [f"{v}.txt" for v in videos]
    coco_images = json.loads((out / "predictions" / "tiny_test_coco_images.json").read_text())["images"]
    assert sorted(im["id"] for im in coco_images) == list(range(6))
    metrics = json.loads((out / "metrics.json").read_text())
    assert "track" in metrics and 0.0 <= metrics["det"]["AP"] <= 1.0


def test_trainer_section_wins_with_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vis4d.engine.resolve import resolve_trainer_options

    merged = resolve_trainer_options({"max_epochs": 1, "precision": "32"}, {"max_epochs": 12})
    assert merged == {"max_epochs": 12, "precision": "32"}
    err = capsys.readouterr().err
    assert "max_epochs" in err and "12" in err and "1" in err


def test_gpus_fall_back_to_cpu_and_dp_warns(capsys: pytest.CaptureFixture[str]) -> None:
    from vis4d.engine.resolve import device_options

    options = device_options({"gpus": "2,3", "strategy": "dp"})
    err = capsys.readouterr().err
    assert "dp" in err
    if not torch.cuda.is_available():
        assert options["accelerator"] == "cpu" and "no CUDA GPU" in err
    else:
        assert options["devices"] == [2, 3]
