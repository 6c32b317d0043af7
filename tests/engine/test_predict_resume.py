"""``predict`` killed half way, then ``predict --resume``: the final files equal an uninterrupted run's, byte for byte.

Two shapes of input: several videos through a tracker (the journal holds whole
videos; track ids continue where the uninterrupted run's would) and one long
video through a detector (chunks of frames inside the video). Kills come from
outside at a random moment (``kill -9`` of the process group) or, for exact
points such as "every frame done, files being closed", from inside
(``kill_after_segments.py``, test code). What a kill leaves must be valid:
every file under its final name is complete and equal to the uninterrupted
run's file of that name.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from tests.conftest import fork_server
from tests.engine.conftest import write_tiny_config
from tests.fork_server import Completed

ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
KILLER = Path(__file__).with_name("kill_after_segments.py")
FORMATS = "scalabel,bdd100k,motchallenge,coco"
# (model, test set, journal segments, frames): 5 videos of 4 frames; one video of 25 frames in chunks of 10
# (--journal_frames 10, see _predict).
CASES = [("qdtrack", "test.0.num_videos=5,test.0.frames_per_video=4", 5, 20),
         ("detector", "test.0.num_videos=1,test.0.frames_per_video=25", 3, 25)]  # fmt: skip


def _predict(config: Path, version: str, data: str, *extra: str) -> list[str]:
    """``predict`` with the model's seeded random weights (no training needed) into ``ws/e/<version>``."""
    workspace = ["--work_dir", str(config.parent / "ws"), "--exp_name", "e", "--version", version]
    options = ["--weights", "none", "--cfg-options", data, "--output_format", FORMATS, "--journal_frames", "10"]
    return ["predict", "--config", str(config), *workspace, *options, *extra]


def _run(command: list[str], cwd: Path) -> Completed:
    result = fork_server().run("trainer", command, cwd, ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under its final name (temporary files start with a dot), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
            and not p.name.startswith(".")}  # fmt: skip


def _reference(config: Path, data: str) -> dict[str, bytes]:
    _run(_predict(config, "ref", data), config.parent)
    files = _files(config.parent / "ws" / "e" / "ref" / "predict" / "predictions")
    assert any(b'"box2d"' in data for data in files.values()), "the model predicts nothing: a weak comparison"
    return files


def _check_left_valid(run_dir: Path, reference: dict[str, bytes]) -> None:
    """After a kill: whatever is under a final name is complete, the same as the uninterrupted run's file."""
    for name, data in _files(run_dir / "predict" / "predictions").items():
        assert data == reference[name], f"{name} left by the kill differs from the uninterrupted run's"
        if name.endswith(".json"):
            json.loads(data)


def _check_resumed(run_dir: Path, reference: dict[str, bytes], result: Completed) -> None:
    assert _files(run_dir / "predict" / "predictions") == reference
    settings = json.loads((run_dir / "predict" / "progress" / "settings.json").read_text())
    assert settings["finished"] is True and not list((run_dir / "predict" / "progress").glob("*/*.npz"))
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("model", "data", "segments", "frames"), CASES)
def test_predict_killed_at_a_random_moment_resumes_to_the_same_files(
    tmp_path: Path, model: str, data: str, segments: int, frames: int
) -> None:
    config = write_tiny_config(tmp_path, model)
    reference = _reference(config, data)
    journaled = random.randrange(segments)  # kill once this many segments are journaled, a random moment later
    delay = random.uniform(0.0, 0.3)
    process = fork_server().start("trainer", _predict(config, "killed", data), tmp_path, ENV)
    progress = tmp_path / "ws" / "e" / "killed" / "predict" / "progress"
    # The run has started its journal (settings.json) and journaled that many segments; then a random moment later.
    while process.poll() is None and (
        not (progress / "settings.json").exists() or len(list(progress.glob("*/*.npz"))) < journaled
    ):
        time.sleep(0.01)
    time.sleep(delay)
    process.kill()
    process.wait(60)
    # The random moment may come after the run marked itself finished (it was exiting): nothing to resume then.
    finished_first = json.loads((progress / "settings.json").read_text())["finished"]
    where = f"killed after {journaled} segments + {delay:.2f} s"
    run_dir = tmp_path / "ws" / "e" / "killed"
    _check_left_valid(run_dir, reference)
    resumed = _run(_predict(config, "killed", data, "--resume"), tmp_path)
    said = "is complete already; nothing to do" if finished_first else f"of {frames} frames were finished"
    assert "predict --resume: " in resumed.stdout and said in resumed.stdout, where
    _check_resumed(run_dir, reference, resumed)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "data", "segments", "frames"), CASES)
def test_predict_killed_after_each_segment_and_while_closing_resumes_to_the_same_files(
    tmp_path: Path, model: str, data: str, segments: int, frames: int
) -> None:
    """Killed right after segment 1, then (resumed) after the next ... up to after the last, while closing files."""
    config = write_tiny_config(tmp_path, model)
    reference = _reference(config, data)
    run_dir = tmp_path / "ws" / "e" / "killed"
    command = _predict(config, "killed", data)
    for attempt in range(segments):  # each resumed run journals one more segment, then dies
        killed = fork_server().run("script", [str(KILLER), "1", *command], tmp_path, ENV, timeout=300)
        assert killed.returncode == -9, killed.stderr[-3000:]
        _check_left_valid(run_dir, reference)
        assert len(list((run_dir / "predict" / "progress").glob("*/*.npz"))) == attempt + 1
        command = _predict(config, "killed", data, "--resume")
    # Every frame is journaled, no dataset-level file exists: the resumed run infers nothing and writes them.
    assert not (run_dir / "predict" / "predictions" / "tiny_test.json").exists()
    resumed = _run(command, tmp_path)
    assert f"predict --resume: {frames} of {frames} frames were finished" in resumed.stdout
    _check_resumed(run_dir, reference, resumed)
    again = _run(command, tmp_path)
    assert f"predict --resume: {run_dir / 'predict'} is complete already; nothing to do" in again.stdout


@pytest.mark.slow
def test_resume_refuses_other_settings_and_a_plain_predict_starts_over(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    data = "test.0.num_videos=2,test.0.frames_per_video=3"
    command = _predict(config, "v", data)
    killed = fork_server().run("script", [str(KILLER), "1", *command], tmp_path, ENV, timeout=300)
    assert killed.returncode == -9
    other = [*command, "--resume", "--output_format", "coco"]
    refused = fork_server().run("trainer", other, tmp_path, ENV, timeout=300)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: --resume: {tmp_path / 'ws' / 'e' / 'v' / 'predict'} was predicted with other outputs than this "
        "run's; run predict without --resume to start over (or give another --version)"
    )
    fresh = _run(command, tmp_path)  # no --resume: the journal of the killed run is dropped, everything predicted
    assert "predict --resume" not in fresh.stdout
    settings = json.loads((tmp_path / "ws" / "e" / "v" / "predict" / "progress" / "settings.json").read_text())
    assert settings["finished"] is True
    nothing = _run(_predict(config, "new", data, "--resume"), tmp_path)  # nothing to resume: predicts everything
    assert "holds no interrupted prediction run; predicting everything" in nothing.stderr
    assert _files(tmp_path / "ws" / "e" / "new" / "predict" / "predictions") == _files(
        tmp_path / "ws" / "e" / "v" / "predict" / "predictions"
    )
