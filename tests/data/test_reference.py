from __future__ import annotations

import numpy as np

from vis4d.config.schema import ReferenceConfig
from vis4d.data.reference import sample_reference_frames
from vis4d.data.samplers import VideoInferenceSampler, split_videos
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


def test_inference_sampler_keeps_videos_whole_and_covers_all_frames() -> None:
    store = _store([7, 3, 5, 2, 6])
    seen: list[int] = []
    for rank in range(3):
        rows = list(VideoInferenceSampler(store, num_replicas=3, rank=rank))
        seen.extend(rows)
        videos = np.searchsorted(store.video_offsets, rows, side="right") - 1
        for video in set(videos.tolist()):
            own = [r for r, v in zip(rows, videos) if v == video]
            assert own == list(range(store.video_offsets[video], store.video_offsets[video + 1]))
    assert sorted(seen) == list(range(store.num_frames))
    assert list(VideoInferenceSampler(store)) == list(range(store.num_frames))


def test_split_videos_balances_frames() -> None:
    parts = split_videos(np.array([10, 1, 1, 8, 2]), 2)
    loads = [sum([10, 1, 1, 8, 2][v] for v in part) for part in parts]
    assert sorted(loads) == [11, 11]
