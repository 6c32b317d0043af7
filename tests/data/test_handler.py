from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import torch

from vis4d.config.schema import FlipConfig, HandlerConfig, PhotometricConfig, ReferenceConfig, ResizeConfig
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
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    cols = empty_box_columns(3)
    cols["boxes"][:] = [[0, 0, 10, 10], [10, 10, 20, 20], [20, 20, 30, 30]]
    store = build_store(["car"], [FrameRecord("img.jpg", "img", 0, str(path), 40, 40, cols, image_id=4711)])
    cfg = HandlerConfig(
        transforms=[FlipConfig(prob=0.5), PhotometricConfig(prob=1.0)], reference=ReferenceConfig(num_ref=1)
    )
    sample = FrameDataset(store, cfg, ["car"], training=True)[0]
    key, ref = sample.views
    assert key.meta.image_id == 4711, "the dataset's own image id travels with the frame"
    assert key.targets.track_ids.tolist() == [0, 1, 2] == ref.targets.track_ids.tolist()
    # Same geometry (boxes pair up), different photometric distortion.
    torch.testing.assert_close(key.targets.boxes, ref.targets.boxes)
    assert key.meta == ref.meta and not torch.equal(key.image, ref.image)


def test_a_sample_is_a_function_of_its_row_and_seed_alone(tmp_path: Path) -> None:
    """Augmentations and reference frames come from the sample's seed, never from a global random state."""
    store = _store(tmp_path, videos=1, frames=6)
    cfg = HandlerConfig(
        transforms=[ResizeConfig(scales=[(40, 56), (30, 42)]), FlipConfig(), PhotometricConfig()],
        reference=ReferenceConfig(num_ref=2, scope=3),
    )
    dataset = FrameDataset(store, cfg, ["car", "pedestrian"], training=True)

    def draw(seed: int, torch_seed: int) -> list[tuple[int, int, bool, tuple[int, int]]]:
        torch.manual_seed(torch_seed)
        np.random.seed(torch_seed)
        samples = [dataset[(i, seed + i)] for i in range(6)]
        return [(v.meta.frame_row, int(v.image.sum()), v.meta.flipped, v.hw) for s in samples for v in s.views]

    assert draw(7, torch_seed=0) == draw(7, torch_seed=1) != draw(8, torch_seed=0)


def test_targets_and_meta_come_from_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path, videos=2, frames=2)
    sample = FrameDataset(store, HandlerConfig(), ["car", "pedestrian"], training=False)[np.int64(3)]  # type: ignore[index]
    (view,) = sample.views
    assert view.image.dtype == torch.uint8 and tuple(view.image.shape) == (3, 50, 70)
    targets = view.targets
    assert targets.boxes.dtype == torch.float32 and targets.class_ids.dtype == torch.int64
    assert targets.boxes.tolist() == [[2.0, 2.0, 21.0, 30.0], [30.0, 10.0, 60.0, 40.0]]
    assert targets.track_ids.tolist() == [10, 11] and targets.ignore.tolist() == [False, True]
    meta = view.meta
    assert (meta.name, meta.video_name, meta.frame_index, meta.frame_row) == ("v1_1.jpg", "v1", 1, 3)
    assert meta.original_hw == meta.input_hw == (50, 70) and meta.image_path == str(store.image_paths[3])


def test_collate_pads_to_divisor_and_normalises(tmp_path: Path) -> None:
    store = _store(tmp_path, videos=1, frames=1, size=(33, 65))
    cfg = HandlerConfig(mean=(10.0, 10.0, 10.0), std=(2.0, 2.0, 2.0), pad_divisor=32)
    collate = pickle.loads(pickle.dumps(make_collate(cfg)))
    batch = collate([FrameDataset(store, cfg, ["car", "pedestrian"], training=False)[0]])
    assert tuple(batch.images.shape) == (1, 3, 64, 96) and batch.refs == []
    assert batch.image_sizes == [(33, 65)]
    torch.testing.assert_close(batch.images[0, :, :33, :65], torch.full((3, 33, 65), -5.0), atol=0.5, rtol=0)
    assert float(batch.images[0, :, 33:].abs().sum()) == 0.0 and float(batch.images[0, :, :, 65:].abs().sum()) == 0.0
