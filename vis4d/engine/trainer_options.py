"""Lightning Trainer options checked before Lightning sees them: each wrong value is one line naming the option.

Lightning accepts some wrong values silently (a zero accumulation, a negative
clip value) or fails only after the model is built; and importing it takes
seconds. The checks here need neither: strategy names and precisions are
listed (tests keep the lists equal to the installed Lightning's).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from vis4d.common.errors import ConfigError

DEVICES_EXPECTED = "expected a number of devices (1 or more), a comma-separated list of device indices, or auto"


def parse_devices(value: Any, option: str = "--devices") -> int | list[int] | str:
    """``8`` -> 8, ``2,3`` -> [2, 3], ``auto`` -> "auto"; anything else is a :class:`ConfigError` naming ``option``.

    ``-1`` (Lightning's "all devices") is refused: say how many, or ``auto``.
    A list from a config file (``devices = [0, 1]``) is checked the same way.
    """
    if isinstance(value, list):
        indices = value
    elif isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
        return value
    else:
        text = str(value).strip()
        if text == "auto":
            return text
        if "," not in text:
            if not text.isdigit() or int(text) < 1:
                raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
            return int(text)
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts or not all(part.isdigit() for part in parts):
            raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
        indices = [int(part) for part in parts]
    if not indices or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices):
        raise ConfigError(f"{option}: {DEVICES_EXPECTED}, got {value!r}")
    if len(set(indices)) != len(indices):
        raise ConfigError(f"{option}: a device index is listed twice in {value!r}")
    return list(indices)


# Lightning's precision names (lightning.fabric's _PRECISION_INPUT), as the command line spells them.
PRECISIONS = (
    "64", "32", "16", "bf16", "64-true", "32-true", "16-true", "16-mixed", "bf16-true", "bf16-mixed",
    "transformer-engine", "transformer-engine-float16",
)  # fmt: skip
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


def _count(minimum: int, allow_minus_one: bool = False) -> Callable[[Any], str | None]:
    """A check for a whole number >= ``minimum`` (or -1, Lightning's "no limit")."""

    def check(value: Any) -> str | None:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if whole and (value >= minimum or (allow_minus_one and value == -1)):
            return None
        return f"expected a whole number >= {minimum}" + (" (or -1 for no limit)" if allow_minus_one else "")

    return check


def _batches(positive: bool) -> Callable[[Any], str | None]:
    """A check for Lightning's batch limits: a fraction in [0, 1] or a whole number of batches."""

    def check(value: Any) -> str | None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        fits = number and 0 <= value < float("inf") and (value <= 1 or float(value).is_integer())
        if fits and (value > 0 or not positive):
            return None
        low = "(0, 1]" if positive else "[0, 1]"
        return f"expected a fraction in {low} or a whole number of batches"

    return check


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if str(value) in choices else f"expected one of {', '.join(choices)}"

    return check


def _non_negative(value: Any) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return None if number and 0 <= value < float("inf") else "expected a number >= 0"


# What each Lightning option accepts; Lightning itself accepts some of these wrong values silently (a zero
# accumulation, a negative clip value) or fails only after the model is built.
_OPTION_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "num_nodes": _count(1),
    "max_epochs": _count(1, allow_minus_one=True),
    "max_steps": _count(1, allow_minus_one=True),
    "limit_train_batches": _batches(positive=False),
    "limit_val_batches": _batches(positive=False),
    "limit_test_batches": _batches(positive=False),
    "limit_predict_batches": _batches(positive=False),
    "val_check_interval": _batches(positive=True),
    "check_val_every_n_epoch": _count(1),
    "log_every_n_steps": _count(1),
    "accumulate_grad_batches": _count(1),
    "gradient_clip_val": _non_negative,
    "num_sanity_val_steps": _count(0, allow_minus_one=True),
    "precision": _choice(PRECISIONS),
    "accelerator": _choice(ACCELERATORS),
}


def check_trainer_options(options: dict[str, Any], where: Callable[[str], str]) -> None:
    """Check the Lightning options before Lightning sees them; ``where(key)`` names one (``--key`` or its file).

    Devices are parsed (:func:`parse_devices`) and strategies looked up in
    Lightning's registry; whether the machine has what they ask for is
    :func:`vis4d.engine.resolve.check_devices`'s job.
    """
    for key, value in options.items():
        check = _OPTION_CHECKS.get(key)
        problem = check(value) if check is not None else None
        if problem is not None:
            raise ConfigError(f"{where(key)}: {problem}, got {value!r}")
        if key in ("devices", "gpus"):
            parse_devices(value, where(key))
        if key == "strategy" and isinstance(value, str):
            _check_strategy(value, where(key))


# Lightning's registered strategy names (StrategyRegistry of lightning 2.6; a test keeps the list equal to the
# installed registry). Checking against this list answers a typo without importing Lightning (seconds).
LIGHTNING_STRATEGIES = (
    "ddp", "ddp_find_unused_parameters_false", "ddp_find_unused_parameters_true", "ddp_fork",
    "ddp_fork_find_unused_parameters_false", "ddp_fork_find_unused_parameters_true", "ddp_notebook",
    "ddp_notebook_find_unused_parameters_false", "ddp_notebook_find_unused_parameters_true", "ddp_spawn",
    "ddp_spawn_find_unused_parameters_false", "ddp_spawn_find_unused_parameters_true", "deepspeed",
    "deepspeed_stage_1", "deepspeed_stage_2", "deepspeed_stage_2_offload", "deepspeed_stage_3",
    "deepspeed_stage_3_offload", "deepspeed_stage_3_offload_nvme", "fsdp", "fsdp_cpu_offload", "single_device",
    "single_tpu", "single_xla", "xla", "xla_debug",
)  # fmt: skip


def _check_strategy(name: str, option: str) -> None:
    if name == "dp":
        raise ConfigError(f"{option}: 'dp' (DataParallel) does not exist in Lightning 2; use ddp")
    if name in ("auto", *LIGHTNING_STRATEGIES):
        return
    registry = sys.modules.get("lightning.pytorch.strategies")  # strategies a plugin registered, if loaded
    if registry is None or name not in registry.StrategyRegistry.available_strategies():
        common = "auto, ddp, ddp_spawn, fsdp, deepspeed"
        raise ConfigError(f"{option}: unknown strategy {name!r}; expected one of {common} (or another of Lightning's)")
