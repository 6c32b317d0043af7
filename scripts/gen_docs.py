"""Generate the CLI and config references in docs/ from the code, so they never drift.

python scripts/gen_docs.py          # rewrite docs/cli.md and docs/config.md
python scripts/gen_docs.py --check  # exit 1 if they are out of date (run by the tests)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import typing
from pathlib import Path

from pydantic import BaseModel

from vis4d import cli as vis4d_cli
from vis4d.config import schema
from vis4d.engine.cli import action_parsers, build_parser

DOCS = Path(__file__).resolve().parent.parent / "docs"


# The usage examples of the command-line spec, verbatim (tests/test_docs_run.py runs each of them).
SPEC_USAGE = (Path(__file__).resolve().parent / "cli_usage.md").read_text()


def cli_reference() -> str:
    """docs/cli.md: the trainer's ``-h`` output, then each action's own ``ACTION -h``."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; fix it for stable output
    parser = build_parser()
    parts = [
        "# Command line reference\n\n"
        "Generated from the argument parser by `scripts/gen_docs.py`; do not edit by hand.\n"
        "`vis4d train|test|predict` is the same program as `python3 -m vis4d.engine.trainer train|test|predict`.\n\n"
        + SPEC_USAGE
        + "\n## All options\n\n`python3 -m vis4d.engine.trainer -h`:\n\n"
        "```text\n" + parser.format_help().rstrip() + "\n```\n"
    ]
    for action, sub in action_parsers(parser).items():
        parts.append(f"\n## {action}\n\n```text\n" + sub.format_help().rstrip() + "\n```\n")
    parts.append(
        "\n## The vis4d command\n\n`vis4d -h` (each command's own options: `vis4d COMMAND -h`):\n\n"
        f"```text\n{vis4d_cli.USAGE}\n```\n\n`vis4d data -h`:\n\n```text\n{vis4d_cli.DATA_USAGE}\n```\n"
    )
    return "".join(parts)


def _type_name(annotation: typing.Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or re.sub(r"vis4d\.config\.\w+\.", "", str(annotation).replace("typing.", ""))
    text = re.sub(r"Annotated\[(.*?), FieldInfo\(.*?\)\]", r"\1", text)
    return text.replace("|", "\\|")


def _models_in(annotation: typing.Any) -> list[type[BaseModel]]:
    """The config sections an annotation holds, through lists, unions and ``Annotated`` (in order)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _title(model: type[BaseModel]) -> str:
    """A section's heading; a type of a union says the ``type`` value that picks it."""
    if model is schema.Config:
        return "Config (top level)"
    field = model.model_fields.get("type")
    choices = typing.get_args(field.annotation) if field is not None else ()
    return f'{model.__name__} (`type = "{choices[0]}"`)' if len(choices) == 1 else model.__name__


def _section(model: type[BaseModel], seen: set[str]) -> list[str]:
    lines = [
        f"## {_title(model)}",
        "",
        (model.__doc__ or "").strip().splitlines()[0],
        "",
        "| field | type | default | description |",
        "|---|---|---|---|",
    ]
    nested: list[type[BaseModel]] = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        if isinstance(field.get_default(call_default_factory=True), BaseModel):
            default = "(section)"
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | `{default}` | {field.description or ''} |")
        for inner in _models_in(field.annotation):
            if inner.__name__ not in seen:
                seen.add(inner.__name__)
                nested.append(inner)
    lines.append("")
    for inner in nested:
        lines.extend(_section(inner, seen))
    return lines


def config_reference() -> str:
    """docs/config.md: every config section and field, from the pydantic schema."""
    header = [
        "# Config reference",
        "",
        "Generated from the pydantic schema (`vis4d/config/schema.py`) by `scripts/gen_docs.py`; do not edit by hand.",
        "Sections that pick an implementation (`model`, `model.tracker`, each `[[train]]` / `[[test]]` dataset, each",
        "entry of a handler's `transforms`) have a `type` field; each type has its own section below, headed by the",
        "`type` value that selects it, with its own fields.",
        "",
    ]
    return "\n".join(header + _section(schema.Config, {"Config"})).rstrip() + "\n"


def main() -> int:
    """Write or check the generated docs."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in (("cli.md", cli_reference()), ("config.md", config_reference())):
        path = DOCS / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"docs out of date: {', '.join(stale)}; run python scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
