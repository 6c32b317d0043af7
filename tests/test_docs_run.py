"""Every documented command runs, as written: README.md, docs/*.md (the spec's examples are in docs/cli.md), zoo.

A command in the docs is a promise. Each doc's shell commands run in order in
a folder of their own that looks like the repository (links to its files,
``zoo/`` as links per file so nothing the commands write reaches the
clone), with a torch.hub cache holding the published weights the configs name
(files in each publisher's layout under the official file names, made by
:mod:`tests.published_weights`; nothing is downloaded).

Placeholders are real files the test creates where the command expects them
(``frames/``, ``my_video.mp4``, ``labels/``, ``predictions.json``, ``MOT17/train``
from motmetrics' real sequences...), or, where a name cannot be a file, are
replaced in the command's text (:data:`REPLACED`; a network camera's URL by a
local MJPEG stream).
Long commands keep their own options and get limits appended
(:func:`limits`): training runs 1 step (a resume one more), the BDD100K recipes
on one 128x224 image with 64 sampled RoIs per head, test and predict one
batch (the 720p recipes' frames resized to 128x224, 100 proposals), benchmarks
``--quick``, the demo ``DEMO_ARGS=--quick``. A make target whose recipe (``make
-n``) is this environment's Python on a script runs that script forked, as the
other commands. A command two docs share runs once per session when the second
doc's folder is where the first's was (:func:`ran_before`). A command that
needs something no CPU-only machine has is listed in :data:`NOT_RUN` with its
reason; any other command that fails, or that a doc adds without it running,
fails this test. The checks per command: exit code 0 and, for test
and predict, the files they promise (metrics, predictions, pictures); ``--gpus``
without a GPU must say it runs on the CPU, as docs/distributed.md says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import pytest

from tests.conftest import SHARED_RUNS, fork_server
from tests.published_weights import place
from vis4d.config.data_schema import SyntheticDatasetConfig

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "zoo").glob("*/README.md"))]
SPEC = ROOT.parent / "shared" / "spec" / "vis4d-cli-and-config.rst"
ACTIVATE = "source .venv/bin/activate"
SAMPLE = ROOT / "assets" / "bdd100k_sample"
SYNTHETIC_ROOT = SyntheticDatasetConfig.model_fields["root"].default  # where the synthetic videos go (in the cwd)

# Commands that cannot run here, by their start, with the reason (the doc's command is still parsed and
# listed; only these are exempt).
NOT_RUN = {
    "make test": "the test suite itself (CI runs it)",
    "pip install -e '.[wandb]'": "installs wandb from the package index (the suite does not reach the network)",
    "pip install": "installs into the environment this suite runs in (the Makefile's install, which CI runs)",
    "srun ": "a SLURM cluster: 2 nodes with 8 GPUs each",
    "MASTER_ADDR=": "a second machine (multi-node: 2 nodes with 8 GPUs each)",
}
# Placeholders that cannot be files where the command names them, replaced in its text (see _replace).
REPLACED = ("CFG", "VERSION", "<version>", "RUN_DIR", "/path/to/model.ckpt", "/path/to/checkpoint.ckpt",
            "/path/to/resume.ckpt", "/path/to/folder", "rtsp://camera.local/stream")  # fmt: skip
TRAIN_LIMITS = ["--max_steps", "1", "--limit_train_batches", "1", "--limit_val_batches", "1"]
SMALL_TRAINING = "train_handler.batch_size=1,train_handler.num_workers=0,train_handler.transforms.0.shape=[128,224]"
# Sampled RoIs per image of the heads that cost most in a training step whatever the image size (the BDD100K
# recipes sample 512 and 256).
SMALL_HEADS = {"faster_rcnn": "model.detector.roi_head.batch_size_per_image=64"}
SMALL_TRACK_HEAD = "model.track_sampler.batch_size_per_image=64"
# Proposals per image at test time of those heads (the recipes keep 1000: their box head's 1024-wide FCs then cost
# half a second per frame on a CPU, whatever the image size).
SMALL_PROPOSALS = {
    "faster_rcnn": "model.detector.rpn.pre_nms_top_n_test=100,model.detector.rpn.post_nms_top_n_test=100",
}


def doc_commands(doc: Path) -> list[str]:
    """The shell commands of a doc's ``bash`` blocks, in order, without comments and the activation line."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#") and line != ACTIVATE:
                commands.append(line)
    return commands


def not_run_reason(command: str) -> str | None:
    """Why ``command`` cannot run here (None: it runs)."""
    for start, reason in NOT_RUN.items():
        if command.startswith(start):
            return reason
    return None


@dataclass
class Folder:
    """One doc's folder: a look-alike of the repository where its commands run, and what they left."""

    path: Path
    torch_home: Path
    runs: list[Path] = field(default_factory=list)  # run directories the commands reported, in order
    log: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # keys of the shared commands that changed files, in order

    def newest_run(self, exp_name: str | None = None, trained: bool = False) -> Path:
        """The newest run (of ``exp_name``; ``trained``: one with checkpoints) the commands reported."""
        found = [r for r in self.runs if exp_name is None or r.parent.name == exp_name]
        found = [r for r in found if not trained or (r / "checkpoints" / "last.ckpt").is_file()]
        assert found, f"no {'trained ' * trained}run{' of ' + exp_name if exp_name else ''} yet in {self.path}"
        return found[-1]

    def has_run(self, exp_name: str | None = None, trained: bool = False) -> bool:
        """Whether a run (of ``exp_name``; with checkpoints) was reported."""
        found = [r for r in self.runs if exp_name is None or r.parent.name == exp_name]
        return any(not trained or (r / "checkpoints" / "last.ckpt").is_file() for r in found)


def make_folder(path: Path, torch_home: Path) -> Folder:
    """Links to the repository's files; ``zoo/`` a real folder of links (a command may write a zoo file)."""
    path.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in ("vis4d-workspace", ".git", "zoo", "data", ".pytest_cache", ".mypy_cache"):
            continue
        (path / entry.name).symlink_to(entry)
    for entry in (ROOT / "zoo").glob("*/*"):
        target = path / "zoo" / entry.parent.name / entry.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(entry)
    return Folder(path, torch_home)


# ---------------------------------------------------------------------------------------- placeholder files
def _frames(folder: Path, count: int = 2) -> list[Path]:
    """``count`` real BDD100K frames, shrunk to 180x320, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, image in enumerate(sorted(SAMPLE.glob("images/*/*.jpg"))[:count]):
        target = folder / f"{index:04d}.jpg"
        cv2.imwrite(str(target), cv2.resize(cv2.imread(str(image)), (320, 180)))
        written.append(target)
    return written


def _video(path: Path) -> None:
    """A two-frame MP4 of real frames (what a user's video file is, small)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (320, 180))
    for image in sorted(SAMPLE.glob("images/*/*.jpg"))[:2]:
        writer.write(cv2.resize(cv2.imread(str(image)), (320, 180)))
    writer.release()


def _scored_labels() -> list[dict[str, object]]:
    """The sample's labels as a prediction file: every box with a score (a perfect tracker's output)."""
    frames: list[dict[str, object]] = []
    for path in sorted((SAMPLE / "labels").glob("*.json")):
        for frame in json.loads(path.read_text()):
            for label in frame.get("labels") or []:
                label["score"] = 0.9
            frames.append(frame)
    return frames


def _bdd100k_data(root: Path) -> None:
    """``data/bdd100k/`` as the BDD100K tracking configs expect it, from the 12 real sample frames.

    Video 1 trains (box tracking, and two of its frames as detection images),
    video 2 is validation.
    """
    if (root / "data" / "bdd100k").exists():
        return
    videos = sorted(p.stem for p in (SAMPLE / "labels").glob("*.json"))
    for split, video in (("train", videos[0]), ("val", videos[1])):
        images = root / "data" / "bdd100k" / "images" / "track" / split / video
        images.parent.mkdir(parents=True)
        images.symlink_to(SAMPLE / "images" / video)
        labels = root / "data" / "bdd100k" / "labels" / "box_track_20" / split / f"{video}.json"
        labels.parent.mkdir(parents=True)
        shutil.copy(SAMPLE / "labels" / f"{video}.json", labels)
    det_images = root / "data" / "bdd100k" / "images" / "100k" / "train"
    det_images.mkdir(parents=True)
    det_frames = json.loads((SAMPLE / "labels" / f"{videos[0]}.json").read_text())[:2]
    for frame in det_frames:
        (det_images / frame["name"]).symlink_to(SAMPLE / "images" / videos[0] / frame["name"])
        frame.pop("videoName", None)
        frame.pop("frameIndex", None)
    det_labels = root / "data" / "bdd100k" / "labels" / "det_20" / "det_train.json"
    det_labels.parent.mkdir(parents=True)
    det_labels.write_text(json.dumps(det_frames))


def _mot17_train(root: Path) -> None:
    """``MOT17/train`` as MOTChallenge lays it out, from the two real sequences motmetrics ships (TUD-Campus as
    MOT17-02-FRCNN, TUD-Stadtmitte as MOT17-04-FRCNN): seqinfo.ini, gt/gt.txt, and as public detections
    det/det.txt the boxes of motmetrics' sample tracker output, without ids, scored 0.9."""
    data = Path(__import__("motmetrics").__file__).parent / "data"
    for name, source, length in (("MOT17-02-FRCNN", "TUD-Campus", 71), ("MOT17-04-FRCNN", "TUD-Stadtmitte", 179)):
        sequence = root / name
        (sequence / "gt").mkdir(parents=True)
        (sequence / "det").mkdir()
        (sequence / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength={length}"
                                              "\nimWidth=640\nimHeight=480\nimExt=.jpg\n")  # fmt: skip
        shutil.copy(data / source / "gt.txt", sequence / "gt" / "gt.txt")
        lines = [line.split(",") for line in (data / source / "test.txt").read_text().splitlines() if line]
        (sequence / "det" / "det.txt").write_text("".join(",".join([f, "-1", *box[:4], "0.9", "-1", "-1", "-1"]) + "\n"
                                                          for f, _, *box in lines))  # fmt: skip


_CAMERA: list[object] = []  # the session's stand-in network camera (tests.mjpeg_server), started on first use


def _camera_url() -> str:
    """A local MJPEG stream of three frames, standing in for the docs' ``rtsp://camera.local/stream``."""
    from tests.mjpeg_server import MJPEGServer

    if not _CAMERA:
        _CAMERA.append(MJPEGServer())
    server = _CAMERA[0]
    assert isinstance(server, MJPEGServer)
    return server.url("end/3/stream")


def create_placeholders(command: str, folder: Folder) -> None:
    """The files a command names as placeholders, made once per folder, where it names them."""
    here = folder.path
    words = shlex.split(command)
    if "frames/" in words or "/path/to/folder" in words:
        if not (here / "frames").exists():
            _frames(here / "frames")
    for name in ("my_video.mp4", "my_dashcam.mp4"):
        if name in words and not (here / name).exists():
            _video(here / name)
    if "labels/" in words and not (here / "labels").exists():
        shutil.copytree(SAMPLE / "labels", here / "labels")
    if "images/" in words and not (here / "images").exists():
        (here / "images").symlink_to(SAMPLE / "images")
    for name in ("predictions.json", "RUN/test/predictions/x.json"):
        if name in words and not (here / name).exists():
            (here / name).parent.mkdir(parents=True, exist_ok=True)
            (here / name).write_text(json.dumps(_scored_labels()))
    if "labels.json" in words and not (here / "labels.json").exists():
        frames = [f for p in sorted((SAMPLE / "labels").glob("*.json")) for f in json.loads(p.read_text())]
        (here / "labels.json").write_text(json.dumps(frames))
    if "config.toml" in words and not (here / "config.toml").exists():
        sample = ROOT / "configs" / "experiments" / "qdtrack" / "qdtrack_R_18_FPN_bdd100k_sample.toml"
        (here / "config.toml").write_text(f'base = ["{sample}"]\n')
    if "bdd100k" in command and "--input_dir" not in words:
        _bdd100k_data(here)
    if any(word.startswith("MOT17/train") for word in words) and not (here / "MOT17" / "train").exists():
        _mot17_train(here / "MOT17" / "train")


# ------------------------------------------------------------------------------------------------ running
@dataclass
class Step:
    """A command made runnable: how to start it, and what was appended or replaced (said on failure)."""

    kind: str  # trainer, vis4d, script, make, tensorboard
    argv: list[str]
    env: dict[str, str]
    appended: list[str] = field(default_factory=list)


def _replace_names(command: str) -> str:
    """Placeholders for a config and a folder (see :data:`REPLACED`): the docs' running example, frames/."""
    if "CFG" in shlex.split(command):
        command = re.sub(r"(?<=--config )CFG\b", "configs/experiments/qdtrack/qdtrack_R_18_FPN_synthetic.toml", command)
    if "rtsp://camera.local/stream" in command:
        command = command.replace("rtsp://camera.local/stream", _camera_url())
    return command.replace("/path/to/folder", "frames/")


def _replace(command: str, folder: Folder) -> str:
    """Placeholders for runs, versions and checkpoints, replaced by what the folder holds (:data:`REPLACED`)."""
    if "RUN_DIR" in command and folder.has_run():
        command = command.replace("RUN_DIR", str(folder.newest_run().relative_to(folder.path)))
    for token in ("VERSION", "<version>"):
        exp_match = re.search(r"--exp_name (\S+)", command) or re.search(rf"([\w.-]+)/{re.escape(token)}", command)
        exp = exp_match.group(1) if exp_match else None
        if token in command and folder.has_run(exp, trained=True):
            command = command.replace(token, folder.newest_run(exp, trained=True).name)
    for token in ("/path/to/model.ckpt", "/path/to/checkpoint.ckpt", "/path/to/resume.ckpt"):
        exp = _config_exp(command, folder)
        if token in command and folder.has_run(exp, trained=True):
            run = folder.newest_run(exp, trained=True).relative_to(folder.path)
            command = command.replace(token, str(run / "checkpoints" / "last.ckpt"))
    return command


def _config_of(words: list[str]) -> Path | None:
    return Path(words[words.index("--config") + 1]) if "--config" in words else None


def _resumed_config(words: list[str]) -> Path | None:
    """The config of the run ``train --resume --exp_name E --version V`` continues (None: no such command)."""
    if "--resume" not in words or "--exp_name" not in words or "--version" not in words:
        return None
    work_dir = words[words.index("--work_dir") + 1] if "--work_dir" in words else "vis4d-workspace"
    return Path(work_dir) / words[words.index("--exp_name") + 1] / words[words.index("--version") + 1] / "config.yaml"


def _config_exp(command: str, folder: Folder) -> str | None:
    """The experiment (model.name) of the command's config, if it names one."""
    from vis4d.config.load import load_config

    config = _config_of(shlex.split(command))
    return load_config(folder.path / config).model_name if config is not None else None


def _small_training(config_path: Path) -> str | None:
    """``--cfg-options`` that shrink a config training on images larger than 400 px (the BDD100K recipes: 720x1296):
    one small image per batch, no loader workers, fewer sampled RoIs; None for configs that train small already."""
    from vis4d.config.load import load_config

    config = load_config(config_path)
    if not _large_resizes(config.train_handler):
        return None
    options = [SMALL_TRAINING]
    if config.model.detector.type in SMALL_HEADS:
        options.append(SMALL_HEADS[config.model.detector.type])
    if config.model.type == "qdtrack":
        options.append(SMALL_TRACK_HEAD)
    return ",".join(options)


def limits(action: str, words: list[str], cwd: Path) -> list[str]:
    """What is appended to a trainer action so that it runs in seconds (its own options are kept)."""
    if action == "train":
        appended = [*TRAIN_LIMITS]
        if "--resume" in words:
            appended[1] = "2"  # one step past the checkpoint it resumes
        config = _config_of(words) or _resumed_config(words)
        small = _small_training(cwd / config) if config is not None else None
        if small is not None:  # 720p recipes: train small, validate not at all
            appended[appended.index("--limit_val_batches") + 1] = "0"
        validation = _small_inference(cwd / config) if config is not None and small is None else None
        options = ",".join(option for option in (small, validation) if option)
        return appended + (["--cfg-options", options] if options else [])
    if action in ("test", "predict") and "-h" not in words:
        config = _config_of(words)
        small = _small_inference(cwd / config) if config is not None else None
        return [f"--limit_{action}_batches", "1", *(["--cfg-options", small] if small else [])]
    return []


def _small_inference(config_path: Path) -> str | None:
    """``--cfg-options`` that resize test/predict inputs of a 720p recipe to 128x224 and keep 100 proposals per
    frame (None: small already).

    A 720p frame costs an R50 model seconds on a CPU; what the command promises (its files, its metrics) is the
    same at any size.
    """
    from vis4d.config.load import load_config

    if not config_path.is_file():
        return None
    config = load_config(config_path)
    big = _large_resizes(config.test_handler)
    if not big:
        return None
    options = [f"test_handler.transforms.{i}.shape=[128,224]" for i in big]
    detector = getattr(config.model, "detector", None)
    if detector is not None and detector.type in SMALL_PROPOSALS:
        options.append(SMALL_PROPOSALS[detector.type])
    return ",".join(options)


def _large_resizes(handler: Any) -> list[int]:
    """Indices of the handler's transforms that resize to more than 400 px (the 720p recipes)."""
    shapes = [getattr(transform, "shape", None) for transform in handler.transforms]
    return [i for i, shape in enumerate(shapes) if shape is not None and max(shape) > 400]


def make_step(command: str, cwd: Path) -> Step:
    """How the (placeholder-free) command starts; the test's limits appended."""
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words[:3] == ["python3", "-m", "vis4d.engine.trainer"]:
        argv = words[3:]
        appended = limits(argv[0], argv, cwd) if argv else []
        return Step("trainer", argv + appended, env, appended)
    if words[0] == "vis4d":
        appended = limits(words[1], words[1:], cwd) if len(words) > 1 else []
        return Step("vis4d", words[1:] + appended, env, appended)
    if words[0] == "python3" and words[1].startswith("benchmarks/"):
        return Step("script", [*words[1:], "--quick"], env, ["--quick"])
    if words[0] == "python3":
        return Step("script", words[1:], env)
    if words[:2] == ["make", "demo"]:
        # -o .venv/.base: the environment is the suite's own (linked); make must never reinstall it from here.
        appended = ["DEMO_ARGS=--quick", "-o", ".venv/.base"]
        return Step("make", [*words, *appended], env, appended)
    if words[0] == "tensorboard":
        return Step("tensorboard", words, env)
    raise AssertionError(f"no way to run {command!r}: teach tests/test_docs_run.py (or list it in NOT_RUN)")


def ensure_run(command: str, folder: Folder) -> None:
    """Train first (a setup step, with the limits) when the command needs a run its doc has not made.

    test/predict of a run's ``best``/``last`` (or with no weights and no
    ``model.weights`` to fall back to), a checkpoint placeholder, or a resume
    of a run that does not exist.
    """
    words = shlex.split(command)
    if "vis4d.engine.trainer" not in words and words[:1] != ["vis4d"]:
        return
    action = next((w for w in words if w in ("train", "test", "predict", "export")), None)
    config = _config_of(words)
    weights = words[words.index("--weights") + 1] if "--weights" in words else None
    if action == "train" and "--resume" in words and "--exp_name" in words:
        work_dir = words[words.index("--work_dir") + 1] if "--work_dir" in words else "vis4d-workspace"
        run = folder.path / work_dir / words[words.index("--exp_name") + 1] / words[words.index("--version") + 1]
        if not (run / "checkpoints" / "last.ckpt").exists():
            trained = [p for p in folder.runs if (p / "checkpoints" / "last.ckpt").is_file()]
            if trained:  # the doc's latest training run, under the name the command resumes (as if moved there)
                _link_tree(trained[-1], run)
                folder.log.append(f"setup: {trained[-1].relative_to(folder.path)} linked as {run}")
            else:
                previous = next(p for p in reversed(folder.runs) if (p / "config.yaml").exists())
                _setup(folder, ["train", "--config", str(previous / "config.yaml"), "--work_dir", work_dir,
                                "--exp_name", run.parent.name, "--version", run.name])  # fmt: skip
        return
    if config is None or action not in ("test", "predict", "export", "train"):
        return
    exp = _config_exp(command, folder)
    has_run = folder.has_run(exp, trained=True)
    from vis4d.config.load import load_config

    needs = (weights in ("best", "last") or (weights or "").startswith("/path/to/")) and action != "train"
    needs |= action == "train" and (weights or "").startswith("/path/to/")
    needs |= action in ("test", "predict") and weights is None and not load_config(folder.path / config).model.weights
    if needs and not has_run and "--version" not in words:
        _setup(folder, ["train", "--config", str(config)])


def _setup(folder: Folder, argv: list[str]) -> None:
    if "bdd100k" in shlex.join(argv):
        _bdd100k_data(folder.path)
    step = Step("trainer", argv + limits("train", argv, folder.path), {})
    result = _execute(step, folder)
    assert result.returncode == 0, f"setup {shlex.join(step.argv)} failed:\n{result.stderr[-3000:]}"
    folder.log.append(f"setup: {shlex.join(step.argv)}")


def place_weights(command: str, folder: Folder) -> None:
    """The published files the command's config names, in the folder's torch.hub cache (as if downloaded).

    ``make demo`` tracks real footage with the published model of its
    ``REAL_CONFIG`` when the weights are in the cache: they are placed too.
    """
    config = _config_of(shlex.split(command))
    if command.startswith("make demo"):
        from scripts.demo import REAL_CONFIG

        config = Path(REAL_CONFIG)
    if config is None or not (folder.path / config).is_file():
        return
    from vis4d.config.load import load_config

    model = load_config(folder.path / config).model
    for name in (model.weights, getattr(getattr(model.detector, "backbone", None), "weights", None)):
        if name is not None and "://" in name:
            place(name, folder.torch_home)


def _execute(step: Step, folder: Folder) -> subprocess.CompletedProcess[str]:
    env = {"TORCH_HOME": str(folder.torch_home), "PYTHONWARNINGS": "ignore", **step.env}
    script = _python_recipe(step, folder) if step.kind == "make" else None
    if script is not None:  # make's one recipe line runs this environment's Python on a script: forked
        done = fork_server().run("script", script, folder.path, env, timeout=600)
        result = subprocess.CompletedProcess(step.argv, done.returncode, done.stdout, done.stderr)
    elif step.kind in ("trainer", "vis4d", "script"):  # forked (a --strategy ddp launcher starts its other ranks)
        done = fork_server().run(step.kind, step.argv, folder.path, env, timeout=600)
        result = subprocess.CompletedProcess(step.argv, done.returncode, done.stdout, done.stderr)
    elif step.kind == "tensorboard":
        result = _tensorboard(step, folder, env)
    else:  # make with another recipe
        result = subprocess.run(step.argv, cwd=folder.path, env={**os.environ, "OMP_NUM_THREADS": "1", **env},
                                capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    folder.runs += [folder.path / line.split("run directory ", 1)[1].split(" (precision")[0].strip()
                    for line in result.stdout.splitlines() if " run directory " in line]  # fmt: skip
    return result


def _python_recipe(step: Step, folder: Folder) -> list[str] | None:
    """The script and arguments of a make target whose whole recipe (``make -n``) is one command running the
    suite's own interpreter on a script (``make demo``: ``.venv/bin/python scripts/demo.py ARGS``), else None."""
    # Without the variables of a make this suite runs under (`make test`): its sub-make would print
    # "Entering directory" around the recipe, and the demo would run as a new interpreter.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    dry = subprocess.run([*step.argv[:1], "-n", "--no-print-directory", *step.argv[1:]], cwd=folder.path, env=env,
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    lines = [line for line in dry.stdout.splitlines() if line.strip()]
    if dry.returncode != 0 or len(lines) != 1:
        return None
    words = shlex.split(lines[0])
    interpreter = folder.path / words[0]  # VENV/bin/python: the same environment as the suite's (sys.prefix)
    same = interpreter.is_file() and interpreter.parent.parent.resolve() == Path(sys.prefix).resolve()
    return words[1:] if same and len(words) > 1 and words[1].endswith(".py") else None


def _tensorboard(step: Step, folder: Folder, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A server that runs until stopped: started, up when it prints its address, then stopped with Ctrl-C.

    It runs in a session of its own: the data server TensorBoard starts (``tensorboard_data_server``) may hold
    the output pipe open after TensorBoard itself has ended; it is killed with the session once TensorBoard exited.
    """
    program = [str(Path(sys.executable).parent / step.argv[0]), *step.argv[1:], "--port", "0"]
    process = subprocess.Popen(program, cwd=folder.path, env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "http://" in line or not line:
                break
        process.send_signal(signal.SIGINT)
        stopped = process.wait(timeout=30) is not None
    except subprocess.TimeoutExpired:
        stopped = False
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    lines.append(process.stdout.read())
    up = any("http://" in line for line in lines)
    said = "".join(lines) + ("" if stopped else "\n(tensorboard did not stop within 30 s of Ctrl-C)")
    return subprocess.CompletedProcess(program, 0 if up and stopped else 1, said, "" if up and stopped else said)


def check_outputs(command: str, step: Step, result: subprocess.CompletedProcess[str], folder: Folder) -> None:
    """What the command promises beyond its exit code."""
    words = shlex.split(command)
    if "--gpus" in words:
        assert "no CUDA GPU available, running on the CPU" in result.stderr or _cuda(), result.stderr[-2000:]
    if "--profiler" in words:  # the report is saved and its path is the run's last line
        (report,) = folder.newest_run().glob("profile/fit-report.txt")
        assert "run_training_batch" in report.read_text()
        assert result.stdout.rstrip().endswith(f"profile report: {report.relative_to(folder.path)}")
    action = next((w for w in step.argv[:1] if w in ("test", "predict")), None)
    if action is None or "-h" in words:
        return
    run = folder.runs[-1]
    if action == "test":
        assert (run / "test" / "metrics.json").is_file(), f"no metrics.json in {run}/test"
    assert any((run / action / "predictions").rglob("*.*")), f"no prediction files in {run}/{action}"
    if "--visualize" in words:
        assert any((run / action / "vis").rglob("*.jpg")), f"no pictures in {run}/{action}/vis"


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="session")
def ran_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a command that two docs share left when the first doc ran it (xdist's common root: every worker's).

    Such a command runs once per session: a benchmark (it depends on nothing the
    doc's earlier commands made: docs/speed.md lists docs/export.md's), or a
    command whose folder is in the same state as the first doc's was (the same
    placeholders, and the same earlier commands that changed a file: ``make demo``
    opens README.md and docs/quickstart.md; docs/distributed.md's first two
    trainings are docs/cli.md's, after its ``-h``); the second doc gets what
    the first run made or changed, linked, and loses what it removed.
    """
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / SHARED_RUNS
    shared.mkdir(exist_ok=True)
    return shared


def _shared_key(step: Step, folder: Folder, files: dict[Path, tuple[int, int, int]]) -> str | None:
    """The key of a command whose result another doc may reuse (None: it always runs): the command, and for all
    but benchmarks the folder's state (its files' names and the keys of the commands that changed them)."""
    benchmark = step.kind == "script" and step.argv[0].startswith("benchmarks/")
    if not benchmark and step.kind not in ("make", "trainer", "vis4d", "script"):
        return None
    state = [] if benchmark else [folder.history, sorted(map(str, files))]
    return hashlib.sha1(json.dumps([step.kind, step.argv, step.env, *state]).encode()).hexdigest()


def _own_files(root: Path, skip: str = SYNTHETIC_ROOT) -> dict[Path, tuple[int, int, int]]:
    """The files a folder holds itself (not through its links to the repository), relative to it: inode, size and
    modification time (a command that rewrites a file changes them). The synthetic videos every folder starts
    with (``skip``) are left out: the commands read them."""
    found: dict[Path, tuple[int, int, int]] = {}
    folders, skipped = [root], str(root / skip)
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink() or entry.path == skipped:
                    continue
                if entry.is_dir():
                    folders.append(Path(entry.path))
                else:
                    stat = entry.stat()
                    found[Path(entry.path).relative_to(root)] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def _keep(shared: Path, doc: Path, folder: Folder, before: dict[Path, Any], runs: int) -> bool:
    """Link what the command made or changed into ``shared``, with what it removed (a passed test's folder is
    removed when it ends); whether it changed anything."""
    after = _own_files(folder.path)
    changed = [relative for relative, stat in after.items() if before.get(relative) != stat]
    for relative in changed:
        (shared / "files" / relative).parent.mkdir(parents=True, exist_ok=True)
        os.link(folder.path / relative, shared / "files" / relative)
    removed = [str(relative) for relative in before if relative not in after]
    record = {"doc": str(doc.relative_to(ROOT)), "runs": [str(r.relative_to(folder.path)) for r in folder.runs[runs:]],
              "removed": removed, "changed": bool(changed or removed)}  # fmt: skip
    (shared / "record.tmp").write_text(json.dumps(record))
    (shared / "record.tmp").rename(shared / "record.json")
    return bool(record["changed"])


def _reuse(shared: Path, folder: Folder) -> tuple[str, bool]:
    """The earlier run's files linked into ``folder`` (replacing the ones it changed), what it removed removed; the
    doc that ran it, and whether it changed anything."""
    record = json.loads((shared / "record.json").read_text())
    for relative in record["removed"]:
        (folder.path / relative).unlink(missing_ok=True)
    _link_tree(shared / "files", folder.path, replace=True)
    folder.runs += [folder.path / run for run in record["runs"]]
    return str(record["doc"]), bool(record["changed"])


@pytest.fixture(scope="session")
def torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One torch.hub cache for the session's doc folders: published files are made once."""
    return tmp_path_factory.mktemp("torch_home")


@pytest.fixture(scope="session")
def synthetic_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic videos of ``configs/_base_/datasets/synthetic.toml`` (train and test), generated once.

    Every doc folder gets them linked where the configs' ``root`` puts them,
    as if an earlier command in the same workspace had generated them (the
    first use generates them: tests/data/datasets/test_synthetic.py and the
    configs' own runs in tests/engine check that path).
    """
    from vis4d.config.load import load_config
    from vis4d.data.datasets.synthetic import ensure_synthetic

    root = tmp_path_factory.mktemp("synthetic")
    config = load_config(ROOT / "configs" / "experiments" / "qdtrack" / "qdtrack_R_18_FPN_synthetic.toml")
    for section in (*config.train, *config.test):
        assert section.type == "synthetic"
        ensure_synthetic(section.model_copy(update={"root": str(root)}))
    return root


def _link_tree(source: Path, target: Path, replace: bool = False) -> None:
    """Hard links to every file under ``source``, at the same relative paths under ``target`` (``replace``: in
    place of a file already there)."""
    for here, _, names in os.walk(source):
        into = target / Path(here).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in names:
            if replace:
                (into / name).unlink(missing_ok=True)
            os.link(Path(here) / name, into / name)


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCS if doc_commands(d)], ids=lambda d: str(d.relative_to(ROOT)))
def test_every_command_of_the_doc_runs_as_written(doc: Path, tmp_path: Path, torch_home: Path, ran_before: Path,
                                                  synthetic_cache: Path) -> None:  # fmt: skip
    folder = make_folder(tmp_path / "repo", torch_home)
    _link_tree(synthetic_cache, folder.path / SYNTHETIC_ROOT)
    for command in doc_commands(doc):
        if not_run_reason(command) is not None:
            folder.log.append(f"not run ({not_run_reason(command)}): {command}")
            continue
        started = time.monotonic()
        named = _replace_names(command)
        create_placeholders(named, folder)
        place_weights(named, folder)
        ensure_run(_replace(named, folder), folder)
        runnable = _replace(named, folder)
        step = make_step(runnable, folder.path)
        files = _own_files(folder.path)
        key = _shared_key(step, folder, files)
        if key is not None and (ran_before / key / "record.json").is_file():
            first_doc, changed = _reuse(ran_before / key, folder)
            folder.history += [key] * changed
            folder.log.append(f"ran in {first_doc} earlier this session: {command}")
            continue
        runs = len(folder.runs)
        result = _execute(step, folder)
        said = f"{doc.name}: {command}\n  ran: {shlex.join(step.argv)}\n  appended: {step.appended}"
        assert result.returncode == 0, f"{said}\nexit {result.returncode}:\n{result.stderr[-4000:]}"
        check_outputs(command, step, result, folder)
        if key is not None:
            try:
                (ran_before / key).mkdir()
            except FileExistsError:  # another worker ran it too, at the same time: its record stays, and this
                folder.history.append(f"{key} again in {doc}")  # folder's state is its own from here on
            else:
                folder.history += [key] * _keep(ran_before / key, doc, folder, files, runs)
        folder.log.append(f"ran ({time.monotonic() - started:.1f} s): {said}")
    print("\n".join(folder.log))


def test_every_spec_command_is_documented_as_written() -> None:
    """The spec's examples appear verbatim in the docs (docs/cli.md), so the test above runs each."""
    if not SPEC.is_file():
        pytest.skip(f"the spec is not beside this clone ({SPEC})")
    documented = {c for d in DOCS for c in doc_commands(d)}
    spec = [line.strip() for line in SPEC.read_text().splitlines() if line.strip().startswith("python3 -m vis4d")]
    assert spec and not [c for c in spec if c not in documented]


def test_commands_that_cannot_run_here_are_few_and_say_why() -> None:
    skipped = sorted({c for d in DOCS for c in doc_commands(d) if not_run_reason(c)})
    assert all(not_run_reason(c) for c in skipped) and len(skipped) <= 8, skipped
