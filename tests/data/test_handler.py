from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from vis4d.config.schema import FlipConfig, HandlerConfig, ReferenceConfig, ResizeConfig
from vis4d.data.handler import FrameDataset, make_collate
from vis4d.data.store import FrameRecord, build_store, empty_box_columns


def _store(tmp_path: Path, videos: int = 2, frames: int = 4, size: tuple[int, int] = (50, 70)):  # noqa: ANN202
    records = []
    for v in range(videos):
        for i in range(frames):
            path = tmp_path / f"v{v}_{i}.jpg"
            cv2.imwrite(str(path), np.full((*size, 3), 40 * i, np.uint8))
            cols = empty_box_columns(2)
            cols["boxes"][:] = [[1 + i, 2, 20 + i, 30], [30, 10, 60, 40]]
            cols["class_ids"][:] = [0, 1]
            cols["track_ids"][:] = [v * 10, v * 10 + 1]
            cols["ignore"][:] = [False, True]
            records.append(FrameRecord(f"v{v}_{i}.jpg", f"v{v}", i, str(path), size[1], size[0], cols))
    return build_store(["car", "pedestrian"], records)


def test_training_samples_have_aligned_references(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cfg = HandlerConfig(
        transforms=[ResizeConfig(shape=(40, 56)), FlipConfig(prob=0.5)],
        batch_size=2,
        reference=ReferenceConfig(num_ref=1, scope=2),
    )
    dataset = FrameDataset(store, cfg, ["car", "pedestrian"], training=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, collate_fn=make_collate(cfg))
    batch = next(iter(loader))
    assert batch.images.shape[0] == 3 and len(batch.refs) == 1
    assert batch.images.shape[-2] % 32 == 0 and batch.images.shape[-1] % 32 == 0
    assert batch.refs[0].images.shape == batch.images.shape
    for key_meta, ref_meta, key_t, ref_t in zip(batch.meta, batch.refs[0].meta, batch.targets, batch.refs[0].targets):
        assert key_meta.video_name == ref_meta.video_name
        assert abs(key_meta.frame_index - ref_meta.frame_index) <= 2
        assert key_meta.flipped == ref_meta.flipped and key_meta.input_hw == ref_meta.input_hw
        assert key_t.track_ids.tolist() == ref_t.track_ids.tolist()
        assert key_t.ignore.tolist() == [False, True]
    # Normalised values, padded area zero.
    h, w = batch.meta[0].input_hw
    assert float(batch.images[0, :, h:, :].abs().sum()) == 0.0


def test_inference_samples_map_back_to_original(tmp_path: Path) -> None:
    store = _store(tmp_path, videos=1, frames=1, size=(100, 140))
    cfg = HandlerConfig(transforms=[ResizeConfig(shape=(50, 70))], batch_size=1)
    sample = FrameDataset(store, cfg, ["car", "pedestrian"], training=False)[0]
    assert len(sample.views) == 1
    view = sample.views[0]
    assert view.meta.original_hw == (100, 140) and view.meta.input_hw == (50, 70)
    torch.testing.assert_close(view.targets.boxes[0], torch.tensor([0.5, 1.0, 10.0, 15.0]))


def test_images_without_tracks_are_their_own_reference(tmp_path: Path) -> None:
    path = tmp_path / "img.jpg"
    cv2.imwrite(str(path), np.zeros((40, 40, 3), np.uint8))
    cols = empty_box_columns(3)
    cols["boxes"][:] = [[0, 0, 10, 10], [10, 10, 20, 20], [20, 20, 30, 30]]
    store = build_store(["car"], [FrameRecord("img.jpg", "img", 0, str(path), 40, 40, cols)])
    cfg = HandlerConfig(transforms=[FlipConfig(prob=0.5)], reference=ReferenceConfig(num_ref=1))
    sample = FrameDataset(store, cfg, ["car"], training=True)[0]
    key, ref = sample.views
    assert key.targets.track_ids.tolist() == [0, 1, 2] == ref.targets.track_ids.tolist()
