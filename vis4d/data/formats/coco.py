"""COCO: instances JSON (ground truth) and results JSON (detections); each image is a one-frame video.

Reading: :func:`vis4d.data.datasets.coco.load_coco`. Prediction files:
``predictions/<dataset>_coco.json``, a COCO results list ``{image_id,
category_id, bbox: [x, y, w, h], score}``. When the test set is a COCO file,
image and category ids are that file's (``meta.image_id`` and the store's
``category_ids``, the id of the category of the same name), so the results
score against the original file with pycocotools; otherwise category ids are
1-based positions in the config's category list (also when any config
category has no id of its own) and the image id is the frame's row in the
dataset's store (``meta.frame_row``), else its position in arrival order.
Beside it, ``predictions/<dataset>_coco_images.json`` is a COCO instances
file with those images (``file_name`` = frame name, original size), the
categories (with the ids used) and no annotations: the results file loads
against it (``load_coco(images_file, results=results_file)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.io import atomic_write_json
from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.data.datasets.coco import load_coco
from vis4d.data.formats.base import DataFormat, DatasetSource, ReadRequest
from vis4d.data.formats.writing import JsonListStream, PredictionWriter, WriterSettings, float_texts, xywh_texts
from vis4d.data.mapping import LabelConfig, LoadOptions
from vis4d.data.store import AnnotationStore

_SNIFF_BYTES = 1 << 20


class COCOWriter(PredictionWriter):
    """COCO detection results: one JSON list for the dataset, plus the images/categories file it refers to."""

    format_name = "coco"

    def __init__(self, settings: WriterSettings) -> None:
        super().__init__(settings)
        name = settings.dataset_stem
        self.results_file = settings.predictions_dir / f"{name}_coco.json"
        self.images_file = settings.predictions_dir / f"{name}_coco_images.json"
        # The dataset's own ids only when every category has one: mixing them with positions could collide.
        num = len(settings.categories)
        own = None if settings.category_ids is None else np.asarray(settings.category_ids, dtype=np.int64)
        complete = own is not None and len(own) == num and bool((own >= 0).all())
        self.category_ids = own if complete and own is not None else np.arange(1, num + 1)
        self._images: list[dict[str, Any]] = []  # one small entry per frame (no predictions kept)

    @property
    def needs_contiguous_videos(self) -> bool:  # noqa: D102
        return False

    def _image_id(self, meta: FrameMeta) -> int:
        if meta.image_id >= 0:
            return int(meta.image_id)
        if meta.frame_row >= 0:
            return int(meta.frame_row)
        return len(self._images)

    def write_frame(self, frame: FrameOutput, new_video: bool) -> None:
        """Append the frame's detections to the results list."""
        if self.open_file is None:
            self.start_file(JsonListStream(self.results_file))
        meta = frame.meta
        image_id = self._image_id(meta)
        height, width = meta.original_hw
        self._images.append({"id": image_id, "file_name": meta.name, "width": int(width), "height": int(height)})
        if len(frame.boxes) == 0:
            return
        x1, y1, widths, heights = xywh_texts(frame.boxes)
        scores = float_texts(frame.scores)
        category_ids = self.category_ids[frame.class_ids].tolist()
        self.open_file.append(
            ",\n".join(
                f'{{"image_id": {image_id}, "category_id": {category_ids[i]}, '
                f'"bbox": [{x1[i]}, {y1[i]}, {widths[i]}, {heights[i]}], "score": {scores[i]}}}'
                for i in range(len(frame.boxes))
            )
        )

    def close(self) -> list[Path]:
        """Finish the results file (an empty list when nothing was detected), then write the images file."""
        if self.open_file is None and not self.finished:
            self.start_file(JsonListStream(self.results_file))
        return super().close()

    def finish_files(self) -> list[Path]:
        """The images/categories file the results refer to."""
        categories = zip(self.category_ids, self.settings.categories, strict=True)
        header = {
            "images": self._images,
            "annotations": [],
            "categories": [{"id": int(cid), "name": name} for cid, name in categories],
        }
        atomic_write_json(self.images_file, header)
        return [self.images_file]


def _detect(path: Path) -> bool:
    """A JSON file whose first MiB has ``images`` or ``annotations`` and no Scalabel ``frames``."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="ignore").lstrip()
    return head.startswith("{") and ('"images"' in head or '"annotations"' in head) and '"frames"' not in head


def _open_section(section: Any, categories: Sequence[str], label_config: LabelConfig | None) -> DatasetSource:
    def build() -> AnnotationStore:
        return load_coco(section.annotations, categories, section.image_root, options=LoadOptions.of(section))

    return DatasetSource(build, [Path(section.annotations)], {"image_root": str(Path(section.image_root).resolve())})


def _read(request: ReadRequest) -> AnnotationStore:
    labels, results = request.labels, request.predictions
    return load_coco(
        request.path, labels.categories, request.image_root, results=results, options=request.load_options()
    )


COCO = DataFormat(
    name="coco",
    summary="COCO instances JSON (ground truth) and results JSON (detections); no track ids",
    open_section=_open_section,
    read=_read,
    detect=_detect,
    writer=COCOWriter,
    track_ids=False,
)
