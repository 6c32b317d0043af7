"""The building blocks of every config section: strict models and field types that carry their ranges.

Ranges live in the types (``Probability``, ``PositiveInt``...) so that one
declaration checks a value wherever it is set: in a file, in
``--cfg-options``, or on assignment.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# Proposal sampling, shared by the RPN, the box head and QDTrack's embedding sampler.
FgIoU = Annotated[float, Field(ge=0, le=1, description="Foreground: IoU with a ground-truth box >= this.")]
BgIoU = Annotated[float, Field(ge=0, le=1, description="Background: IoU with every ground-truth box < this.")]
SampleSize = Annotated[int, Field(ge=1, description="Proposals sampled per image for the loss.")]
PositiveFraction = Annotated[float, Field(ge=0, le=1, description="Largest share of foreground in a sample.")]
AddGroundTruth = Annotated[bool, Field(description="Add the ground-truth boxes to the proposals before sampling.")]
