"""Colours are stable per id; boxes, labels and ignore hatching land on the right pixels."""

from __future__ import annotations

import colorsys
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vis4d.vis.draw import add_title, class_color, draw_predictions, side_by_side, track_color


def reference_track_color(track_id: int) -> tuple[int, int, int]:
    """The documented formula, computed independently with colorsys."""
    hue = (track_id * 0.6180339887498949 + 0.11) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return (round(r * 255), round(g * 255), round(b * 255))


def test_track_color_follows_the_golden_ratio_formula() -> None:
    ids = [0, 1, 2, 7, 12, 999, 123456, -1]
    for track_id in ids:
        assert track_color(track_id) == reference_track_color(track_id)
    as_array = track_color(np.array(ids))
    assert as_array.shape == (len(ids), 3) and as_array.dtype == np.uint8
    assert [tuple(c) for c in as_array.tolist()] == [reference_track_color(i) for i in ids]


def test_colors_are_stable_across_processes() -> None:
    code = (
        "import json; from vis4d.vis.draw import track_color, class_color; "
        "print(json.dumps([[track_color(i) for i in range(20)], [class_color(i) for i in range(8)]]))"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        outputs.append(json.loads(result.stdout))
    here = [[list(track_color(i)) for i in range(20)], [list(class_color(i)) for i in range(8)]]
    assert outputs[0] == outputs[1] == here


def test_consecutive_ids_get_distinct_colors() -> None:
    colors = track_color(np.arange(50)).astype(int)
    diffs = np.abs(colors[1:] - colors[:-1]).sum(axis=1)
    assert diffs.min() > 60
    assert len({tuple(c) for c in colors.tolist()}) == 50


def test_box_edges_have_the_track_color_and_the_interior_is_untouched() -> None:
    image = np.full((120, 160, 3), 50, dtype=np.uint8)
    out = draw_predictions(image, [[40.0, 50.0, 120.0, 110.0]], ["car"], [0], [0.9], [12])
    color = np.array(track_color(12), dtype=np.uint8)
    np.testing.assert_array_equal(out[80, 40], color)  # left edge
    np.testing.assert_array_equal(out[80, 119], color)  # right edge (x2 exclusive)
    np.testing.assert_array_equal(out[109, 80], color)  # bottom edge
    np.testing.assert_array_equal(out[80, 80], [50, 50, 50])  # interior
    np.testing.assert_array_equal(image, 50)  # the input is not modified
    # The label background sits above the box in the box's colour.
    label_rows = out[30:49, 40:60].reshape(-1, 3)
    assert np.any(np.all(label_rows == color, axis=1))


def test_label_text_contains_class_track_and_score() -> None:
    image = np.zeros((100, 300, 3), dtype=np.uint8)
    with_score = draw_predictions(image, [[10, 60, 100, 90]], ["pedestrian"], [0], [0.93], [5])
    without_score = draw_predictions(image, [[10, 60, 100, 90]], ["pedestrian"], [0], None, [5])
    # A longer label ("pedestrian 5 0.93" vs "pedestrian 5") paints a wider background.
    color = np.array(track_color(5))
    width_with = np.all(with_score[50] == color, axis=1).sum()
    width_without = np.all(without_score[50] == color, axis=1).sum()
    assert width_with > width_without > 0


def test_class_colors_without_tracks() -> None:
    image = np.zeros((80, 80, 3), dtype=np.uint8)
    out = draw_predictions(image, [[10, 30, 70, 70], [20, 40, 60, 60]], ["a", "b"], [0, 1])
    np.testing.assert_array_equal(out[50, 10], class_color(0))
    np.testing.assert_array_equal(out[50, 20], class_color(1))


def test_ignore_regions_are_hatched_inside_the_box_only() -> None:
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    out = draw_predictions(image, np.zeros((0, 4)), ["car"], np.zeros(0, np.int64), ignore_boxes=[[20, 20, 80, 80]])
    inside = out[22:78, 22:78]
    changed = np.any(inside != 0, axis=2)
    assert 0.1 < changed.mean() < 0.4  # stripes, not a filled box
    # Diagonal stripes: a pixel and its (+1, -1) neighbour agree.
    np.testing.assert_array_equal(changed[1:, :-1], changed[:-1, 1:])
    outside = np.ones((100, 100), dtype=bool)
    outside[20:80, 20:80] = False
    assert not np.any(out[outside])


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        draw_predictions(np.zeros((10, 10), np.uint8), [[0, 0, 1, 1]], ["a"], [0])
    with pytest.raises(ValueError, match="same length"):
        draw_predictions(np.zeros((10, 10, 3), np.uint8), [[0, 0, 1, 1]], ["a"], [0, 0])


def test_title_and_side_by_side() -> None:
    left = add_title(np.zeros((20, 30, 3), np.uint8), "ground truth")
    right = np.full((40, 50, 3), 7, np.uint8)
    both = side_by_side(left, right)
    assert both.shape == (max(left.shape[0], 40), 80, 3)
    assert np.any(left[:20] > 0)  # title text in the bar
    np.testing.assert_array_equal(both[:40, 30:], right)


def _contrast(pixels: np.ndarray, background: np.ndarray) -> np.ndarray:
    """WCAG contrast ratio of each (..., 3) sRGB pixel against one background colour, computed independently."""

    def luminance(rgb: np.ndarray) -> np.ndarray:
        c = np.asarray(rgb, dtype=np.float64) / 255.0
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722

    a, b = luminance(pixels), luminance(background)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def _label_region(out: np.ndarray, color: np.ndarray, box_top: int, left: int) -> np.ndarray:
    """The filled label rectangle above a box: the rows and columns around ``left`` holding the box colour."""
    rows = np.flatnonzero(np.all(out[:box_top, left] == color, axis=1))
    top = int(rows.min())
    cols = np.flatnonzero(np.all(out[top, :] == color, axis=1))
    return out[top:box_top, left : int(cols.max()) + 1]


def test_label_text_on_a_red_box_is_black_or_white_and_contrasts() -> None:
    # Track 16 is red (242, 36, 38). Text once reached OpenCV as [255], i.e. (255, 0, 0): red on red.
    color = np.array(track_color(16), dtype=np.uint8)
    assert color[0] > 200 and color[1] < 60 and color[2] < 60
    out = draw_predictions(np.zeros((160, 256, 3), np.uint8), [[20, 60, 200, 150]], ["car"], [0], [0.93], [16])
    label = _label_region(out, color, 60, 20)
    text = ~np.all(label == color, axis=2)
    assert text.sum() > 40  # the text is there
    # Anti-aliased text pixels blend the text colour into the background; the strongest ones are pure black or white.
    strongest = label[text][np.argmax(_contrast(label[text], color))]
    assert tuple(strongest.tolist()) in {(0, 0, 0), (255, 255, 255)}
    assert _contrast(strongest, color) >= 4.5
    # Every text pixel lies between the background and that colour: nothing else (no red) is drawn.
    t = (label[text].astype(float) - color) / (strongest.astype(float) - color)
    assert np.ptp(t, axis=1).max() < 0.1


@pytest.mark.parametrize("track_id", range(40))
def test_label_text_contrasts_with_every_track_color(track_id: int) -> None:
    color = np.array(track_color(track_id), dtype=np.uint8)
    out = draw_predictions(np.full((160, 256, 3), 128, np.uint8), [[30, 70, 200, 150]], ["car"], [0], None,
                           [track_id])  # fmt: skip
    label = _label_region(out, color, 70, 30)
    text = ~np.all(label == color, axis=2)
    assert (_contrast(label[text], color) >= 4.5).sum() > 20  # WCAG's 4.5:1 for text, on many pixels


def _text_height(height: int, width: int) -> int:
    """Rows of a drawn label that hold text, on an image of the given size."""
    color = np.array(track_color(3), dtype=np.uint8)
    box = [width * 0.2, height * 0.5, width * 0.8, height * 0.9]
    out = draw_predictions(np.zeros((height, width, 3), np.uint8), [box], ["car"], [0], [0.5], [3])
    label = _label_region(out, color, int(box[1]), int(box[0]))
    strong = _contrast(label, color) >= 3.0
    return int(np.ptp(np.flatnonzero(strong.any(axis=1)))) + 1


def test_label_text_is_readable_small_and_grows_with_the_image() -> None:
    small, large = _text_height(160, 256), _text_height(720, 1280)
    assert small >= 10  # readable on a 256x160 frame (was 7 rows)
    assert large >= 1.5 * small  # and sized to the image at 1280x720
    assert _text_height(1280, 720) == large  # by the shorter side: portrait and landscape alike
