"""Turn pydantic validation errors into one-line :class:`ConfigError` messages.

pydantic reports locations such as ``('model', 'qdtrack', 'optimizer', 'lr')``
where ``'qdtrack'`` is the tag of a discriminated union, not a key the user
wrote. The message names the key as written in the config
(``model.optimizer.lr``) and says what was expected, e.g.
``configs/x.toml: model.optimizer.lr: expected a number, got 'abc'``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from vis4d.common.errors import ConfigError
from vis4d.config.overrides import child_schema, models_of, type_tags, unknown_key_text
from vis4d.config.schema import Config

MAX_ERRORS = 3

_EXPECTED = {
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a table (key = value pairs)",
    "model_type": "a table (key = value pairs)",
    "model_attributes_type": "a table (key = value pairs)",
}


def config_error(exc: ValidationError, source: str, raw: dict[str, Any]) -> ConfigError:
    """One :class:`ConfigError` for all of ``exc``'s errors, joined with ``'; '`` on one line."""
    messages = list(dict.fromkeys(_describe(error, raw) for error in exc.errors()))
    text = "; ".join(messages[:MAX_ERRORS])
    if len(messages) > MAX_ERRORS:
        text += f" (and {len(messages) - MAX_ERRORS} more)"
    return ConfigError(f"{source}: {text}")


def key_path(loc: tuple[int | str, ...], raw: dict[str, Any]) -> tuple[list[str], Any]:
    """Return the keys a pydantic ``loc`` stands for (without union tags) and the schema found there."""
    annotation: Any = Config
    value: Any = raw
    parts: list[str] = []
    for item in loc:
        part = str(item)
        if part == "[key]":
            continue
        variants = models_of(annotation, None) or []
        if len(variants) > 1 or _discriminated(annotation):  # pydantic puts a union's chosen tag in the location
            tagged = [model for model in variants if part in type_tags(model)]
            if tagged:
                annotation = tagged[0]
                continue
        child = child_schema(annotation, value, part)
        annotation = child.annotation if child is not None else Any
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            value = None
        parts.append(part)
    return parts, annotation


def _discriminated(annotation: Any) -> bool:
    """Whether ``annotation`` is ``Annotated[..., Field(discriminator=...)]`` (a tagged union, even of one member)."""
    if get_origin(annotation) is not Annotated:
        return False
    return any(getattr(meta, "discriminator", None) for meta in get_args(annotation)[1:])


def _describe(error: ErrorDetails, raw: dict[str, Any]) -> str:
    """One error as ``path: what was expected, got what``."""
    kind = error["type"]
    parts, annotation = key_path(tuple(error["loc"]), raw)
    path = ".".join(parts)
    got = show_value(error.get("input"))
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return unknown_key_text(path, raw)
    if kind == "union_tag_invalid":
        return f"{path}.type: unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        tags = [repr(tag) for model in models_of(annotation, None) or [] for tag in type_tags(model)]
        return f"{path}.type: missing; expected one of {', '.join(tags)}"
    if kind == "missing":
        if parts and parts[-1].isdigit():
            return f"{'.'.join(parts[:-1])}: too few items, got {got}"
        return f"{path}: missing required field"
    if kind == "literal_error":
        return f"{path}: expected {ctx.get('expected')}, got {got}"
    if kind in _EXPECTED:
        hint = " (quote it to make it a string)" if kind == "string_type" and _is_number(error.get("input")) else ""
        return f"{path}: expected {_EXPECTED[kind]}, got {got}{hint}"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        return f"{path}: {message}" if path else message
    message = message[:1].lower() + message[1:]
    return f"{path}: {message}, got {got}" if path else f"{message}, got {got}"


def show_value(value: Any, limit: int = 60) -> str:
    """Spell a value as the config would, cut to ``limit`` characters."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "none"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def section_error(
    exc: ValidationError, section: str, raw_section: dict[str, Any], options: dict[str, str], source: str
) -> ConfigError:
    """One-line :class:`ConfigError` for a config section validated on its own (``[launch]`` with the CLI merged).

    An error in a key that came from the command line is named by its option
    (``options``: key -> ``--option``); any other by ``source`` and its dotted
    key, e.g. ``--exp_name: expected a plain name ...`` or
    ``cfg.toml: launch.seed: ...``.
    """
    raw = {section: raw_section}
    messages: list[str] = []
    for error in exc.errors():
        located: Any = {**error, "loc": (section, *error["loc"])}
        text = _describe(located, raw)
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in options:
            text = re.sub(rf"^{re.escape(section)}\.{re.escape(field)}(\.[^:]*)?:", f"{options[field]}:", text)
        else:
            text = f"{source}: {text}"
        messages.append(text)
    messages = list(dict.fromkeys(messages))
    text = "; ".join(messages[:MAX_ERRORS])
    if len(messages) > MAX_ERRORS:
        text += f" (and {len(messages) - MAX_ERRORS} more)"
    return ConfigError(text)
