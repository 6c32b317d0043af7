"""Live sources: which ``--input_dir`` is one, and a stream read frame by frame until it ends, drops or is stopped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mjpeg_server import MJPEGServer
from vis4d.common.errors import DataError
from vis4d.config.schema import HandlerConfig
from vis4d.data.stream import StreamDataset
from vis4d.data.stream_source import describe, is_stream_source, stream_name


@pytest.fixture(scope="module")
def server() -> Iterator[MJPEGServer]:
    served = MJPEGServer()
    yield served
    served.close()


def test_which_inputs_are_live_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert is_stream_source("0") and is_stream_source("rtsp://cam/live") and is_stream_source("HTTP://x/y.mjpg")
    assert not is_stream_source("frames/") and not is_stream_source("video.mp4") and not is_stream_source(None)
    assert not is_stream_source("file:///tmp/x.mp4")
    (tmp_path / "0").mkdir()
    assert not is_stream_source("0")  # an existing folder named 0 is a folder
    assert stream_name("rtsp://user:pw@cam.local:554/live/main.sdp") == "main"
    assert stream_name("http://10.0.0.7:8080/") == "10.0.0.7"
    assert describe("rtsp://user:secret@cam/live") == "rtsp://user:***@cam/live"


def test_a_stream_is_read_until_it_ends_or_drops(server: MJPEGServer) -> None:
    handler = HandlerConfig(transforms=[{"type": "resize", "shape": [32, 48]}])  # type: ignore[list-item]
    ended = StreamDataset(server.url("end/5/cam.mjpg"), handler, read_timeout_s=5)
    samples = list(ended)
    assert [s.views[0].meta.name for s in samples] == [f"cam-{i:06d}.jpg" for i in range(5)]
    assert samples[0].views[0].meta.original_hw == (64, 96) and samples[0].views[0].image.shape == (3, 32, 48)
    assert ended.frames == 5 and "the stream ended after 5 frames" in ended.end
    dropped = StreamDataset(server.url("drop/3/cam.mjpg"), handler, read_timeout_s=5)
    assert len(list(dropped)) == dropped.frames in (3, 4)  # FFmpeg may decode the half frame (grey below the cut)
    assert "the stream ended after" in dropped.end


def test_stop_ends_a_live_stream_after_the_frame_being_read(server: MJPEGServer) -> None:
    live = StreamDataset(server.url("live/cam.mjpg"), HandlerConfig(), read_timeout_s=5)
    count = 0
    for _ in live:
        count += 1
        if count == 4:
            threading.Thread(target=live.stop).start()  # as a signal handler would, from outside the loop
            threading.Event().wait(0.1)
    assert 4 <= count <= 5 and live.stopped and live.end.endswith(f"stopped after {live.frames} frames")


def test_a_source_that_does_not_open_is_one_line() -> None:
    with pytest.raises(DataError, match=r"--input_dir: cannot open camera 63 \(no such camera, or it is in use\)"):
        StreamDataset("63", HandlerConfig())
    with pytest.raises(DataError, match=r"--input_dir: cannot open http://127\.0\.0\.1:9/x \(no stream within 1 s\)"):
        StreamDataset("http://127.0.0.1:9/x", HandlerConfig(), open_timeout_s=1)
