"""``--cfg-options``: parse ``a.b=1,c=[1,2]`` and set the keys in a raw config dict.

Overrides are applied to the merged, not yet validated config dict, so the one
validation that follows checks their values like any value read from a file.
Their *keys* are checked here against the schema, because a misspelt key would
otherwise silently create a new entry (``trainer``) or fail with a message that
does not say which option caused it.

The schema helpers at the bottom walk :class:`~vis4d.config.schema.Config`
along a dotted path. Sections that pick their implementation with
``type = "..."`` are followed into the variant the raw config chose, so
``model.tracker.matching`` is valid exactly when the tracker is ``iou``.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field
from pydantic_core import PydanticUndefined

from vis4d.common.errors import ConfigError
from vis4d.config.schema import Config

OPTION = "--cfg-options"
SIMILARITY_CUTOFF = 0.6
SIMILARITY_MARGIN = 0.05

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_OPENERS = {"[": "]", "(": ")"}
_QUOTES = ("'", '"')


# ---------------------------------------------------------------------------- parsing
def parse_cfg_options(text: str) -> list[tuple[str, Any]]:
    """Parse ``key=value`` pairs separated by commas into ``(dotted key, typed value)``.

    Commas inside brackets or quotes belong to the value, so
    ``scales=[[720,1280],[640,1280]],lr=1e-4`` is two pairs. Values are typed
    by :func:`parse_value`.
    """
    pairs: list[tuple[str, Any]] = []
    for item in _split_top_level(text, text):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{OPTION}: expected key=value, got {item!r}")
        if any(not part for part in key.split(".")) or any(c.isspace() for c in key):
            raise ConfigError(f"{OPTION}: invalid key {key!r}; expected dotted names such as model.optimizer.lr")
        pairs.append((key, parse_value(value, context=item)))
    return pairs


def parse_value(text: str, context: str | None = None) -> Any:
    """Type one value: int, float, bool, none, list (nested), or string (quoted or bare).

    ``true``/``false`` and ``none``/``null`` are case-insensitive. Brackets
    ``[...]`` and parentheses ``(...)`` both give lists (pydantic turns them
    into tuples where the schema wants one). Anything else is a string, so
    ``type=qdtrack`` needs no quotes; quote a number to keep it a string.
    """
    where = context if context is not None else text
    text = text.strip()
    if not text:
        if context is not None and "=" in context and not context.partition("=")[2].strip():
            return ""  # ``key=``: the empty string (``model.weights=`` turns weights off)
        raise ConfigError(f"{OPTION}: missing value in {where!r}; write key=value (quote an empty string: key='')")
    if text[:1] in _OPENERS:
        if text[-1:] != _OPENERS[text[0]]:
            raise ConfigError(f"{OPTION}: unbalanced {text[0]!r} in {where!r}")
        inner = text[1:-1]
        if not inner.strip():
            return []
        return [parse_value(item, where) for item in _split_top_level(inner, where)]
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text[0] in _QUOTES or text[0] in "])":
        raise ConfigError(f"{OPTION}: unbalanced {text[0]!r} in {where!r}")
    return text


def _split_top_level(text: str, context: str) -> list[str]:
    """Split ``text`` at commas outside brackets and quotes."""
    items: list[str] = []
    closers: list[str] = []
    quote: str | None = None
    start = 0
    for index, char in enumerate(text):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char in _OPENERS:
            closers.append(_OPENERS[char])
        elif char in ")]":
            if not closers or closers.pop() != char:
                raise ConfigError(f"{OPTION}: unbalanced {char!r} in {context!r}")
        elif char == "," and not closers:
            items.append(text[start:index])
            start = index + 1
    if quote is not None:
        raise ConfigError(f"{OPTION}: unclosed quote {quote} in {context!r}")
    if closers:
        raise ConfigError(f"{OPTION}: missing {closers[-1]!r} in {context!r}")
    items.append(text[start:])
    return items


# --------------------------------------------------------------------------- applying
def apply_overrides(raw: dict[str, Any], pairs: Iterable[tuple[str, Any]], source: str = OPTION) -> dict[str, Any]:
    """Return a copy of ``raw`` with each dotted key set to its value, in order.

    Keys must exist in the schema (following the variant each ``type`` picks);
    list items are addressed by index (``train.0.name=x``). Missing sections
    are created, so ``model.optimizer.lr`` works without an ``[model.optimizer]``
    table in the file.
    """
    result = copy.deepcopy(raw)
    for key, value in pairs:
        _set_key(result, key, value, source)
    return result


def _set_key(root: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    if parts[0] == "base":
        raise ConfigError(f"{source}: 'base' cannot be overridden; base files are merged before overrides apply")
    annotation: Any = Config
    container: Any = root
    for depth, part in enumerate(parts):
        done = ".".join(parts[: depth + 1])
        child = child_schema(annotation, container, part)
        if child is None or not isinstance(container, dict | list):
            if child is None and is_section(annotation, container):
                raise ConfigError(unknown_key_message(source, key, root))
            raise ConfigError(f"{source}: cannot set {key!r}: {'.'.join(parts[:depth])!r} is a value, not a section")
        if isinstance(container, list):
            if not part.isdigit():
                raise ConfigError(f"{source}: cannot set {key!r}: {'.'.join(parts[:depth])!r} is a list; use an index")
            index = int(part)
            if index >= len(container):
                parent = ".".join(parts[:depth])
                raise ConfigError(f"{source}: {done!r}: index out of range; {parent!r} has {len(container)} item(s)")
            if depth == len(parts) - 1:
                container[index] = value
                return
            nxt = container[index]
        else:
            if depth == len(parts) - 1:
                if part == "type" and "type" in container and container["type"] != value:
                    _switch_type(container, annotation, value)
                container[part] = value
                return
            nxt = container.get(part)
            if nxt is not None and not isinstance(nxt, dict | list):
                raise ConfigError(f"{source}: cannot set {key!r}: {done!r} is a value, not a section")
            if nxt is None:
                if _list_like(child.annotation):
                    raise ConfigError(
                        f"{source}: cannot set {key!r}: {done!r} is not set in the config, so it has no items"
                    )
                nxt = _new_section(child)
                container[part] = nxt
        annotation, container = child.annotation, nxt


def _switch_type(container: dict[str, Any], annotation: Any, new_type: Any) -> None:
    """Switching implementation: only the fields of a base class both types share stay.

    ``model.type = "detector"`` -> ``"bytetrack"`` keeps ``ModelFields`` (``detector``, ``weights``, ...), so a
    detector config runs a tracker; two detectors share no section (their fields mean other things).
    """
    old_models, new_models = models_of(annotation, container) or [], models_of(annotation, {"type": new_type}) or []
    shared: set[str] = set()
    if len(old_models) == 1 and len(new_models) == 1:
        common = [cls for cls in old_models[0].__mro__ if cls in new_models[0].__mro__ and issubclass(cls, BaseModel)]
        shared = set(common[0].model_fields) if common else set()
    for key in [key for key in container if key not in shared]:
        del container[key]


def _new_section(child: ChildSchema) -> dict[str, Any]:
    """Return an empty section; a ``type`` union's keeps its default variant's type (pydantic needs the tag)."""
    if len(models_of(child.annotation, None) or []) > 1:
        return _default_type(child.default)
    return {}


def _default_type(default: Any) -> dict[str, Any]:
    """``{"type": ...}`` of a default model with a ``type`` field, else empty."""
    if isinstance(default, BaseModel) and "type" in type(default).model_fields:
        return {"type": getattr(default, "type")}  # noqa: B009 - BaseModel declares no ``type``
    return {}


# ----------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class ChildSchema:
    """The schema of one key: its annotation and, for model fields, its default."""

    annotation: Any
    default: Any = None


def models_of(annotation: Any, value: Any) -> list[type[BaseModel]] | None:
    """Return the model class(es) an annotation stands for, or None for non-model types.

    ``X | None`` and ``Annotated`` are unwrapped. For a union of models the one
    whose ``type`` literal matches ``value["type"]`` is chosen; when ``value``
    names no known type, every variant is returned.
    """
    annotation = _strip(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    if not _is_union(annotation):
        return None
    members = [member for member in get_args(annotation) if member is not type(None)]
    if not all(inspect.isclass(m) and issubclass(m, BaseModel) for m in members):
        return None
    tag = value.get("type") if isinstance(value, dict) else None
    chosen = [m for m in members if tag is not None and tag in type_tags(m)]
    return chosen or members


def type_tags(model: type[BaseModel]) -> tuple[Any, ...]:
    """Return the values a model's ``type`` literal allows (empty without a ``type`` field)."""
    field = model.model_fields.get("type")
    if field is None:
        return ()
    annotation = _strip(field.annotation)
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def child_schema(annotation: Any, container: Any, part: str) -> ChildSchema | None:
    """Return the schema of ``container[part]`` under ``annotation``; None if ``part`` is no key there."""
    models = models_of(annotation, container)
    if models is not None:
        for model in models:
            field = model.model_fields.get(part)
            renamed: dict[str, str] = getattr(model, "RENAMED", {})  # tracker sections: earlier option names
            if field is None and part in renamed:  # validation reads it as the current name
                field = model.model_fields.get(renamed[part])
            if field is not None:
                default = None if field.default is PydanticUndefined else field.default
                annotation = field.annotation
                if field.discriminator is not None:  # pydantic moved it out of the Annotated: a tagged union
                    annotation = Annotated[annotation, Field(discriminator=field.discriminator)]
                return ChildSchema(annotation, default)
        return None
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple):
        if not part.isdigit():
            return None
        if origin is tuple and args and args[-1] is not Ellipsis:
            return ChildSchema(args[int(part)]) if int(part) < len(args) else None
        return ChildSchema(args[0] if args else Any)
    if origin is dict:
        return ChildSchema(args[1] if args else Any)
    if annotation is Any or annotation is dict:
        return ChildSchema(Any)
    return None


def is_section(annotation: Any, value: Any) -> bool:
    """Whether keys below ``annotation`` exist (a model, list, tuple or dict), unlike a plain value."""
    if models_of(annotation, value) is not None:
        return True
    annotation = _strip(annotation)
    return annotation is Any or annotation in (dict, list) or get_origin(annotation) in (list, tuple, dict)


def dotted_paths(annotation: Any, value: Any, prefix: str = "") -> list[str]:
    """Every valid dotted key below ``annotation``, given the raw ``value`` there.

    List items and dict keys are listed only where the raw config has them.
    """
    paths: list[str] = []
    models = models_of(annotation, value)
    if models is not None:
        for model in models:
            for name, field in model.model_fields.items():
                path = f"{prefix}.{name}" if prefix else name
                sub = value.get(name) if isinstance(value, dict) else None
                if sub is None:
                    sub = _default_type(field.default) or None
                paths.append(path)
                paths.extend(dotted_paths(field.annotation, sub, path))
        return list(dict.fromkeys(paths))
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if origin is list and isinstance(value, list):
        item_annotation = get_args(annotation)[0] if get_args(annotation) else Any
        for index, item in enumerate(value):
            path = f"{prefix}.{index}"
            paths.append(path)
            paths.extend(dotted_paths(item_annotation, item, path))
    elif origin is dict and isinstance(value, dict):
        paths.extend(f"{prefix}.{key}" for key in value)
    return paths


def close_keys(key: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Return the candidates at ``key``'s depth most similar to it, best first.

    Dotted keys share long prefixes, which lifts every sibling's similarity;
    only matches nearly as close as the best one are kept, so a plain typo
    gets one suggestion rather than a list of siblings.
    """
    depth = key.count(".")
    scored = sorted(
        (
            (difflib.SequenceMatcher(None, key, candidate).ratio(), candidate)
            for candidate in dict.fromkeys(candidates)
            if candidate.count(".") == depth
        ),
        key=lambda item: -item[0],
    )
    if not scored or scored[0][0] < SIMILARITY_CUTOFF:
        return []
    best = scored[0][0]
    return [candidate for ratio, candidate in scored[:limit] if ratio >= best - SIMILARITY_MARGIN]


def unknown_key_message(source: str, key: str, raw: dict[str, Any]) -> str:
    """``"<source>: unknown key 'a.b'; did you mean 'a.c'?"``."""
    return f"{source}: {unknown_key_text(key, raw)}"


def unknown_key_text(key: str, raw: dict[str, Any]) -> str:
    """``"unknown key 'a.b'; did you mean 'a.c'?"``, suggesting valid keys of ``key``'s top-level section.

    A tracker option on a detector says which model type runs a tracker over a detector's detections.
    """
    model = raw.get("model")
    if f"{key}.".startswith("model.tracker.") and isinstance(model, dict) and model.get("type") == "detector":
        return (f"{key}: a detector (model.type = 'detector') has no tracker; model.type = 'bytetrack' runs any "
                "motion tracker (bytetrack, sort, ocsort, botsort, deepocsort, iou) over the same detector and "
                "weights, e.g. --cfg-options model.type=bytetrack,model.tracker.type=ocsort")  # fmt: skip
    section = key.split(".", 1)[0]
    section_schema = child_schema(Config, raw, section)
    if section_schema is not None and section != key:
        candidates = dotted_paths(section_schema.annotation, raw.get(section), section)
    else:
        candidates = dotted_paths(Config, raw)
    return f"unknown key {key!r}{suggestion(key, candidates)}"


def suggestion(key: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` (or several), empty when nothing is close."""
    matches = close_keys(key, candidates)
    if not matches:
        return ""
    quoted = [repr(match) for match in matches]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {listed}?"


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` metadata and ``None`` from ``X | None``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if _is_union(annotation):
            members = [member for member in get_args(annotation) if member is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _list_like(annotation: Any) -> bool:
    return get_origin(_strip(annotation)) in (list, tuple)
