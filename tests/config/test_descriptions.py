"""Every config field says what it does, and docs/config.md shows every dataset type and transform with its fields."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from vis4d.config import schema

ROOT = Path(__file__).resolve().parents[2]


def _sections(annotation: typing.Any, found: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Every section reachable from ``annotation``, through lists, unions and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ not in found:
            found[annotation.__name__] = annotation
            for field in annotation.model_fields.values():
                _sections(field.annotation, found)
        return found
    for arg in typing.get_args(annotation):
        _sections(arg, found)
    return found


def _members(union: typing.Any) -> list[type[BaseModel]]:
    return list(_sections(union, {}).values())


def test_every_field_has_a_description() -> None:
    sections = _sections(schema.Config, {})
    assert {"ScalabelDatasetConfig", "SyntheticDatasetConfig", "ResizeConfig", "PhotometricConfig"} <= set(sections)
    missing = [
        f"{name}.{field_name}"
        for name, section in sections.items()
        for field_name, field in section.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not missing, "fields without a description: " + ", ".join(missing)


def test_the_reference_shows_each_dataset_type_and_transform_with_its_fields() -> None:
    text = (ROOT / "docs" / "config.md").read_text()
    types = [*_members(schema.DatasetConfig), *_members(schema.TransformConfig)]
    assert len(types) == 11
    for section in types:
        (value,) = typing.get_args(section.model_fields["type"].annotation)
        heading = f'## {section.__name__} (`type = "{value}"`)\n'
        assert heading in text, heading
        table = text.split(heading, 1)[1].split("\n## ", 1)[0]
        for name, field in section.model_fields.items():
            assert f"| `{name}` |" in table and f"| {field.description} |" in table, f"{section.__name__}.{name}"
    assert "|  |\n" not in text  # no empty description cell anywhere
