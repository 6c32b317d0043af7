"""``predict --input_dir URL`` (or a camera): frames as they come; the end, a drop or Ctrl-C leave complete files."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import fork_server
from tests.engine.conftest import run_cli, write_tiny_config
from tests.mjpeg_server import MJPEGServer
from vis4d import Tracker


@pytest.fixture(scope="module")
def server() -> Iterator[MJPEGServer]:
    served = MJPEGServer(fps=25.0)
    yield served
    served.close()


def _predict(config: Path, source: str, version: str, *extra: str) -> list[str]:
    return ["predict", "--config", str(config), "--weights", "none", "--input_dir", source, "--work_dir",
            str(config.parent / "ws"), "--exp_name", "e", "--version", version, "--output_format",
            "scalabel,motchallenge", "--stream_timeout", "5", *extra]  # fmt: skip


def _check_files(run: Path, frames: int | tuple[int, int]) -> list[dict[str, object]]:
    """Both files are complete and valid, and hold the same frames, named in order, with track ids."""
    predictions = run / "predict" / "predictions"
    written = json.loads((predictions / "cam.json").read_text())
    count = len(written)
    assert count == frames if isinstance(frames, int) else frames[0] <= count <= frames[1], count
    assert [frame["name"] for frame in written] == [f"cam-{i:06d}.jpg" for i in range(count)]
    assert all(frame["videoName"] == "cam" for frame in written)
    lines = np.loadtxt(predictions / "motchallenge" / "cam.txt", delimiter=",", ndmin=2)
    assert sum(len(frame["labels"]) for frame in written) == len(lines) > 0  # type: ignore[arg-type]
    assert lines[:, 0].max() <= count and (lines[:, 1] >= 0).all()
    assert not [p for p in predictions.rglob(".*") if p.is_file()]  # no temporary file left
    return written


def test_a_stream_that_ends_or_drops_leaves_complete_files(server: MJPEGServer, tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    ended = run_cli(*_predict(config, server.url("end/6/cam.mjpg"), "end"), cwd=tmp_path)
    assert ended.returncode == 0, ended.stderr[-3000:]
    assert "the stream ended after 6 frames (its end, a dropped connection, or no frame within 5 s)" in ended.stdout
    _check_files(tmp_path / "ws" / "e" / "end", 6)
    dropped = run_cli(*_predict(config, server.url("drop/4/cam.mjpg"), "drop"), cwd=tmp_path)
    assert dropped.returncode == 0, dropped.stderr[-3000:]
    _check_files(tmp_path / "ws" / "e" / "drop", (4, 5))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_ends_a_live_stream_with_complete_files(
    server: MJPEGServer, tmp_path: Path, signum: signal.Signals
) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    child = fork_server().start("trainer", _predict(config, server.url("live/cam.mjpg"), "live"), tmp_path,
                                {"PYTHONWARNINGS": "ignore"})  # fmt: skip
    deadline = time.monotonic() + 120
    started = server.sent
    while server.sent < started + 15 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the camera has sent frames: the run reads and predicts them
    child.send_signal(signum)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signum, err[-3000:]
    assert "Traceback" not in err
    final = [line for line in err.splitlines() if line.strip()][-1]
    assert final.startswith(f"{signum.name}: {server.url('live/cam.mjpg')}: stopped after ")
    assert final.endswith("frames; the prediction files are complete")
    frames = int(final.split("stopped after ")[1].split()[0])
    assert frames >= 1
    _check_files(tmp_path / "ws" / "e" / "live", frames)


def test_sources_that_cannot_be_read_are_one_line(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "detector")
    camera = run_cli(*_predict(config, "57", "a"), cwd=tmp_path)
    assert camera.returncode == 2
    assert camera.stderr.strip().splitlines()[-1] == "error: --input_dir: cannot open camera 57 (no such camera, or " \
        "it is in use)"  # fmt: skip
    drawn = run_cli(*_predict(config, "rtsp://127.0.0.1:9/live", "b", "--visualize"), cwd=tmp_path)
    assert drawn.returncode == 2
    assert (
        drawn.stderr.strip()
        .splitlines()[-1]
        .startswith("error: --visualize: the frames of rtsp://127.0.0.1:9/live are not kept to draw on")
    )
    resumed = run_cli(*_predict(config, "rtsp://127.0.0.1:9/live", "c", "--resume"), cwd=tmp_path)
    assert resumed.returncode == 2
    assert resumed.stderr.strip().splitlines()[-1] == (
        "error: --resume: rtsp://127.0.0.1:9/live is a live source (a camera or stream URL); it cannot resume"
    )


def test_the_python_api_tracks_a_stream(server: MJPEGServer, tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, "qdtrack")
    tracker = Tracker.from_config(config, weights="none", device="cpu")
    frames = list(tracker.track(server.url("end/5/cam.mjpg")))
    assert [f.meta.name for f in frames] == [f"cam-{i:06d}.jpg" for i in range(5)]
    assert all(f.track_ids is not None for f in frames) and sum(len(f.boxes) for f in frames) > 0
    assert frames[0].meta.original_hw == (64, 96)
