from __future__ import annotations

import numpy as np

from vis4d.config.schema import ReferenceConfig
from vis4d.data.reference import sample_reference_frames
from vis4d.data.store import FrameRecord, build_store


def _store(lengths: list[int]):  # noqa: ANN202
    frames = [FrameRecord(f"v{v}-{i}", f"v{v}", i, "") for v, n in enumerate(lengths) for i in range(n)]
    return build_store(["car"], frames)


def test_uniform_references_stay_in_window_and_video() -> None:
    store = _store([10, 1, 4])
    rng = np.random.default_rng(0)
    for key in range(store.num_frames):
        video = int(np.searchsorted(store.video_offsets, key, side="right") - 1)
        start, stop = store.video_offsets[video], store.video_offsets[video + 1]
        refs = sample_reference_frames(store, key, ReferenceConfig(num_ref=2, scope=3), rng)
        assert len(refs) == 2
        for ref in refs:
            assert start <= ref < stop
            assert abs(ref - key) <= 3
            assert ref != key or stop - start == 1


def test_sequential_references_and_single_frame_videos() -> None:
    store = _store([5, 1])
    cfg = ReferenceConfig(num_ref=2, method="sequential")
    assert sample_reference_frames(store, 1, cfg, np.random.default_rng(0)) == [2, 3]
    assert sample_reference_frames(store, 4, cfg, np.random.default_rng(0)) == [4, 4]
    assert sample_reference_frames(store, 5, ReferenceConfig(), np.random.default_rng(0)) == [5]


def test_uniform_references_repeat_in_short_videos_and_vary() -> None:
    store = _store([2, 30])
    rng = np.random.default_rng(1)
    assert sample_reference_frames(store, 0, ReferenceConfig(num_ref=3, scope=5), rng) == [1, 1, 1]
    key = 2 + 15
    drawn = {r for _ in range(50) for r in sample_reference_frames(store, key, ReferenceConfig(scope=2), rng)}
    assert drawn == {key - 2, key - 1, key + 1, key + 2}  # every frame in the window, never the key


def test_references_follow_video_of_explicit_argument() -> None:
    store = _store([3, 3])
    refs = sample_reference_frames(store, 3, ReferenceConfig(num_ref=4, scope=1), np.random.default_rng(0), video=1)
    assert refs == [4, 4, 4, 4]
