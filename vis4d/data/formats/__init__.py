"""The data formats vis4d reads and writes, one registry entry each (:class:`DataFormat`).

Everything that depends on a format asks this registry: the dataset loader
(:func:`load_dataset`, for the config's ``train``/``test`` sections), the
prediction writers (:func:`build_writers`, ``launch.output_formats``),
``vis4d eval``, ``vis4d vis`` and ``vis4d data stats`` (``--format``, and
:func:`detect_format` for ``auto``) and the trainer's evaluation conventions
(:mod:`vis4d.eval.conventions`). A new format is one module here with its
entry (and writer), its loader in :mod:`vis4d.data.datasets`, its config
section in :mod:`vis4d.config.schema`, and one line in :data:`FORMATS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.cache import cached_load
from vis4d.data.formats.base import DataFormat, DatasetSource, IgnoreRule, LabelOptions, ReadRequest
from vis4d.data.formats.coco import COCO
from vis4d.data.formats.image_folder import IMAGE_FOLDER
from vis4d.data.formats.motchallenge import MOTCHALLENGE
from vis4d.data.formats.scalabel import BDD100K, SCALABEL, SYNTHETIC
from vis4d.data.formats.tao import TAO
from vis4d.data.formats.writing import PredictionWriter, WriterSettings, merge_rank_files, rank_file_name
from vis4d.data.mapping import LabelConfig
from vis4d.data.store import AnnotationStore

__all__ = [
    "FORMATS",
    "DataFormat",
    "DatasetSource",
    "IgnoreRule",
    "LabelOptions",
    "PredictionWriter",
    "ReadRequest",
    "WriterSettings",
    "build_writers",
    "detect_format",
    "format_names",
    "get_format",
    "load_dataset",
    "merge_rank_files",
    "rank_file_name",
]

FORMATS: dict[str, DataFormat] = {
    fmt.name: fmt for fmt in (SCALABEL, BDD100K, TAO, COCO, MOTCHALLENGE, IMAGE_FOLDER, SYNTHETIC)
}


def format_names(has: Callable[[DataFormat], object] = lambda fmt: True) -> tuple[str, ...]:
    """Names of the formats for which ``has(entry)`` is true, e.g. ``lambda f: f.writer`` for writable ones."""
    return tuple(name for name, fmt in FORMATS.items() if has(fmt))


def get_format(name: str, option: str = "--format") -> DataFormat:
    """The entry of ``name``; a :class:`ConfigError` naming ``option`` and the known names otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"{option}: unknown format {name!r}; expected one of {list(FORMATS)}") from None


def detect_format(path: Path) -> str:
    """The format of a ground-truth path: the first entry whose ``detect`` claims it, else ``scalabel``."""
    if not path.exists():
        raise DataError(f"--gt: {path} does not exist")
    for fmt in FORMATS.values():
        if fmt.detect is not None and fmt.detect(path):
            return fmt.name
    return SCALABEL.name


def build_writers(formats: Sequence[str], settings: WriterSettings) -> list[PredictionWriter]:
    """One writer per requested format (each format module's docstring says which files it writes)."""
    writers: list[PredictionWriter] = []
    writable = format_names(lambda fmt: fmt.writer)
    for name in formats:
        writer = FORMATS[name].writer if name in FORMATS else None
        if writer is None:
            raise ConfigError(
                f"launch.output_formats: unknown format {name!r}; expected one of "
                + ", ".join(repr(f) for f in writable)
            )
        writers.append(writer(settings))
    return writers


def load_dataset(
    cfg: Any,
    categories: Sequence[str],
    cache_dir: str | Path | None = None,
    label_config: LabelConfig | None = None,
) -> AnnotationStore:
    """Load the dataset a config section describes (its ``type`` names the format), mapped onto ``categories``.

    ``cache_dir`` defaults to ``vis4d-workspace/.cache/datasets``; the engine
    passes ``launch.cache_dir``. ``label_config`` overrides the section's
    ``label_config`` file (and, for ``bdd100k``, BDD100K's default mappings).
    """
    fmt = get_format(cfg.type, "type")
    if fmt.open_section is None:  # pragma: no cover - every format the schema admits can be a dataset
        raise NotImplementedError(f"dataset type {cfg.type!r} has no loader")
    categories = list(categories)
    source = fmt.open_section(cfg, categories, label_config)
    if not source.cacheable or not cfg.cache:
        return source.build()
    key_parts = {"dataset": cfg.model_dump(mode="json", exclude={"cache"}), "categories": categories}
    key_parts.update(source.key_parts)
    return cached_load(_jsonable(key_parts), source.source_files, source.build, cache_dir)


def _jsonable(value: Any) -> Any:
    """Key parts as plain JSON values (dataclasses become dicts) for hashing."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
