"""The format registry is the one list of formats: the config schema, the writers and the CLIs agree with it."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from vis4d.common.errors import ConfigError, DataError
from vis4d.config.schema import DatasetConfig, LaunchConfig
from vis4d.data.formats import FORMATS, detect_format, format_names, get_format


def _literal_values(annotation: typing.Any) -> set[str]:
    """Every string of the Literal types inside an annotation (unions, lists, Annotated)."""
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    values: set[str] = set()
    for arg in typing.get_args(annotation):
        values |= _literal_values(arg)
    return values


def test_every_dataset_type_of_the_schema_is_a_registered_format() -> None:
    union = typing.get_args(DatasetConfig)[0]
    types = {member.model_fields["type"].default for member in typing.get_args(union)}
    assert types == set(format_names(lambda fmt: fmt.open_section))


def test_output_formats_of_the_schema_are_the_writable_formats() -> None:
    annotation = LaunchConfig.model_fields["output_formats"].annotation
    assert _literal_values(annotation) == set(format_names(lambda fmt: fmt.writer))


def test_unknown_format_names_the_option_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"--format: unknown format 'mot'; expected one of \['scalabel'"):
        get_format("mot")
    assert get_format("motchallenge").ignore_rule == "motchallenge"


def test_detection_order(tmp_path: Path) -> None:
    (tmp_path / "SEQ" / "gt").mkdir(parents=True)
    (tmp_path / "SEQ" / "gt" / "gt.txt").write_text("1,1,0,0,1,1,1,1,1\n")
    coco = tmp_path / "instances.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    scalabel = tmp_path / "labels.json"
    scalabel.write_text('{"frames": [], "images": []}')
    assert detect_format(tmp_path) == "motchallenge"
    assert detect_format(coco) == "coco"
    assert detect_format(scalabel) == "scalabel"  # a "frames" key makes it Scalabel even beside "images"
    assert detect_format(tmp_path / "SEQ") == "scalabel"  # a folder of anything else: Scalabel files
    with pytest.raises(DataError, match="does not exist"):
        detect_format(tmp_path / "missing")


def test_super_categories_come_from_the_label_config_then_the_format_default() -> None:
    from vis4d.data.mapping import LabelConfig

    bdd = FORMATS["bdd100k"]
    assert bdd.super_categories(None) == {
        "human": ["pedestrian", "rider"],
        "vehicle": ["car", "truck", "bus", "train"],
        "bike": ["motorcycle", "bicycle"],
    }
    own = LabelConfig(["a", "b"], super_categories={"ab": ["a", "b"]})
    assert bdd.super_categories(own) == {"ab": ["a", "b"]}
    assert FORMATS["scalabel"].super_categories(None) is None
