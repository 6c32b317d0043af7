"""Plain images, subfolders of images (one video each) or video files: frames without labels.

Reading: :func:`vis4d.data.datasets.image_folder.load_image_folder`; what
``predict --input_dir`` runs on. Nothing is parsed, so nothing is cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vis4d.data.formats.base import DataFormat, DatasetSource, ReadRequest
from vis4d.data.mapping import LabelConfig
from vis4d.data.store import AnnotationStore


def _open_section(section: Any, categories: Sequence[str], label_config: LabelConfig | None) -> DatasetSource:
    from vis4d.data.datasets.image_folder import load_image_folder

    return DatasetSource(lambda: load_image_folder(section, categories), cacheable=False)


def _read(request: ReadRequest) -> AnnotationStore:
    from vis4d.config.schema import ImageFolderDatasetConfig
    from vis4d.data.datasets.image_folder import load_image_folder

    return load_image_folder(ImageFolderDatasetConfig(root=str(request.path)), request.labels.categories or [])


IMAGE_FOLDER = DataFormat(
    name="image_folder",
    summary="images, subfolders of images (one video each) or video files; no labels",
    open_section=_open_section,
    read=_read,
    has_predictions=False,
)
