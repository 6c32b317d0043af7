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


def _style(height: int, width: int) -> tuple[int, float, int]:
    """Line thickness, font scale and text thickness that stay legible across image sizes."""
    longest = max(height, width)
    return max(1, round(longest / 640)), max(0.35, longest / 2560), 1


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
    # Black text on light backgrounds, white on dark ones (ITU-R BT.601 luma).
    luma = colors.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    text_colors = np.where(luma[:, None] > 140, 0, 255).astype(np.uint8)
    thickness, font_scale, text_thickness = _style(height, width)
    font = cv2.FONT_HERSHEY_SIMPLEX
    texts = _label_texts(class_names, class_arr, score_arr, track_arr)
    box_list = corners.tolist()
    color_list = colors.tolist()
    text_color_list = text_colors.tolist()
    for (x1, y1, x2, y2), color in zip(box_list, color_list, strict=True):
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)
    for (x1, y1, _, _), color, text_color, text in zip(box_list, color_list, text_color_list, texts, strict=True):
        (text_w, text_h), baseline = cv2.getTextSize(text, font, font_scale, text_thickness)
        label_h = text_h + baseline + 2
        top = y1 - label_h if y1 - label_h >= 0 else y1  # above the box, or inside at the top border
        left = min(x1, max(0, width - text_w - 2))
        cv2.rectangle(canvas, (left, top), (left + text_w + 1, top + label_h - 1), color, cv2.FILLED)
        cv2.putText(
            canvas, text, (left + 1, top + text_h + 1), font, font_scale, text_color, text_thickness, cv2.LINE_AA
        )
    return canvas


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
