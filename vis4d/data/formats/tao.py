"""TAO (and other COCO-style video files): ground truth with ``videos``, ``images`` and ``track_id``; results lists.

Reading: :func:`vis4d.data.datasets.coco.load_coco`, which turns a COCO file
with a ``videos`` list into videos (images ordered by ``frame_index``) with
track ids, and merges TAO's ``merged`` categories. Predictions are a results
list ``{image_id, category_id, bbox, score, track_id}``. Evaluation
conventions are TAO's: each video is labelled for some classes only (labels
are not exhaustive: TETA does not count a prediction of a class that has no box
nearby as a classification error) and only images with annotations are
evaluated. No writer: vis4d writes Scalabel, BDD100K, MOTChallenge or COCO.
"""

from __future__ import annotations

from pathlib import Path

from vis4d.data.datasets.coco import load_coco
from vis4d.data.formats.base import DataFormat, ReadRequest
from vis4d.data.store import AnnotationStore

_SNIFF_BYTES = 1 << 20


def _detect(path: Path) -> bool:
    """A JSON object whose first MiB has ``videos`` and ``images``."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="ignore").lstrip()
    return head.startswith("{") and '"videos"' in head and '"images"' in head


def _read(request: ReadRequest) -> AnnotationStore:
    return load_coco(
        request.path, request.labels.categories, request.image_root, results=request.predictions,
        options=request.load_options(),
    )  # fmt: skip


TAO = DataFormat(
    name="tao",
    summary="TAO / COCO-style video JSON (videos, images with frame_index, boxes with track_id) and results lists",
    read=_read,
    detect=_detect,
    exhaustive_labels=False,
    annotated_frames_only=True,
)
