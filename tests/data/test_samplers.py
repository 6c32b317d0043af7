from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vis4d.data.samplers import TrainingSampler, VideoInferenceSampler, split_videos
from vis4d.data.store import AnnotationStore, FrameRecord, build_store


def _store(lengths: list[int]) -> AnnotationStore:
    frames = [FrameRecord(f"v{v}-{i}", f"v{v}", i, "") for v, n in enumerate(lengths) for i in range(n)]
    return build_store(["car"], frames)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=9), st.integers(1, 4))
def test_every_frame_once_and_videos_whole(lengths: list[int], replicas: int) -> None:
    store = _store(lengths)
    video_of = store.frame_video_ids()
    seen: list[int] = []
    owners: dict[int, int] = {}
    for rank in range(replicas):
        sampler = VideoInferenceSampler(store, num_replicas=replicas, rank=rank)
        rows = list(sampler)
        assert len(sampler) == len(rows)
        seen.extend(rows)
        for video in {int(video_of[r]) for r in rows}:
            assert owners.setdefault(video, rank) == rank
            # All of the video's frames, consecutive and in temporal order.
            own = [r for r in rows if video_of[r] == video]
            assert own == list(store.frame_range(video))
        # Videos come in store order.
        assert [int(video_of[r]) for r in rows] == sorted(int(video_of[r]) for r in rows)
    assert sorted(seen) == list(range(store.num_frames))


def test_split_videos_balances_frames_largest_first() -> None:
    counts = np.array([10, 1, 1, 8, 2])
    parts = split_videos(counts, 2)
    assert sorted(int(counts[part].sum()) for part in parts) == [11, 11]
    assert split_videos(np.array([5]), 3) == [[0], [], []]


def test_defaults_to_single_process_and_checks_rank() -> None:
    store = _store([3, 2])
    assert list(VideoInferenceSampler(store)) == [0, 1, 2, 3, 4]
    assert list(VideoInferenceSampler(store, num_replicas=3, rank=2)) == []
    with pytest.raises(ValueError, match="rank 2"):
        VideoInferenceSampler(store, num_replicas=2, rank=2)


def test_training_order_is_a_function_of_seed_and_epoch() -> None:
    sampler = TrainingSampler(10, shuffle=True, seed=3)
    first = list(sampler)
    assert sorted(row for row, *_ in first) == list(range(10))
    assert list(TrainingSampler(10, shuffle=True, seed=3)) == first  # no global random state involved
    sampler.set_epoch(1)
    assert [row for row, *_ in sampler] != [row for row, *_ in first]
    assert [row for row, *_ in TrainingSampler(4, shuffle=False, seed=3)] == [0, 1, 2, 3]
    assert len({seed for _, seed, _ in first}) == 10  # every sample gets its own augmentation seed


def test_ranks_split_one_padded_order_and_keep_their_seeds() -> None:
    whole = list(TrainingSampler(7, shuffle=True, seed=5))
    ranks = [list(TrainingSampler(7, shuffle=True, seed=5, num_replicas=3, rank=r)) for r in range(3)]
    assert [len(part) for part in ranks] == [3, 3, 3]  # 7 padded to 9 by repeating the start
    interleaved = [ranks[i % 3][i // 3] for i in range(9)]
    assert [row for row, *_ in interleaved[:7]] == [row for row, *_ in whole]
    assert interleaved[:7] == whole  # the same (row, seed) whether one process trains or three


def test_resume_yields_the_rest_of_the_interrupted_epoch_only() -> None:
    sampler = TrainingSampler(10, shuffle=True, seed=1)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.resume(epoch=2, start=4, stop=8)  # 2 batches of 2 done; the epoch was limited to 4 batches
    assert list(sampler) == full[4:8]
    assert list(sampler) == full  # once: the next pass over the epoch is whole again
    sampler.resume(epoch=5, start=4, stop=8)
    assert list(sampler) == full  # another epoch's resume point does not apply
