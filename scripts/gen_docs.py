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

from vis4d.config import schema
from vis4d.engine.cli import build_parser

DOCS = Path(__file__).resolve().parent.parent / "docs"


def cli_reference() -> str:
    """docs/cli.md: the trainer's ``-h`` output."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; fix it for stable output
    help_text = build_parser().format_help()
    return (
        "# Command line reference\n\n"
        "Generated from the argument parser by `scripts/gen_docs.py`; do not edit by hand.\n\n"
        "```text\n" + help_text.rstrip() + "\n```\n"
    )


def _type_name(annotation: typing.Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or re.sub(r"vis4d\.config\.\w+\.", "", str(annotation).replace("typing.", ""))
    text = re.sub(r"Annotated\[(.*?), FieldInfo\(.*?\)\]", r"\1", text)
    return text.replace("|", "\\|")


def _section(model: type[BaseModel], title: str, seen: set[str]) -> list[str]:
    lines = [
        f"## {title}",
        "",
        (model.__doc__ or "").strip().splitlines()[0],
        "",
        "| field | type | default | description |",
        "|---|---|---|---|",
    ]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        if isinstance(field.get_default(call_default_factory=True), BaseModel):
            default = "(section)"
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | `{default}` | {field.description or ''} |")
        for arg in typing.get_args(field.annotation) or (field.annotation,):
            for inner in typing.get_args(arg) or (arg,):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner.__name__ not in seen:
                    seen.add(inner.__name__)
                    nested.append((inner, inner.__name__))
    lines.append("")
    for inner, inner_title in nested:
        lines.extend(_section(inner, inner_title, seen))
    return lines


def config_reference() -> str:
    """docs/config.md: every config section and field, from the pydantic schema."""
    header = [
        "# Config reference",
        "",
        "Generated from the pydantic schema (`vis4d/config/schema.py`) by `scripts/gen_docs.py`; do not edit by hand.",
        "Sections that pick an implementation have a `type` field; each type lists its own fields.",
        "",
    ]
    return "\n".join(header + _section(schema.Config, "Config (top level)", {"Config"})).rstrip() + "\n"


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
