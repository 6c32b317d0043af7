from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FrameMeta, Targets, to_original_coordinates
from vis4d.config.schema import CropConfig, FlipConfig, PhotometricConfig, ResizeConfig, TransformConfig
from vis4d.data.transforms import View, apply_transforms, build_transforms


def _view(height: int, width: int, boxes: np.ndarray) -> View:
    n = len(boxes)
    targets = Targets(
        torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        torch.arange(n) % 3,
        torch.arange(n) + 10,
        torch.arange(n) % 2 == 0,
    )
    meta = FrameMeta("f", "v", 0, "", (height, width), (height, width))
    image = torch.randint(0, 255, (3, height, width), dtype=torch.uint8)
    return View(image, targets, meta)


@st.composite
def views(draw: st.DrawFn) -> View:
    height = draw(st.integers(20, 90))
    width = draw(st.integers(20, 120))
    n = draw(st.integers(0, 6))
    boxes = []
    for _ in range(n):
        x1 = draw(st.floats(0, width - 2))
        y1 = draw(st.floats(0, height - 2))
        boxes.append([x1, y1, draw(st.floats(x1 + 1, width)), draw(st.floats(y1 + 1, height))])
    return _view(height, width, np.array(boxes, dtype=np.float32).reshape(-1, 4))


PIPELINE: list[TransformConfig] = [
    ResizeConfig(shape=(48, 64), keep_ratio=True, scales=[(40, 64), (56, 80)]),
    FlipConfig(prob=0.5),
    CropConfig(shape=(32, 48), min_size=1.0),
    PhotometricConfig(prob=1.0),
]


@settings(max_examples=40, deadline=None)
@given(views(), st.integers(0, 2**31 - 1))
def test_geometric_transforms_keep_boxes_inside_and_pairs_consistent(view: View, seed: int) -> None:
    transforms = build_transforms(PIPELINE)
    key, ref = apply_transforms([view, view], transforms, np.random.default_rng(seed))
    for out in (key, ref):
        height, width = out.hw
        assert out.meta.input_hw == (height, width)
        boxes = out.targets.boxes
        assert bool((boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width).all())
        assert bool((boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height).all())
        assert bool((boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all())
        assert len(out.targets.track_ids) == len(boxes) == len(out.targets.ignore) == len(out.targets.class_ids)
    # Same parameters for key and reference: identical geometry, ids and flags.
    torch.testing.assert_close(key.targets.boxes, ref.targets.boxes)
    assert key.targets.track_ids.tolist() == ref.targets.track_ids.tolist()
    assert key.meta == ref.meta
    # Ignore flags and classes travel with their track id.
    for tid, ignore, cls in zip(key.targets.track_ids, key.targets.ignore, key.targets.class_ids):
        assert bool(ignore) == ((int(tid) - 10) % 2 == 0) and int(cls) == (int(tid) - 10) % 3


@settings(max_examples=40, deadline=None)
@given(views(), st.integers(0, 2**31 - 1))
def test_resize_flip_crop_are_inverted_exactly(view: View, seed: int) -> None:
    transforms = build_transforms(
        [ResizeConfig(shape=(60, 90)), FlipConfig(prob=0.5), CropConfig(shape=(50, 200), min_size=0)]
    )
    (out,) = apply_transforms([view], transforms, np.random.default_rng(seed))
    # Boxes fully inside the crop come back to where they were.
    inside = (out.targets.boxes[:, 1] > 0) & (out.targets.boxes[:, 3] < out.hw[0])
    back = to_original_coordinates(out.targets.boxes[inside], out.meta)
    original = view.targets.boxes[torch.isin(view.targets.track_ids, out.targets.track_ids[inside])]
    torch.testing.assert_close(back, original, atol=1e-3, rtol=1e-4)


def test_flip_mirrors_boxes_and_image() -> None:
    view = _view(10, 20, np.array([[2, 1, 6, 5]], dtype=np.float32))
    (out,) = apply_transforms([view], build_transforms([FlipConfig(prob=1.0)]), np.random.default_rng(0))
    assert out.targets.boxes.tolist() == [[14, 1, 18, 5]]
    assert torch.equal(out.image, view.image.flip(-1)) and out.meta.flipped


def test_keep_ratio_resize_fits_inside_shape() -> None:
    view = _view(720, 1280, np.array([[0, 0, 1280, 720]], dtype=np.float32))
    (out,) = apply_transforms([view], build_transforms([ResizeConfig(shape=(192, 320))]), np.random.default_rng(0))
    assert out.hw == (180, 320)
    torch.testing.assert_close(out.targets.boxes, torch.tensor([[0.0, 0.0, 320.0, 180.0]]))


def test_crop_drops_boxes_outside() -> None:
    view = _view(40, 40, np.array([[0, 0, 10, 10], [30, 30, 40, 40]], dtype=np.float32))
    transforms = build_transforms([CropConfig(shape=(20, 20), min_size=2)])
    (out,) = apply_transforms([view], transforms, np.random.default_rng(0))
    assert len(out.targets.boxes) <= 2 and out.hw == (20, 20)
    (top_left,) = [t.apply(view, (0.0, 0.0)) for t in transforms]
    assert top_left.targets.track_ids.tolist() == [10]


def test_geometric_order_is_enforced() -> None:
    with pytest.raises(ConfigError, match="resize, flip, crop"):
        build_transforms([FlipConfig(), ResizeConfig()])


def test_crop_drops_boxes_left_outside_even_without_min_size() -> None:
    view = _view(40, 40, np.array([[0, 0, 10, 10], [30, 30, 40, 40]], dtype=np.float32))
    (crop,) = build_transforms([CropConfig(shape=(20, 20), min_size=0)])
    out = crop.apply(view, (0.0, 0.0))
    assert out.targets.track_ids.tolist() == [10] and out.targets.ignore.tolist() == [True]
    assert out.meta.crop_offset == (0.0, 0.0) and out.meta.input_hw == (20, 20)


def test_multi_scale_resize_picks_among_scales() -> None:
    (resize,) = build_transforms([ResizeConfig(scales=[(40, 80), (60, 120)], keep_ratio=True)])
    rng = np.random.default_rng(0)
    picked = {resize.sample_params(rng, (100, 200)) for _ in range(30)}
    assert picked == {(40, 80), (60, 120)}
    out = resize.apply(_view(100, 200, np.zeros((0, 4), np.float32)), (60, 120))
    assert out.hw == (60, 120) and out.meta.scale == (0.6, 0.6)


def test_fixed_shape_resize_ignores_aspect_ratio() -> None:
    view = _view(50, 100, np.array([[10, 10, 20, 20]], dtype=np.float32))
    transforms = build_transforms([ResizeConfig(shape=(50, 50), keep_ratio=False)])
    (out,) = apply_transforms([view], transforms, np.random.default_rng(0))
    assert out.hw == (50, 50)
    torch.testing.assert_close(out.targets.boxes, torch.tensor([[5.0, 10.0, 10.0, 20.0]]))
    torch.testing.assert_close(to_original_coordinates(out.targets.boxes, out.meta), view.targets.boxes)


def test_photometric_changes_pixels_not_boxes_and_can_differ_per_view() -> None:
    view = _view(16, 16, np.array([[1, 1, 5, 5]], dtype=np.float32))
    transforms = build_transforms([FlipConfig(prob=0.5), PhotometricConfig(prob=1.0, hue=0.2)])
    shared = apply_transforms([view, view], transforms, np.random.default_rng(3))
    assert torch.equal(shared[0].image, shared[1].image)
    independent = apply_transforms([view, view], transforms, np.random.default_rng(3), independent_photometric=True)
    key, ref = independent
    assert not torch.equal(key.image, ref.image)
    assert key.meta.flipped == ref.meta.flipped  # geometry is still shared
    torch.testing.assert_close(key.targets.boxes, ref.targets.boxes)
    assert key.image.dtype == torch.uint8 and key.image.shape == view.image.shape


def test_hsv_shifts_hue_around_and_clips_saturation_and_value() -> None:
    import cv2

    from vis4d.config.schema import HSVConfig
    from vis4d.data.transforms import HSV

    view = _view(4, 6, np.zeros((0, 4), dtype=np.float32))
    hsv = HSV(HSVConfig())
    out = hsv.apply(view, (170, 255, -255))  # hue wraps at 180; value -255 makes the image black
    assert int(out.image.max()) == 0 and out.image.dtype == torch.uint8
    shifted = hsv.apply(view, (30, 0, 0)).image.permute(1, 2, 0).numpy()
    before = cv2.cvtColor(view.image.permute(1, 2, 0).contiguous().numpy(), cv2.COLOR_RGB2HSV)
    after = cv2.cvtColor(np.ascontiguousarray(shifted), cv2.COLOR_RGB2HSV)
    saturated = before[..., 1] > 100  # where hue is well defined
    diff = (after[..., 0].astype(int) - before[..., 0].astype(int)) % 180
    assert np.median(diff[saturated]) == 30
    assert hsv.apply(view, None) is view
    assert HSV(HSVConfig(prob=0.0)).sample_params(np.random.default_rng(0), (4, 6)) is None
    shifts = [HSV(HSVConfig()).sample_params(np.random.default_rng(s), (4, 6)) for s in range(200)]
    assert all(abs(h) <= 5 and abs(s) <= 30 and abs(v) <= 30 for h, s, v in shifts if shifts)  # type: ignore[misc]
    assert any(h == 0 for h, _, _ in shifts) and any(v != 0 for _, _, v in shifts)  # type: ignore[misc]


def test_resize_scale_range_jitters_the_shape() -> None:
    resize = build_transforms([ResizeConfig(shape=(100, 200), scale_range=(0.5, 1.5))])[0]
    shapes = [resize.sample_params(np.random.default_rng(s), (100, 200)) for s in range(50)]
    assert all(50 <= h <= 150 and 100 <= w <= 300 for h, w in shapes) and len(set(shapes)) > 10
    with pytest.raises(ValueError, match="factors > 0"):
        ResizeConfig(scale_range=(0.0, 1.0))
