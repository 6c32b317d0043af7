"""The registry entry of a data format: everything vis4d knows about one format, in one object.

A :class:`DataFormat` names the format once and holds

* how a dataset section of the config (``type = "<name>"``) becomes a store
  (:attr:`DataFormat.open_section`, with what the dataset cache depends on);
* how a path given on the command line is read, as ground truth or as the
  predictions that refer to it (:attr:`DataFormat.read`; used by ``vis4d
  eval``, ``vis4d vis`` and ``vis4d data stats``);
* how to tell that a path holds this format (:attr:`DataFormat.detect`);
* the writer of prediction files (:attr:`DataFormat.writer`);
* its evaluation conventions: the ignore-region rule, a default label config
  (BDD100K's super-categories), whether its files carry track ids, whether
  its labels are exhaustive and whether frames without labels are evaluated.

The loaders themselves live in :mod:`vis4d.data.datasets`; the entries and
the writers in this package (:mod:`vis4d.data.formats`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from vis4d.data.formats.writing import PredictionWriter
from vis4d.data.mapping import LabelConfig, LoadOptions
from vis4d.data.store import AnnotationStore

IgnoreRule = Literal["bdd100k", "motchallenge"]


@dataclasses.dataclass
class LabelOptions:
    """What a ``--config`` gives the file tools: categories, a label config, name mappings, a dataset type.

    ``drop_unknown`` drops categories the config does not know instead of
    failing (``vis4d data stats --drop-unknown``).
    """

    categories: list[str] | None = None
    label_config: LabelConfig | None = None
    name_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    ignored_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    dataset_type: str | None = None
    drop_unknown: bool = False

    def load_options(self) -> LoadOptions:
        """The loaders' options for these mappings."""
        return LoadOptions(
            name_mapping=self.name_mapping,
            ignored_mapping=self.ignored_mapping,
            unknown_categories="drop" if self.drop_unknown else "error",
        )


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """How one dataset section's store is built, and what the parsed result depends on.

    ``source_files`` (their sizes and modification times) and ``key_parts``
    key the dataset cache; ``cacheable=False`` (image folders: nothing to
    parse) always builds.
    """

    build: Callable[[], AnnotationStore]
    source_files: list[Path] = dataclasses.field(default_factory=list)
    key_parts: dict[str, Any] = dataclasses.field(default_factory=dict)
    cacheable: bool = True


@dataclasses.dataclass(frozen=True)
class ReadRequest:
    """What a file tool asks a format to read.

    ``path`` is the ground truth (a file or folder); with ``predictions`` the
    predictions that refer to it are read instead (COCO results resolve
    their image ids against the instances file, MOTChallenge outputs take
    frames and sizes from the sequences). ``image_root``: where the images
    are (COCO: the folder of the file names). A prediction without a score is
    an error unless ``assume_missing_scores`` (``vis4d eval --assume-score-1``)
    scores it 1.0.
    """

    path: Path
    labels: LabelOptions
    image_root: Path | None = None
    predictions: Path | None = None
    progress: bool = False
    assume_missing_scores: bool = False

    def load_options(self) -> LoadOptions:
        """The loaders' options: the labels' mappings and this request's rule for predictions without scores."""
        return dataclasses.replace(self.labels.load_options(), assume_missing_scores=self.assume_missing_scores)


# A dataset config section (of this format's type), the config's categories, and a label config that replaces the
# section's own (None: the section's, or the format's default).
OpenSection = Callable[[Any, Sequence[str], LabelConfig | None], DatasetSource]


@dataclasses.dataclass(frozen=True)
class DataFormat:
    """One data format's registry entry (see the module docstring)."""

    name: str
    summary: str
    open_section: OpenSection | None = None
    read: Callable[[ReadRequest], AnnotationStore] | None = None
    has_predictions: bool = True  # ``read`` also reads prediction files
    detect: Callable[[Path], bool] | None = None
    writer: type[PredictionWriter] | None = None
    ignore_rule: IgnoreRule = "bdd100k"
    default_label_config: Callable[[], LabelConfig] | None = None
    track_ids: bool = True
    exhaustive_labels: bool = True  # every object of every class is labelled (not TAO): TETA's classification FPs
    annotated_frames_only: bool = False  # only frames with a ground-truth box are evaluated (TAO, COCO videos)
    # Predictions are a file per video; a video without one is left out of the evaluation (MOTChallenge, as
    # motmetrics does; the loader warns).
    predicted_videos_only: bool = False

    def label_config(self, given: LabelConfig | None) -> LabelConfig | None:
        """The label config in force: the one given, else the format's default (BDD100K's), else none."""
        if given is not None:
            return given
        return self.default_label_config() if self.default_label_config is not None else None

    def super_categories(self, given: LabelConfig | None) -> dict[str, list[str]] | None:
        """Super-category groups for tracking metrics: the given label config's, else the format's default's."""
        for label_config in (given, self.label_config(None)):
            if label_config is not None and label_config.super_categories:
                return {name: list(members) for name, members in label_config.super_categories.items()}
        return None
