"""Reference-frame sampling for training trackers on key/reference pairs of one video."""

from __future__ import annotations

import numpy as np

from vis4d.config.schema import ReferenceConfig
from vis4d.data.store import AnnotationStore


def sample_reference_frames(
    store: AnnotationStore, key_row: int, cfg: ReferenceConfig, rng: np.random.Generator, video: int | None = None
) -> list[int]:
    """Frame rows of ``cfg.num_ref`` reference frames for the key frame ``key_row``.

    ``uniform`` draws from the frames within ``+-scope`` positions of the key in
    the same video (never the key itself unless the video has one frame);
    ``sequential`` takes the next ``num_ref`` frames, clamped at the video's
    end. A one-frame video (an image dataset) returns the key itself.
    """
    if video is None:
        video = int(np.searchsorted(store.video_offsets, key_row, side="right") - 1)
    start, stop = int(store.video_offsets[video]), int(store.video_offsets[video + 1])
    if stop - start <= 1:
        return [key_row] * cfg.num_ref
    if cfg.method == "sequential":
        return [min(key_row + i, stop - 1) for i in range(1, cfg.num_ref + 1)]
    low, high = max(start, key_row - cfg.scope), min(stop - 1, key_row + cfg.scope)
    candidates = np.concatenate([np.arange(low, key_row), np.arange(key_row + 1, high + 1)])
    if len(candidates) == 0:
        return [key_row] * cfg.num_ref
    replace = len(candidates) < cfg.num_ref
    return [int(r) for r in rng.choice(candidates, size=cfg.num_ref, replace=replace)]
