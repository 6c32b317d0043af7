"""The building blocks of every config section: strict models and field types that carry their ranges.

Ranges live in the types (``Probability``, ``PositiveInt``...) so that one
declaration checks a value wherever it is set: in a file, in
``--cfg-options``, or on assignment. Floats are finite (TOML's ``nan`` and
``inf`` are refused) wherever a range applies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from vis4d.common.names import plain_name_problem


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# Proposal sampling, shared by the RPN, the box head and QDTrack's embedding sampler.
FgIoU = Annotated[float, Field(ge=0, le=1, description="Foreground: IoU with a ground-truth box >= this.")]
BgIoU = Annotated[float, Field(ge=0, le=1, description="Background: IoU with every ground-truth box < this.")]
SampleSize = Annotated[int, Field(ge=1, description="Proposals sampled per image for the loss.")]
PositiveFraction = Annotated[float, Field(ge=0, le=1, description="Largest share of foreground in a sample.")]
AddGroundTruth = Annotated[bool, Field(description="Add the ground-truth boxes to the proposals before sampling.")]


# Ranges of single values. Floats with a range refuse nan and inf: a NaN passes no comparison, an inf most.
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
IoUThreshold = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
ScoreThreshold = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

Numbers = TypeVar("Numbers", bound=Sequence[float])


def _numbers(values: Numbers, lowest: float, what: str) -> Numbers:
    """``values`` if each is finite and >= ``lowest`` (> 0 when ``lowest`` is 0 and ``what`` says positive)."""
    strict = what.startswith("positive")
    for value in values:
        if not math.isfinite(value) or value < lowest or (strict and value <= 0):
            raise ValueError(f"expected {what}, got {value!r} in {show_list(values)}")
    return values


def show_list(values: Sequence[float]) -> str:
    """A sequence as the config writes it: ``[0, 96]``."""
    return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + "]"


def positive_numbers(values: Numbers) -> Numbers:
    """Validator: every item finite and > 0."""
    return _numbers(values, 0, "positive numbers")


def non_negative_numbers(values: Numbers) -> Numbers:
    """Validator: every item finite and >= 0."""
    return _numbers(values, 0, "numbers >= 0")


def finite_numbers(values: Numbers) -> Numbers:
    """Validator: every item finite."""
    return _numbers(values, -math.inf, "finite numbers")


# Ranges of sequences, checked as a whole: their generated docs show the plain type (list[int]), and a message
# shows the whole value. The Field in each carries only a description (docs: see scripts/gen_docs.py).
ImageShape = Annotated[
    tuple[int, int],
    Field(description="(height, width) in pixels, both at least 1."),
    AfterValidator(positive_numbers),
]
PositiveInts = Annotated[list[int], Field(description="Whole numbers >= 1."), AfterValidator(positive_numbers)]
NonNegativeInts = Annotated[list[int], Field(description="Whole numbers >= 0."), AfterValidator(non_negative_numbers)]
PositiveFloats = Annotated[list[float], Field(description="Numbers > 0."), AfterValidator(positive_numbers)]


def not_above(value: float, info: ValidationInfo, other: str) -> float:
    """Validator body: ``value`` must not exceed the field ``other`` (declared, so validated, before it)."""
    bound = info.data.get(other)
    if bound is not None and value > bound:
        raise ValueError(f"must not exceed {other} ({bound:g}), got {value:g}")
    return value


def _plain_name(value: str) -> str:
    """Refuse a name that is a path: it becomes a folder or file name and must not leave the run directory."""
    problem = plain_name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Weights fields: "" and "none" (any case) mean "no weights" in every one of them, so that a base config's
# weights can be turned off (TOML has no null; --cfg-options model.weights= and model.weights=none both work).
NO_WEIGHTS = ("", "none", "null")


def is_no_weights(value: str | None) -> bool:
    """Whether a weights setting says "no weights" (``""``, ``none``, ``null``; any case, spaces ignored)."""
    return value is not None and value.strip().lower() in NO_WEIGHTS


def _weights_or_none(value: str | None) -> str | None:
    return None if value is None or is_no_weights(value) else value


WeightsName = Annotated[
    str | None,
    Field(description="A path, URL or weights name; empty or none: no weights."),
    AfterValidator(_weights_or_none),
]


# A name that becomes one folder or file name (exp_name, version, model and dataset names).
PlainName = Annotated[str, Field(description="A plain name: no '/', '\\' or '..'."), AfterValidator(_plain_name)]
