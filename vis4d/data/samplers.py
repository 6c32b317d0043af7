"""Samplers: a resumable training order, and whole videos in frame order for inference.

:class:`TrainingSampler` makes every random choice of an epoch a function of
``(seed, epoch, position)``: the frame order is a permutation drawn from
``(seed, epoch)``, and each frame carries its own augmentation seed. Nothing
depends on a global random state, on the number of data loader workers or on
how far they prefetched, so a run resumed in the middle of an epoch sees the
same frames with the same augmentations as the run that was interrupted.
:class:`VideoInferenceSampler` keeps every video's frames in order on one
process.
"""

from __future__ import annotations

import math
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
    never split across processes and no frame is evaluated twice. ``skip``
    leaves rows out (what a resumed prediction run finished before); the
    assignment of videos to ranks does not change with it.
    """

    def __init__(
        self,
        store: AnnotationStore,
        num_replicas: int | None = None,
        rank: int | None = None,
        skip: np.ndarray | None = None,
    ) -> None:
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
        if skip is not None and len(skip):  # rows an interrupted prediction run finished (predict --resume)
            self.rows = self.rows[~np.isin(self.rows, skip)]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows.tolist())

    def __len__(self) -> int:
        return len(self.rows)


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """The augmentation seed of the frame at ``position`` of ``epoch``'s order (same on every rank and resume)."""
    return int(np.random.SeedSequence([seed, epoch, position]).generate_state(1, dtype=np.uint64)[0] >> 1)


class TrainingSampler(Sampler[tuple[int, int, int]]):
    """Yields ``(frame row, augmentation seed, epoch)``: a per-epoch permutation (or order), split across ranks.

    The epoch travels with every index so that the dataset, in whichever
    worker process it runs, knows which part of the recipe a sample belongs
    to (the last epochs without mosaic) exactly as the trainer counts them,
    resumed runs included.

    Like torch's ``DistributedSampler`` (Lightning calls :meth:`set_epoch`),
    the order is padded to a multiple of ``num_replicas`` by repeating its
    start. :meth:`resume` makes the next pass over ``epoch`` yield only the
    part of this rank's order that an interrupted run had not trained on.
    """

    def __init__(self, num_samples: int, shuffle: bool, seed: int, num_replicas: int = 1, rank: int = 0) -> None:
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"TrainingSampler: rank {rank} is not in [0, {num_replicas})")
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._resume: tuple[int, int, int] | None = None  # (epoch, first position, end position) on this rank

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before every training epoch."""
        self.epoch = epoch

    def resume(self, epoch: int, start: int, stop: int) -> None:
        """The next pass over ``epoch`` yields this rank's positions ``start`` to ``stop`` only."""
        self._resume = (epoch, start, stop)

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.num_replicas)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        padded = len(self) * self.num_replicas
        if padded > self.num_samples > 0:
            order = np.resize(order, padded)  # repeats the start, as DistributedSampler pads
        start, stop = 0, len(self)
        if self._resume is not None and self._resume[0] == self.epoch:
            start, stop = self._resume[1], min(self._resume[2], len(self))
            self._resume = None
        for position in range(start, stop):
            global_position = position * self.num_replicas + self.rank
            yield int(order[global_position]), sample_seed(self.seed, self.epoch, global_position), self.epoch
