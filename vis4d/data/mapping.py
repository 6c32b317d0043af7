"""Category mapping: a dataset's category names -> the config's contiguous class ids.

The config's ``categories`` list is the single source of class ids. A dataset
name reaches it in one of three ways, checked in this order:

1. it is a config category itself;
2. ``name_mapping[name]`` is a config category (e.g. BDD100K ``person`` ->
   ``pedestrian``);
3. ``ignored_mapping[name]`` is a config category: the box is loaded with that
   class but ``ignore=True`` (e.g. ``other vehicle`` -> ``car``): it is neither
   a positive nor a false positive in training and evaluation. With
   ``remove_ignored`` such boxes are dropped instead; with ``ignored_as_class``
   they get the class ``"ignored"`` (which must then be a config category) and
   are not ignore regions — the BDD100K toolkit's meaning of those flags.

Anything else is unknown: an error that lists every unknown name with its
count, or dropped when ``unknown_categories="drop"``. Crowd boxes are mapped
like others and flagged ``crowd`` and ``ignore`` by the loaders.

:func:`load_label_config` reads a Scalabel / BDD100K label config (TOML, JSON
or YAML) into a :class:`LabelConfig`; evaluation uses its super-categories.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vis4d.common.errors import ConfigError, DataError

IGNORED_CLASS = "ignored"
UnknownPolicy = Literal["error", "drop"]
BadInputPolicy = Literal["fail", "skip"]


@dataclasses.dataclass(frozen=True)
class LoadOptions:
    """How a loader maps category names and treats bad labels: the fields every dataset section shares.

    Built from a dataset config section with :meth:`of`; the loaders of every
    format take one of these instead of six keywords each.
    """

    name_mapping: Mapping[str, str] = dataclasses.field(default_factory=dict)
    ignored_mapping: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unknown_categories: UnknownPolicy = "error"
    on_malformed: BadInputPolicy = "fail"
    on_degenerate_box: BadInputPolicy = "skip"
    skip_empty_frames: bool = False
    # Predictions (Scalabel labels of a prediction file, COCO results, MOTChallenge tracker output) without a score
    # are an error (MissingScoreError) unless this scores them 1.0; ground truth has no scores and always gets 1.0.
    assume_missing_scores: bool = False

    @classmethod
    def of(cls, section: Any) -> LoadOptions:
        """The options of a dataset config section (the fields it has; the others keep their defaults)."""
        return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls) if hasattr(section, f.name)})


DEFAULT_LOAD_OPTIONS = LoadOptions()


@dataclasses.dataclass
class LabelConfig:
    """A Scalabel / BDD100K label config: category tree and name mappings.

    ``categories`` are the leaf names in file order (the classes that are
    evaluated); ``super_categories`` maps every inner node of the tree to the
    leaves below it (BDD100K reports averages over ``human``, ``vehicle``,
    ``bike``). ``image_size`` is (height, width) when the config gives one.
    """

    categories: list[str]
    super_categories: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    name_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    ignored_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    remove_ignored: bool = False
    ignored_as_class: bool = False
    image_size: tuple[int, int] | None = None


def _collect_tree(nodes: Any, source: str, leaves: list[str], supers: dict[str, list[str]], path: str) -> list[str]:
    """Walk a Scalabel category tree; return the leaves under ``nodes`` (appended to ``leaves`` too)."""
    if not isinstance(nodes, list):
        raise ConfigError(f"{source}: {path}: expected a list of categories, got {type(nodes).__name__}")
    found: list[str] = []
    for position, node in enumerate(nodes):
        if isinstance(node, str):
            name, children = node, None
        elif isinstance(node, dict) and isinstance(node.get("name"), str):
            name, children = node["name"], node.get("subcategories")
        else:
            raise ConfigError(f"{source}: {path}[{position}]: expected a category name or {{name, subcategories}}")
        if children:
            below = _collect_tree(children, source, leaves, supers, f"{path}[{position}].subcategories")
            supers[name] = below
            found.extend(below)
        else:
            leaves.append(name)
            found.append(name)
    return found


def _string_dict(value: Any, source: str, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{source}: {key}: expected a table of category name -> category name")
    return dict(value)


def label_config_from_dict(raw: Mapping[str, Any], source: str) -> LabelConfig:
    """Build a :class:`LabelConfig` from a parsed config (the ``scalabel`` section or the top level)."""
    section = raw.get("scalabel", raw)
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: scalabel: expected a table")
    leaves: list[str] = []
    supers: dict[str, list[str]] = {}
    if "categories" not in section:
        raise ConfigError(f"{source}: no 'categories' (expected a [scalabel] section with a category tree)")
    _collect_tree(section["categories"], source, leaves, supers, "categories")
    if len(set(leaves)) != len(leaves):
        raise ConfigError(f"{source}: categories: leaf names must be unique, got {leaves}")
    image_size = None
    size = section.get("imageSize") or section.get("image_size")
    if isinstance(size, Mapping) and {"height", "width"} <= set(size):
        image_size = (int(size["height"]), int(size["width"]))

    def flag(key: str) -> bool:
        value = raw.get(key, section.get(key, False))
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key}: expected true or false, got {value!r}")
        return value

    return LabelConfig(
        categories=leaves,
        super_categories=supers,
        name_mapping=_string_dict(raw.get("name_mapping", section.get("name_mapping")), source, "name_mapping"),
        ignored_mapping=_string_dict(
            raw.get("ignored_mapping", section.get("ignored_mapping")), source, "ignored_mapping"
        ),
        remove_ignored=flag("remove_ignored"),
        ignored_as_class=flag("ignored_as_class"),
        image_size=image_size,
    )


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML, JSON or YAML file into a dict; errors name the file (and line when known)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"label config not found: {file}")
    text = file.read_text(encoding="utf-8")
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"{file}: unsupported config format {suffix!r}; expected .toml, .json or .yaml")
    except json.JSONDecodeError as error:
        raise ConfigError(f"{file}:{error.lineno}:{error.colno}: malformed JSON: {error.msg}") from None
    except RecursionError:  # Python's parser recurses per nesting level
        raise ConfigError(f"{file}: nested too deeply to be a label config") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: malformed TOML: {error}") from None
    except ConfigError:
        raise
    except Exception as error:  # yaml.YAMLError carries its own line information
        raise ConfigError(f"{file}: malformed YAML: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a table at the top level")
    return data


def load_label_config(path: str | Path) -> LabelConfig:
    """Read a Scalabel / BDD100K label config (e.g. BDD100K's ``box_track.toml``)."""
    return label_config_from_dict(read_config_file(path), str(path))


def is_label_config(raw: Mapping[str, Any]) -> bool:
    """Whether a parsed config file is a Scalabel label config rather than a vis4d config."""
    if "scalabel" in raw:
        return True
    categories = raw.get("categories")
    return "model" not in raw and isinstance(categories, list) and any(isinstance(c, dict) for c in categories)


@dataclasses.dataclass
class MappedNames:
    """Per-box result of mapping dataset names: config category name, ignore flag, keep flag."""

    targets: npt.NDArray[np.str_]
    ignore: npt.NDArray[np.bool_]
    keep: npt.NDArray[np.bool_]


def unique_strings(values: npt.NDArray[np.str_], limit: int = 64) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` for a string column with few distinct values (category names).

    Sorting a million strings is the slow part of ``np.unique``; with a few
    dozen distinct names, peeling one name off at a time (a vectorised
    comparison each) is several times faster. More than ``limit`` distinct
    values: ``np.unique`` itself.
    """
    found: list[Any] = []
    rest = values
    while len(rest):
        if len(found) == limit:
            uniques, inverse = np.unique(values, return_inverse=True)
            return uniques, inverse.reshape(-1).astype(np.int64)
        found.append(rest[0])
        rest = rest[rest != rest[0]]
    uniques = np.sort(np.array(found, dtype=values.dtype))
    inverse = np.zeros(len(values), dtype=np.int64)
    for index in range(1, len(uniques)):
        inverse[values == uniques[index]] = index
    return uniques, inverse


class CategoryMapper:
    """Maps dataset category names onto a category list (see the module docstring for the rules).

    ``categories=None`` discovers the categories from the data: every mapped
    name found becomes a category, sorted (used by ``vis4d data stats`` and by
    evaluation without a config).
    """

    def __init__(
        self,
        categories: Sequence[str] | None,
        name_mapping: Mapping[str, str] | None = None,
        ignored_mapping: Mapping[str, str] | None = None,
        unknown_categories: UnknownPolicy = "error",
        remove_ignored: bool = False,
        ignored_as_class: bool = False,
    ) -> None:
        self.categories = None if categories is None else tuple(categories)
        self.name_mapping = dict(name_mapping or {})
        self.ignored_mapping = dict(ignored_mapping or {})
        self.unknown_categories = unknown_categories
        self.remove_ignored = remove_ignored
        self.ignored_as_class = ignored_as_class
        if ignored_as_class and self.categories is not None and IGNORED_CLASS not in self.categories:
            raise ConfigError(f"ignored_as_class needs a category named {IGNORED_CLASS!r} in the categories list")

    @classmethod
    def from_label_config(
        cls, categories: Sequence[str] | None, label_config: LabelConfig | None, options: LoadOptions
    ) -> CategoryMapper:
        """Use a label config's mappings, with a dataset config's own mappings on top (those win)."""
        base_names = dict(label_config.name_mapping) if label_config else {}
        base_ignored = dict(label_config.ignored_mapping) if label_config else {}
        base_names.update(options.name_mapping)
        base_ignored.update(options.ignored_mapping)
        return cls(
            categories,
            base_names,
            base_ignored,
            options.unknown_categories,
            remove_ignored=label_config.remove_ignored if label_config else False,
            ignored_as_class=label_config.ignored_as_class if label_config else False,
        )

    def _known(self, name: str) -> bool:
        return self.categories is None or name in self.categories

    def resolve(self, name: str) -> tuple[str | None, bool, bool]:
        """``(config category or None, ignore, known)`` for one dataset name.

        ``None`` with ``known=True`` means the box is deliberately dropped
        (``remove_ignored``).
        """
        if self.categories is not None and name in self.categories:
            return name, False, True
        if name in self.name_mapping and self._known(self.name_mapping[name]):
            return self.name_mapping[name], False, True
        if name in self.ignored_mapping and self._known(self.ignored_mapping[name]):
            if self.remove_ignored:
                return None, True, True
            if self.ignored_as_class:
                return IGNORED_CLASS, False, True
            return self.ignored_mapping[name], True, True
        if self.categories is None:
            return name, False, True
        return None, False, False

    def map_names(self, names: npt.NDArray[np.str_], describe_box: Callable[[int], str]) -> MappedNames:
        """Map every box's dataset name; unknown names raise (listing all of them) unless dropped.

        Vectorised: only the distinct names are resolved in Python.
        """
        if len(names) == 0:
            return MappedNames(np.zeros(0, np.str_), np.zeros(0, bool), np.zeros(0, bool))
        uniques, inverse = unique_strings(names)
        counts = np.bincount(inverse, minlength=len(uniques))
        resolved = [self.resolve(str(name)) for name in uniques]
        unknown = np.array([not known for _, _, known in resolved])
        if unknown.any() and self.unknown_categories == "error":
            listing = ", ".join(
                f"'{uniques[i]}' ({counts[i]} box{'es' if counts[i] != 1 else ''})" for i in np.flatnonzero(unknown)
            )
            first = int(np.flatnonzero(unknown[inverse])[0])
            expected = ", ".join(self.categories or ())
            raise DataError(
                f"{describe_box(first)}: unknown categor{'ies' if unknown.sum() > 1 else 'y'} {listing}; "
                f"expected one of [{expected}] or a name_mapping / ignored_mapping entry "
                '(or set unknown_categories = "drop")'
            )
        targets = np.array([target or "" for target, _, _ in resolved], dtype=np.str_)
        ignore = np.array([flag for _, flag, _ in resolved], dtype=bool)
        keep = np.array([target is not None for target, _, _ in resolved], dtype=bool)
        return MappedNames(targets[inverse], ignore[inverse], keep[inverse])

    def class_ids(self, targets: npt.NDArray[np.str_]) -> tuple[tuple[str, ...], npt.NDArray[np.int64]]:
        """Return the category list (given, or discovered and sorted) and each box's class id in it."""
        uniques, inverse = unique_strings(targets)
        categories = self.categories
        if categories is None:
            categories = tuple(sorted(str(name) for name in uniques))
        if len(targets) == 0:
            return categories, np.zeros(0, np.int64)
        lookup = {name: index for index, name in enumerate(categories)}
        ids = np.array([lookup[str(name)] for name in uniques], dtype=np.int64)
        return categories, ids[inverse.reshape(-1)]
