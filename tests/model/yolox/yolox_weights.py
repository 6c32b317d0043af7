"""Random YOLOX weights that any implementation rebuilds exactly from the key names and shapes.

The equivalence fixtures (``fixtures/*/``) were made by reference
implementations in their own virtualenvs with these weights under their own
key names; the tests rebuild the same tensors here from the fixture's
``keys.json``, write them as the reference's checkpoint and load that through
vis4d's converters. Every tensor comes from its own generator seeded with
``crc32(key) + seed`` (:mod:`tests.model.weights.deterministic_weights`), so it
depends only on the key, the shape and the seed. This file imports only torch,
the standard library and that module, so it runs unchanged in any
virtualenv.

The values make a random YOLOX behave like a detector (activations of order
one through every layer, a few dozen to a few hundred confident boxes per
frame, scores spread out, several classes, boxes of varied sizes that
overlap their neighbours so NMS has work to do):

- batch norms: identity (weight 1, bias 0, running mean 0, variance 1);
- convolutions: ``std = sqrt(gain / fan_in)`` Gaussian, each output row
  centred to mean zero (computed in float64), gain 3.2 (SiLU keeps about
  1/3.2 of its input's variance once the mean is removed). The stem's gain
  is divided by ``input_std ** 2`` (60 for raw 0-255 pixels, 1 for normalised
  input); centred rows also cancel the pixels' mean;
- predictors (Megvii's ``head.{cls,reg,obj}_preds``, mmdetection's and Vis4D
  1.0's ``multi_level_conv_{cls,reg,obj}``): class and objectness weights
  with gain 1 and biases ``-1`` and ``-2``; box offsets with a fifth of the
  default std and bias ``(0, 0, 1, 1)`` plus noise, so boxes are about
  ``e = 2.7`` cells wide;
- any other bias or 1-d tensor: ``0.01 * randn``; integer tensors: zeros;
- keys of a QDTrack similarity head: :func:`deterministic_weights.tensor_for`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import torch

from tests.model.weights import deterministic_weights as base

_NORM = re.compile(r"\.(bn|norm)\.(weight|bias|running_mean|running_var)$")
_PREDICTOR = re.compile(r"(?:head\.(cls|reg|obj)_preds|multi_level_conv_(cls|reg|obj))\.\d+\.(weight|bias)$")
_STEM = re.compile(r"stem\.conv\.(conv\.)?weight$")
_SPP_FUSE = re.compile(r"(dark5|stage4)\.1\.conv2\.(conv\.)?weight$")
_RESIDUAL_LAST_NORM = re.compile(r"\.(m|blocks)\.\d+\.conv2\.(pconv\.|pointwise_conv\.)?(bn|norm)\.weight$")
SILU_GAIN = 3.2
SPP_GAIN = SILU_GAIN / 16
RESIDUAL_SCALE = 0.3
PREDICTOR_BIAS = {"cls": -1.0, "obj": -12.0}
PREDICTOR_GAIN = {"cls": 1.0, "reg": 0.04, "obj": 25.0}
OBJECTNESS = (PREDICTOR_GAIN["obj"], PREDICTOR_BIAS["obj"])  # (gain, bias) of the objectness predictor


def _centred(shape: tuple[int, ...], gain: float, generator: torch.Generator) -> torch.Tensor:
    fan_in = math.prod(shape[1:])
    weight = (math.sqrt(gain / max(1, fan_in)) * torch.randn(shape, generator=generator)).to(torch.float64)
    rows = weight.reshape(shape[0], -1)
    return (rows - rows.mean(dim=1, keepdim=True)).reshape(shape).float()


def tensor_for(
    key: str,
    shape: Iterable[int],
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    input_std: float = 20.0,
    objectness: tuple[float, float] = OBJECTNESS,
) -> torch.Tensor:
    """The tensor of ``key`` (see the module docstring for the rules)."""
    shape = tuple(int(s) for s in shape)
    if "similarity_head" in key:
        return base.tensor_for(key, shape, dtype, seed)
    if key.endswith("num_batches_tracked") or dtype in (torch.int64, torch.long):
        return torch.zeros(shape, dtype=dtype)
    generator = base._generator(key, seed)
    if _NORM.search(key):
        fill = 0.0 if key.endswith(("bias", "running_mean")) else 1.0
        if _RESIDUAL_LAST_NORM.search(key):
            fill = RESIDUAL_SCALE
        return torch.full(shape, fill, dtype=dtype)
    predictor = _PREDICTOR.search(key)
    if predictor:
        role = predictor.group(1) or predictor.group(2)
        if predictor.group(3) == "bias":
            noise = 0.01 * torch.randn(shape, generator=generator)
            if role == "reg":
                return (noise + torch.tensor([0.0, 0.0, 1.0, 1.0])).to(dtype)
            return (noise + (objectness[1] if role == "obj" else PREDICTOR_BIAS[role])).to(dtype)
        return _centred(shape, objectness[0] if role == "obj" else PREDICTOR_GAIN[role], generator).to(dtype)
    if key.endswith("bias") or len(shape) < 2:
        return (0.01 * torch.randn(shape, generator=generator)).to(dtype)
    gain = SILU_GAIN
    if _STEM.search(key):
        gain = SILU_GAIN / input_std**2
    elif _SPP_FUSE.search(key):
        gain = SPP_GAIN
    return _centred(shape, gain, generator).to(dtype)


def state_dict_for(
    shapes: dict[str, tuple[tuple[int, ...], str]],
    seed: int = 0,
    input_std: float = 20.0,
    objectness: tuple[float, float] = OBJECTNESS,
) -> dict[str, torch.Tensor]:
    """A whole state dict from ``{key: (shape, dtype name)}`` (a fixture's ``keys.json``)."""
    return {
        key: tensor_for(key, shape, getattr(torch, dtype), seed, input_std, objectness)
        for key, (shape, dtype) in shapes.items()
    }
