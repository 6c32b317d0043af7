"""Drawing boxes, labels and ignore regions on images with OpenCV primitives.

Images are ``HxWx3`` uint8 RGB numpy arrays (OpenCV does not care about the
channel order as long as colours are given in the same order, so colours here
are RGB too).

Colours are a pure function of the id: the hue of track ``i`` is
``(i * golden_ratio_conjugate + offset) mod 1``. Consecutive ids land far apart
on the colour wheel and a track keeps its colour across frames, processes and
runs (no dependence on Python's randomised ``hash``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import overload

import cv2
import numpy as np
import numpy.typing as npt

GOLDEN_RATIO_CONJUGATE = 0.6180339887498949
TRACK_HUE_OFFSET = 0.11
CLASS_HUE_OFFSET = 0.53
IGNORE_COLOR = (160, 160, 160)
HATCH_SPACING = 10  # pixels between hatch lines of an ignore region
HATCH_WIDTH = 2  # width of a hatch line in pixels
TITLE_BAR_HEIGHT = 28
FONT = cv2.FONT_HERSHEY_SIMPLEX
HERSHEY_PIXELS_PER_SCALE = 20.0  # height of FONT's capitals and digits at font scale 1, in pixels (as drawn)
MIN_TEXT_HEIGHT = 10.0  # pixels: the smallest label text that stays readable (a 256x160 frame gets this)
TEXT_HEIGHT_FRACTION = 0.025  # label text height as a fraction of the image's shorter side (18 px at 720p)

RGB = tuple[int, int, int]


def hsv_to_rgb(hue: np.ndarray, saturation: float, value: float) -> npt.NDArray[np.uint8]:
    """Vectorised HSV -> RGB for hues in [0, 1); returns (N, 3) uint8."""
    hue = np.asarray(hue, dtype=np.float64).reshape(-1) * 6.0
    sector = np.floor(hue).astype(np.int64) % 6
    frac = hue - np.floor(hue)
    p = value * (1.0 - saturation)
    q = value * (1.0 - saturation * frac)
    t = value * (1.0 - saturation * (1.0 - frac))
    v = np.full_like(frac, value)
    p_arr = np.full_like(frac, p)
    # Rows: the (r, g, b) choice per sector, the classic HSV table.
    table = np.stack(
        [
            np.stack([v, t, p_arr], axis=1),
            np.stack([q, v, p_arr], axis=1),
            np.stack([p_arr, v, t], axis=1),
            np.stack([p_arr, q, v], axis=1),
            np.stack([t, p_arr, v], axis=1),
            np.stack([v, p_arr, q], axis=1),
        ],
        axis=0,
    )
    rgb = table[sector, np.arange(len(sector))]
    return np.rint(rgb * 255.0).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class Palette:
    """Stable colours for integer ids: hue ``(id * golden_ratio_conjugate + offset) mod 1``, fixed saturation/value.

    Called with one id it returns an ``(r, g, b)`` tuple, with an array of ids
    an (N, 3) uint8 array.
    """

    offset: float
    saturation: float
    value: float

    @overload
    def __call__(self, ids: int | np.integer) -> RGB: ...
    @overload
    def __call__(self, ids: np.ndarray) -> npt.NDArray[np.uint8]: ...
    def __call__(self, ids: int | np.integer | np.ndarray) -> RGB | npt.NDArray[np.uint8]:  # noqa: D102
        ids64 = np.asarray(ids, dtype=np.int64).reshape(-1)
        colors = hsv_to_rgb(np.mod(ids64.astype(np.float64) * GOLDEN_RATIO_CONJUGATE + self.offset, 1.0),
                            self.saturation, self.value)  # fmt: skip
        if isinstance(ids, np.ndarray):
            return colors
        r, g, b = colors[0].tolist()
        return (r, g, b)


# The colour of a track id; of a class id where there are no track ids (detections, ground truth).
track_color = Palette(TRACK_HUE_OFFSET, 0.85, 0.95)
class_color = Palette(CLASS_HUE_OFFSET, 0.7, 0.9)


@functools.lru_cache(maxsize=8)
def _hatch_mask(height: int, width: int) -> npt.NDArray[np.bool_]:
    """Diagonal stripes over a whole image; ignore regions take their slice of it."""
    diagonal = np.add.outer(np.arange(height, dtype=np.int32), np.arange(width, dtype=np.int32))
    mask = (diagonal % HATCH_SPACING) < HATCH_WIDTH
    mask.flags.writeable = False
    return mask


def _pixel_boxes(boxes: npt.ArrayLike, height: int, width: int) -> npt.NDArray[np.int64]:
    """Float xyxy boxes -> integer corner pixels inside the image, as (N, 4) inclusive corners."""
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = np.rint(arr).astype(np.int64)
    corners[:, 2:] -= 1  # xyxy is exclusive at the right/bottom; cv2 corners are inclusive
    corners[:, 2] = np.maximum(corners[:, 2], corners[:, 0])
    corners[:, 3] = np.maximum(corners[:, 3], corners[:, 1])
    corners[:, 0::2] = np.clip(corners[:, 0::2], 0, width - 1)
    corners[:, 1::2] = np.clip(corners[:, 1::2], 0, height - 1)
    return corners


def draw_ignore_regions(image: np.ndarray, boxes: npt.ArrayLike) -> None:
    """Hatch ignore regions in place: grey diagonal lines inside each box and a grey border."""
    height, width = image.shape[:2]
    corners = _pixel_boxes(boxes, height, width)
    if not len(corners):
        return
    hatch = _hatch_mask(height, width)
    grey = np.asarray(IGNORE_COLOR, dtype=np.uint16)
    for x1, y1, x2, y2 in corners.tolist():
        region = image[y1 : y2 + 1, x1 : x2 + 1]
        lines = hatch[y1 : y2 + 1, x1 : x2 + 1]
        region[lines] = ((region[lines].astype(np.uint16) + grey) // 2).astype(np.uint8)
        cv2.rectangle(image, (x1, y1), (x2, y2), IGNORE_COLOR, 1)


@dataclasses.dataclass(frozen=True)
class Style:
    """Line and label sizes for one image size (see :func:`style_for`)."""

    line_thickness: int
    font_scale: float
    text_thickness: int
    padding: int  # pixels of label background around the text


def style_for(height: int, width: int) -> Style:
    """Sizes that keep boxes and labels legible at every image size.

    Everything follows the shorter side ``min(H, W)`` (what the eye has to fit
    a label into): label text (capitals and digits) is 2.5% of it tall, never under
    ``MIN_TEXT_HEIGHT`` pixels (so a 256x160 frame still has readable labels),
    strokes thicken with the text, and boxes get a pixel of line per 360
    pixels of image.
    """
    short = min(height, width)
    text_height = max(MIN_TEXT_HEIGHT, TEXT_HEIGHT_FRACTION * short)
    font_scale = text_height / HERSHEY_PIXELS_PER_SCALE
    return Style(
        line_thickness=max(1, round(short / 360)),
        font_scale=font_scale,
        text_thickness=max(1, round(font_scale * 2)),
        padding=max(1, round(text_height / 6)),
    )


def _relative_luminance(colors: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """WCAG relative luminance of (N, 3) sRGB colours, in [0, 1]."""
    srgb = colors.astype(np.float64) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return np.asarray(linear @ np.array([0.2126, 0.7152, 0.0722]))


def label_text_colors(backgrounds: npt.NDArray[np.uint8]) -> list[RGB]:
    """Black or white per background colour, whichever has the higher WCAG contrast ratio with it.

    White on a luminance-``L`` background has contrast ``1.05 / (L + 0.05)``,
    black ``(L + 0.05) / 0.05``; the better of the two is at least 4.58:1
    for every colour (WCAG asks 4.5:1 for text), so no box colour makes its
    label unreadable. Returned as plain 3-tuples: OpenCV takes a 1-element
    sequence as (value, 0, 0), which is how white text once came out red.
    """
    luminance = _relative_luminance(np.asarray(backgrounds, dtype=np.uint8).reshape(-1, 3))
    white = (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05)
    return [(255, 255, 255) if w else (0, 0, 0) for w in white.tolist()]


def _label_texts(
    class_names: Sequence[str],
    class_ids: np.ndarray,
    scores: np.ndarray | None,
    track_ids: np.ndarray | None,
) -> list[str]:
    """Label of each box: ``"car 12 0.93"`` (class, track id if any, score if any)."""
    parts: list[list[str]] = [[class_names[c] if 0 <= c < len(class_names) else str(c)] for c in class_ids.tolist()]
    if track_ids is not None:
        for part, track in zip(parts, track_ids.tolist(), strict=True):
            part.append(str(track))
    if scores is not None:
        for part, score in zip(parts, np.asarray(scores, dtype=np.float64).tolist(), strict=True):
            part.append(f"{score:.2f}")
    return [" ".join(p) for p in parts]


def draw_predictions(
    image: np.ndarray,
    boxes: npt.ArrayLike,
    class_names: Sequence[str],
    class_ids: npt.ArrayLike,
    scores: npt.ArrayLike | None = None,
    track_ids: npt.ArrayLike | None = None,
    ignore_boxes: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Return a copy of ``image`` with boxes and labels drawn (and ignore regions hatched).

    A box takes its track's colour when ``track_ids`` is given, else its class's
    colour. Its label (class, track id, score) sits on a filled background of the
    same colour above the box, or inside it when the box touches the top border.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"draw_predictions expects an HxWx3 uint8 image, got shape {image.shape} {image.dtype}")
    canvas = np.ascontiguousarray(image).copy()
    height, width = canvas.shape[:2]
    if ignore_boxes is not None:
        draw_ignore_regions(canvas, ignore_boxes)
    corners = _pixel_boxes(boxes, height, width)
    if not len(corners):
        return canvas
    class_arr = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    track_arr = None if track_ids is None else np.asarray(track_ids, dtype=np.int64).reshape(-1)
    score_arr = None if scores is None else np.asarray(scores, dtype=np.float32).reshape(-1)
    lengths = [len(a) for a in (class_arr, track_arr, score_arr) if a is not None]
    if any(n != len(corners) for n in lengths):
        raise ValueError(f"boxes ({len(corners)}), class_ids, scores and track_ids {lengths} must have the same length")
    colors = track_color(track_arr) if track_arr is not None else class_color(class_arr)
    style = style_for(height, width)
    texts = _label_texts(class_names, class_arr, score_arr, track_arr)
    box_list = corners.tolist()
    color_list = [(int(r), int(g), int(b)) for r, g, b in colors.tolist()]
    for (x1, y1, x2, y2), color in zip(box_list, color_list, strict=True):
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, style.line_thickness)
    for (x1, y1, _, _), color, text_color, text in zip(
        box_list, color_list, label_text_colors(colors), texts, strict=True
    ):
        draw_label(canvas, text, (x1, y1), color, text_color, style)
    return canvas


def draw_label(canvas: np.ndarray, text: str, corner: tuple[int, int], background: RGB, text_color: RGB,
               style: Style) -> tuple[int, int, int, int]:  # fmt: skip
    """Draw ``text`` on a filled ``background`` rectangle above ``corner`` (inside the box at the top border).

    Returns the label rectangle ``(left, top, right, bottom)``, inclusive.
    """
    height, width = canvas.shape[:2]
    x1, y1 = corner
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, style.font_scale, style.text_thickness)
    pad = style.padding
    label_w, label_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    top = y1 - label_h if y1 - label_h >= 0 else y1  # above the box, or inside at the top border
    left = max(0, min(x1, width - label_w))
    bottom, right = min(height, top + label_h) - 1, min(width, left + label_w) - 1
    cv2.rectangle(canvas, (left, top), (right, bottom), background, cv2.FILLED)
    origin = (left + pad, top + pad + text_h)
    cv2.putText(canvas, text, origin, FONT, style.font_scale, text_color, style.text_thickness, cv2.LINE_AA)
    return left, top, right, bottom


def title_bar_height(width: int) -> int:
    """Height of the title bar :func:`add_title` puts on an image ``width`` pixels wide (grows with the width)."""
    return TITLE_BAR_HEIGHT * max(1, round(width / 640))


def add_title(image: np.ndarray, title: str) -> np.ndarray:
    """Return ``image`` with a black bar on top carrying ``title`` in white."""
    width = image.shape[1]
    height = title_bar_height(width)
    scale = height / TITLE_BAR_HEIGHT
    bar = np.zeros((height, width, 3), dtype=np.uint8)
    cv2.putText(
        bar,
        title,
        (round(6 * scale), round(height - 9 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6 * scale,
        (255, 255, 255),
        max(1, round(scale)),
        cv2.LINE_AA,
    )
    return np.concatenate([bar, image], axis=0)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Concatenate two images horizontally, padding the shorter one at the bottom with black."""
    height = max(left.shape[0], right.shape[0])

    def pad(img: np.ndarray) -> np.ndarray:
        if img.shape[0] == height:
            return img
        return np.concatenate([img, np.zeros((height - img.shape[0], img.shape[1], 3), dtype=img.dtype)], axis=0)

    return np.concatenate([pad(left), pad(right)], axis=1)
