"""Benchmark conventions of tracking evaluation, per dataset: which ignore rule, which super-categories.

BDD100K removes predictions mostly inside ignore regions and reports averages
over its super-categories (human, vehicle, bike); MOTChallenge removes
predictions matched to distractors. TAO labels each video for some classes
only (labels are not exhaustive, which TETA's classification score heeds) and
knows only annotated images. The rule a format follows is stated in its
registry entry (:attr:`vis4d.data.formats.DataFormat.ignore_rule`), the
super-categories come from the label config in force. The trainer (per test
dataset of a config) and ``vis4d eval`` (per ``--format`` and ``--config``)
both ask here, so a file scored by either gets the same numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vis4d.data.formats import DataFormat, IgnoreRule, get_format
from vis4d.data.mapping import LabelConfig, load_label_config


@dataclasses.dataclass(frozen=True)
class TrackingConventions:
    """Keyword arguments of :func:`vis4d.eval.track.evaluate_tracking` that a benchmark fixes."""

    ignore_rule: IgnoreRule = "bdd100k"
    super_categories: dict[str, list[str]] | None = None
    exhaustive_labels: bool = True
    skip_frames_without_gt: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        """The fields as keyword arguments of ``evaluate_tracking``."""
        return dataclasses.asdict(self)


def format_conventions(fmt: DataFormat, label_config: LabelConfig | None) -> TrackingConventions:
    """The conventions of a format, with super-categories from ``label_config`` (else the format's default)."""
    return TrackingConventions(
        ignore_rule=fmt.ignore_rule,
        super_categories=fmt.super_categories(label_config),
        exhaustive_labels=fmt.exhaustive_labels,
        skip_frames_without_gt=fmt.annotated_frames_only,
    )


def dataset_conventions(section: Any) -> TrackingConventions:
    """The conventions of a config's test dataset section (its ``type`` and optional ``label_config`` file)."""
    label_config_file = getattr(section, "label_config", None)
    label_config = load_label_config(label_config_file) if label_config_file else None
    return format_conventions(get_format(section.type, "type"), label_config)
