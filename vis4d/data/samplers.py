"""Samplers that keep videos whole: every video's frames in order on one process."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler

from vis4d.data.store import AnnotationStore


def split_videos(frame_counts: np.ndarray, num_replicas: int) -> list[list[int]]:
    """Assign videos to replicas, balancing frames (largest video first, to the least loaded replica)."""
    loads = np.zeros(num_replicas, dtype=np.int64)
    assignment: list[list[int]] = [[] for _ in range(num_replicas)]
    for video in np.argsort(-frame_counts, kind="stable"):
        target = int(np.argmin(loads))
        assignment[target].append(int(video))
        loads[target] += frame_counts[video]
    return [sorted(videos) for videos in assignment]


class VideoInferenceSampler(Sampler[int]):
    """Yields this process's frame rows: whole videos, frames in temporal order.

    Under DDP each rank gets a disjoint set of videos, so a tracker's state is
    never split across processes and no frame is evaluated twice.
    """

    def __init__(self, store: AnnotationStore, num_replicas: int | None = None, rank: int | None = None) -> None:
        if num_replicas is None:
            num_replicas = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        if rank is None:
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"VideoInferenceSampler: rank {rank} is not in [0, {num_replicas})")
        counts = np.diff(store.video_offsets)
        videos = split_videos(counts, num_replicas)[rank]
        self.rows = (
            np.concatenate([np.arange(store.video_offsets[v], store.video_offsets[v + 1]) for v in videos])
            if videos
            else np.zeros(0, dtype=np.int64)
        ).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows.tolist())

    def __len__(self) -> int:
        return len(self.rows)
