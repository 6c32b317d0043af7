"""Mosaic, affine and mixup through the handler: boxes stay on their objects, draws are the sample's own,
the last epochs are plain, empty frames are fine, and reference views stay paired."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vis4d.common.structures import FrameMeta, Targets
from vis4d.config.schema import (
    AffineConfig,
    FlipConfig,
    HandlerConfig,
    HSVConfig,
    MixupConfig,
    MosaicConfig,
    ReferenceConfig,
    ResizeConfig,
)
from vis4d.data.handler import FrameDataset
from vis4d.data.mosaic import MixupParams, mixup_view, paste_regions
from vis4d.data.store import AnnotationStore, FrameRecord, build_store, empty_box_columns
from vis4d.data.transforms import View

CATEGORIES = ["car", "pedestrian"]
COLOURS = [(250, 20, 20), (20, 250, 20), (20, 20, 250), (250, 250, 20), (250, 20, 250), (20, 250, 250)]
SHAPE = (64, 96)


def _store(
    tmp_path: Path, videos: int = 3, frames: int = 3, boxes: int = 2, size: tuple[int, int] = (48, 80)
) -> AnnotationStore:
    """Gray frames with saturated boxes; objects keep their place and id within a video."""
    rng = np.random.default_rng(0)
    records = []
    for v in range(videos):
        places = [(int(rng.integers(0, size[1] - 20)), int(rng.integers(0, size[0] - 20))) for _ in range(boxes)]
        for i in range(frames):
            image = np.full((*size, 3), 60, np.uint8)
            cols = empty_box_columns(boxes)
            for k, (x, y) in enumerate(places):
                w, h = 8 + 3 * k, 14 - 2 * k
                image[y : y + h, x : x + w] = COLOURS[(v + k) % len(COLOURS)][::-1]  # written as BGR
                cols["boxes"][k] = [x, y, x + w, y + h]
                cols["class_ids"][k] = k % 2
                cols["track_ids"][k] = k
            path = tmp_path / f"v{v}_{i}.png"
            cv2.imwrite(str(path), image)
            records.append(FrameRecord(path.name, f"v{v}", i, str(path), size[1], size[0], cols))
    return build_store(CATEGORIES, records)


def _handler(**overrides: object) -> HandlerConfig:
    fields: dict[str, object] = {
        "transforms": [ResizeConfig(shape=SHAPE, rounding="floor", backend="opencv", box_scale="ratio")],
        "mosaic": MosaicConfig(shape=SHAPE),
        "affine": AffineConfig(degrees=0.0, shear=0.0, scale=(0.5, 1.5)),
    }
    fields.update(overrides)
    return HandlerConfig(**fields)  # type: ignore[arg-type]


def _object_pixels(view: View) -> np.ndarray:
    """Pixels of the saturated objects (not the gray background, the 114 canvas or a blended edge)."""
    image = view.image.to(torch.int32)
    return ((image.max(0).values - image.min(0).values) > 150).numpy()


def _covered(view: View, margin: int = 1) -> np.ndarray:
    covered = np.zeros(view.hw, bool)
    for x1, y1, x2, y2 in view.targets.boxes.tolist():
        top, left = max(0, int(y1) - margin), max(0, int(x1) - margin)
        covered[top : int(np.ceil(y2)) + margin, left : int(np.ceil(x2)) + margin] = True
    return covered


@pytest.mark.parametrize("degrees", [0.0, 10.0])
def test_boxes_stay_on_their_objects(tmp_path: Path, degrees: float) -> None:
    affine = AffineConfig(degrees=degrees, shear=2.0 if degrees else 0.0, scale=(0.5, 1.5))
    dataset = FrameDataset(_store(tmp_path), _handler(affine=affine), CATEGORIES, training=True)
    checked = 0
    for seed in range(12):
        view = dataset[(seed % 9, seed, 0)].views[0]
        assert view.hw == SHAPE
        objects = _object_pixels(view)
        assert not (objects & ~_covered(view)).any(), f"seed {seed}: object pixels outside every box"
        for x1, y1, x2, y2 in view.targets.boxes.round().int().tolist():
            if min(x2 - x1, y2 - y1) < 4:  # a sliver left at the border: its pixels are blended edges
                continue
            inside = objects[y1:y2, x1:x2]
            assert inside.mean() > (0.5 if degrees == 0 else 0.25), f"seed {seed}: a box without its object"
            checked += 1
    assert checked >= 20


def test_mixup_boxes_follow_the_blended_frame() -> None:
    base = View(torch.full((3, 40, 60), 0, dtype=torch.uint8), Targets.empty(), _meta((40, 60)))
    image = torch.full((3, 20, 30), 100, dtype=torch.uint8)
    image[:, 5:12, 20:28] = 200
    box = torch.tensor([[20.0, 5.0, 28.0, 12.0]])
    other = View(image, Targets(box, torch.tensor([1]), torch.tensor([3]), torch.tensor([False])), _meta((20, 30)))
    mixed = mixup_view(base, other, MixupParams(jitter=1.5, flip=True, offset=(4, 7)), pad_value=114)
    # Fitted x2, jittered x1.5 (a 60 x 90 frame), flipped, cropped from (y 4, x 7) to 40 x 60, clipped.
    assert mixed.hw == (40, 60)
    ((x1, y1, x2, y2),) = mixed.targets.boxes.tolist()
    assert (x1, y1, x2, y2) == pytest.approx((max(0, 90 - 28 * 3 - 7), 5 * 3 - 4, 90 - 20 * 3 - 7, 12 * 3 - 4))
    bright = (mixed.image[0] == 100).nonzero()  # 0.5 * 200 on the black base: the object
    assert bright[:, 1].min() >= x1 - 1 and bright[:, 1].max() <= x2 and bright[:, 0].min() >= y1 - 1
    assert mixed.targets.track_ids.tolist() == [3] and mixed.targets.class_ids.tolist() == [1]


def _meta(hw: tuple[int, int]) -> FrameMeta:
    return FrameMeta("f", "v", 0, "f.png", hw, hw)


def test_paste_regions_cut_at_the_canvas() -> None:
    # A 30 x 50 image top-left of the centre (20, 40) on a 2 x (32, 48) canvas: only its bottom-right 20 x 40 fits.
    assert paste_regions(0, (20, 40), (30, 50), (32, 48)) == ((0, 0, 40, 20), (10, 10, 50, 30))
    # Bottom-right of a centre near the far corner: cut at 2 x the shape.
    assert paste_regions(3, (60, 90), (30, 50), (32, 48)) == ((90, 60, 96, 64), (0, 0, 6, 4))


def test_draws_are_the_samples_own(tmp_path: Path) -> None:
    cfg = _handler(affine=AffineConfig(), mixup=MixupConfig(), transforms=[HSVConfig(), FlipConfig()])
    dataset = FrameDataset(_store(tmp_path), cfg, CATEGORIES, training=True)
    first, again, other = dataset[(4, 11, 0)].views[0], dataset[(4, 11, 0)].views[0], dataset[(4, 12, 0)].views[0]
    assert torch.equal(first.image, again.image) and torch.equal(first.targets.boxes, again.targets.boxes)
    assert not torch.equal(first.image, other.image)


def test_the_last_epochs_are_plain(tmp_path: Path) -> None:
    store = _store(tmp_path)
    mosaic = FrameDataset(store, _handler(), CATEGORIES, training=True, no_aug_from_epoch=3)
    plain = FrameDataset(store, _handler(mosaic=None, affine=None), CATEGORIES, training=True)
    before, after = mosaic[(2, 5, 2)].views[0], mosaic[(2, 5, 3)].views[0]
    assert before.hw == SHAPE  # a mosaic, warped into the input size
    expected = plain[(2, 5, 3)].views[0]
    assert torch.equal(after.image, expected.image) and torch.equal(after.targets.boxes, expected.targets.boxes)
    assert after.hw != SHAPE  # fitted, not a mosaic: 48 x 80 frames into 64 x 96 -> 57 x 96


def test_frames_without_boxes(tmp_path: Path) -> None:
    cfg = _handler(affine=AffineConfig(), mixup=MixupConfig(), min_box_size=1.0)
    dataset = FrameDataset(_store(tmp_path, boxes=0), cfg, CATEGORIES, training=True)
    for seed in range(4):
        view = dataset[(seed, seed, 0)].views[0]
        assert view.hw == SHAPE and len(view.targets.boxes) == 0 and view.targets.boxes.shape == (0, 4)


def test_reference_views_share_the_mosaic(tmp_path: Path) -> None:
    """Key and reference mosaics: one layout of the same four samples; an object's boxes stay paired."""
    cfg = _handler(affine=AffineConfig(), mixup=MixupConfig(), reference=ReferenceConfig(num_ref=1, scope=2))
    dataset = FrameDataset(_store(tmp_path), cfg, CATEGORIES, training=True)
    for seed in range(6):
        key, ref = dataset[(seed % 9, seed, 0)].views
        assert key.hw == ref.hw == SHAPE
        ids = key.targets.track_ids.tolist()
        assert len(set(ids)) == len(ids), "samples share no track id"
        assert key.targets.track_ids.tolist() == ref.targets.track_ids.tolist()  # the objects do not move
        assert torch.allclose(key.targets.boxes, ref.targets.boxes)
