"""Random weights that any implementation can rebuild exactly from the key names and shapes.

Equivalence fixtures against other frameworks (Vis4D 1.0, mmdetection) need
"the same random weights" on both sides without shipping a 200 MB state
dict. Every tensor is drawn from its own generator seeded with
``crc32(key) + seed``, so the values depend only on the key, the shape and
the seed: the fixture script (run in the other framework's virtualenv, same
torch version) and the test (here) make identical tensors.

The scales keep a random ResNet-FPN detector's activations of order one and
its scores spread out (no ties, a mix of confident and unsure detections of
several classes), so the outputs exercise every stage:

- Convolution and linear weights (any key with a shape of two or more
  dimensions that is not a norm): ``std * randn`` in float32, then each
  output row (first dimension; the rest is the fan-in) is centred to mean
  zero (computed in float64, result cast back). Centring stops the positive
  mean of ReLU outputs from growing, layer after layer, into an
  input-independent component that makes every RoI look alike (otherwise all
  detections of a random detector get the same class and saturated scores).
  ``std = sqrt(gain / fan_in)``:

  - default ``gain = 2*pi / (pi - 1)`` (about 2.93): Kaiming's gain for a
    ReLU input, corrected for centred rows, which only see the variance of
    the rectified input (1/2 - 1/(2*pi)) instead of its second moment (1/2);
  - feature-pyramid convolutions (key contains ``fpn``, ``neck``,
    ``lateral``, ``inner_blocks`` or ``layer_blocks``): ``gain = 1`` (their
    inputs are not rectified; torchvision also initialises them with gain 1);
  - classifier layers (key contains ``cls``, ``conv_cls``, ``fc_cls``,
    ``cls_score``, ``cls_logits`` or ``objectness``): ``gain = 0.75``
    (Vis4D 1.0's FasterRCNNQDTrack on the BDD100K sample: RoI class logits of
    std about 1.1, several classes among the detections, the 100 kept
    detections of a frame scoring from about 0.5 to 0.98, i.e. on both sides
    of QDTrack's 0.7 track-init threshold; RPN objectness logits below about
    8, so no sigmoid rounds to 1.0 in float32 and the top-k has no ties);
  - box regression layers (key contains ``reg``, ``bbox_pred``, ``deltas``,
    ``fc_reg``, ``conv_reg`` or ``rpn_box``): a tenth of the default std
    (proposals near their anchors, detections near their proposals).

- Biases and any other tensor of fewer than two dimensions: ``0.01 * randn``.
- Norms (BatchNorm, GroupNorm, ...; see ``_NORM``): identity, i.e. weight 1,
  bias 0, running mean 0, running variance 1, except the last norm of each
  residual branch (``bn3``, ``norm3``, ...), whose weight is 0.1 (a residual
  block adds a little to its input instead of doubling it).
- Integer tensors (``num_batches_tracked``): zeros.

This file imports only torch and the standard library, so it runs unchanged
in any virtualenv.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable

import torch

_RESIDUAL_LAST_NORM = re.compile(r"(bn3|norm3|\.2\.bn|downsample_gain_none)")
_NORM = re.compile(
    r"(^|\.)(bn\d*|norm\d*|gn\d*|downsample\.1|[a-z_]*norm[a-z_]*)\.(weight|bias|running_mean|running_var)$"
)

_RELU_CENTRED_GAIN = 2.0 * math.pi / (math.pi - 1.0)
_FPN_GAIN = 1.0
_CLASSIFIER_GAIN = 0.75
_REGRESSOR_FACTOR = 0.1


def _generator(key: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed((zlib.crc32(key.encode("utf-8")) + seed) % (2**63))


def _is_classifier(key: str) -> bool:
    return any(part in key for part in ("cls", "conv_cls", "fc_cls", "cls_score", "cls_logits", "objectness"))


def _is_regressor(key: str) -> bool:
    return any(part in key for part in ("reg", "bbox_pred", "deltas", "fc_reg", "conv_reg", "rpn_box"))


def _is_pyramid(key: str) -> bool:
    return any(part in key for part in ("fpn", "neck", "lateral", "inner_blocks", "layer_blocks"))


def tensor_for(key: str, shape: Iterable[int], dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    """The tensor of ``key`` (see the module docstring for the rules)."""
    shape = tuple(int(s) for s in shape)
    if key.endswith("num_batches_tracked") or dtype in (torch.int64, torch.long):
        return torch.zeros(shape, dtype=dtype)
    gen = _generator(key, seed)
    if _NORM.search(key):
        last = bool(_RESIDUAL_LAST_NORM.search(key))
        if key.endswith("weight"):
            return torch.full(shape, 0.1 if last else 1.0, dtype=dtype)
        if key.endswith("bias") or key.endswith("running_mean"):
            return torch.zeros(shape, dtype=dtype)
        return torch.ones(shape, dtype=dtype)  # running_var
    if key.endswith("bias") or len(shape) < 2:
        return (0.01 * torch.randn(shape, generator=gen)).to(dtype)
    fan_in = math.prod(shape[1:])
    if _is_classifier(key):
        std = math.sqrt(_CLASSIFIER_GAIN / max(1, fan_in))
    elif _is_regressor(key):
        std = _REGRESSOR_FACTOR * math.sqrt(_RELU_CENTRED_GAIN / max(1, fan_in))
    elif _is_pyramid(key):
        std = math.sqrt(_FPN_GAIN / max(1, fan_in))
    else:
        std = math.sqrt(_RELU_CENTRED_GAIN / max(1, fan_in))
    weight = (std * torch.randn(shape, generator=gen)).to(torch.float64)
    rows = weight.reshape(shape[0], -1)
    weight = (rows - rows.mean(dim=1, keepdim=True)).reshape(shape)
    return weight.to(dtype)


def state_dict_for(shapes: dict[str, tuple[tuple[int, ...], str]], seed: int = 0) -> dict[str, torch.Tensor]:
    """A whole state dict from ``{key: (shape, dtype name)}`` (e.g. the ``keys.json`` of a fixture)."""
    return {key: tensor_for(key, shape, getattr(torch, dtype), seed) for key, (shape, dtype) in shapes.items()}
