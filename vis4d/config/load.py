"""Read config files (.toml/.yaml), merge their bases, apply overrides, validate once.

The order is fixed: base files (depth first, in listed order), then the file's
own keys, then ``--cfg-options``, then one validation of the result. Merging
works on plain dicts: tables merge key by key, lists and values replace, so a
base's ``transforms`` list is replaced, not appended to.
"""

from __future__ import annotations

import copy
import inspect
import os
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vis4d.common.errors import ConfigError
from vis4d.common.io import atomic_open
from vis4d.config.errors import config_error
from vis4d.config.migrate import migrate_key, migrate_raw
from vis4d.config.overrides import apply_overrides, parse_cfg_options, suggestion
from vis4d.config.schema import Config

TOML_SUFFIXES = (".toml",)
YAML_SUFFIXES = (".yaml", ".yml")


def load_config(path: str | Path, overrides: list[str] | str | None = None) -> Config:
    """Load ``path`` with its bases, apply ``--cfg-options`` overrides, validate.

    ``overrides`` is the option's text (``"a.b=1,c=[1,2]"``) or a list of such
    texts, applied in order. Every failure raises :class:`ConfigError`.
    """
    try:
        raw = migrate_raw(load_raw_config(path), str(path))
        texts = [overrides] if isinstance(overrides, str) else list(overrides or [])
        pairs = [(migrate_key(k, "--cfg-options"), value) for text in texts for k, value in parse_cfg_options(text)]
        if pairs:
            raw = apply_overrides(raw, pairs)
        return validate_config(raw, str(path))
    except RecursionError:  # the parsers, merging and validation recurse per nesting level
        raise ConfigError(f"{path}: nested too deeply to be a config (thousands of levels of lists)") from None


def load_raw_config(path: str | Path) -> dict[str, Any]:
    """Return the file merged over its bases, unvalidated, without the ``base`` key."""
    return _load_merged(Path(path), chain=(), included_from=None)


def validate_config(raw: dict[str, Any], source: str) -> Config:
    """Validate a merged raw config; errors name ``source`` and the key path."""
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, source, raw) from None
    validate_trainer_options(config.trainer, source)
    return config


def validate_trainer_options(options: dict[str, Any], source: str) -> None:
    """Check that every ``[trainer]`` key is a ``lightning.pytorch.Trainer`` argument."""
    if not options:
        return
    valid = TRAINER_ARGUMENTS
    for key in options:
        if key not in valid:
            raise ConfigError(
                f"{source}: unknown key 'trainer.{key}'{suggestion(f'trainer.{key}', [f'trainer.{v}' for v in valid])}"
                " ([trainer] takes lightning.pytorch.Trainer arguments)"
            )


# The keyword arguments of ``lightning.pytorch.Trainer.__init__`` (Lightning 2.6). Listed rather than read from
# Lightning, whose import takes seconds: a config is checked before anything is built (a test keeps the list equal
# to the installed Trainer's signature).
TRAINER_ARGUMENTS = (
    "accelerator", "strategy", "devices", "num_nodes", "precision", "logger", "callbacks", "fast_dev_run",
    "max_epochs", "min_epochs", "max_steps", "min_steps", "max_time", "limit_train_batches", "limit_val_batches",
    "limit_test_batches", "limit_predict_batches", "overfit_batches", "val_check_interval", "check_val_every_n_epoch",
    "num_sanity_val_steps", "log_every_n_steps", "enable_checkpointing", "enable_progress_bar",
    "enable_model_summary", "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm",
    "deterministic", "benchmark", "inference_mode", "use_distributed_sampler", "profiler", "detect_anomaly",
    "barebones", "plugins", "sync_batchnorm", "reload_dataloaders_every_n_epochs", "default_root_dir",
    "enable_autolog_hparams", "model_registry",
)  # fmt: skip


def installed_trainer_arguments() -> tuple[str, ...]:
    """The keyword arguments of the installed ``lightning.pytorch.Trainer`` (imports Lightning; for the tests)."""
    from lightning.pytorch import Trainer

    parameters = inspect.signature(Trainer.__init__).parameters.values()
    return tuple(p.name for p in parameters if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def dump_config(cfg: Config, path: str | Path) -> None:
    """Write the fully resolved config as YAML, atomically; :func:`load_config` reads it back equal."""
    data = _plain(cfg.model_dump(mode="python", exclude={"base"}))
    with atomic_open(path, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, allow_unicode=True)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Return a new dict with ``top`` over ``base``: dicts merge recursively, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _load_merged(path: Path, chain: tuple[Path, ...], included_from: Path | None) -> dict[str, Any]:
    """``path``'s bases merged in order, then its own keys; ``chain`` holds the including files."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain[chain.index(resolved) :], resolved))
        raise ConfigError(f"{included_from}: base files include each other in a cycle: {cycle}")
    own = read_config_file(path, included_from)
    merged: dict[str, Any] = {}
    for base in _base_list(own.pop("base", []), path):
        base_path = Path(os.path.normpath(path.parent / os.path.expanduser(base)))
        merged = deep_merge(merged, _load_merged(base_path, (*chain, resolved), path))
    return deep_merge(merged, own)


def _base_list(value: Any, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ConfigError(f"{path}: base: expected a file path or a list of file paths, got {value!r}")


def read_config_file(path: Path, included_from: Path | None = None) -> dict[str, Any]:
    """One file's content as a dict (no base merging)."""
    where = f" (base of {included_from})" if included_from is not None else ""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a config file (.toml, .yaml or .yml){where}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}{where}")
    suffix = path.suffix.lower()
    if suffix not in TOML_SUFFIXES + YAML_SUFFIXES:
        raise ConfigError(f"{path}: unsupported config format {path.suffix!r}; expected .toml, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file{where}: {exc}") from None
    if suffix in TOML_SUFFIXES:
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {_yaml_problem(exc)}") from None
        data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message cut to its problem and 1-based position."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    problem = " ".join(str(problem).split())
    if mark is None:
        return problem
    return f"{problem} (at line {mark.line + 1}, column {mark.column + 1})"


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: YAML's safe dumper writes only plain types."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
