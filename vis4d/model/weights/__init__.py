"""Weights by name, from any framework's checkpoint, into vis4d models.

* :mod:`~vis4d.model.weights.sources`: a name (path, URL, ``torchvision://``,
  ``mmdet://``, ``bdd100k://``) -> a local file or a URL and its cache file;
* :mod:`~vis4d.model.weights.download`: fetching into torch.hub's cache;
* :mod:`~vis4d.model.weights.layouts`: which framework wrote a checkpoint
  (from its keys) and the converter to vis4d's names;
* :mod:`~vis4d.model.weights.checkpoint`: fitting a converted checkpoint to a
  model (categories mapped by name).

:func:`read_checkpoint` does the first three, :func:`load_weights` all four.
The package's names are imported on first use (PEP 562), so that the light
modules (:mod:`~vis4d.model.weights.sources`) load without torch: the command
line resolves weights names before it decides whether a model is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers; at run time __getattr__ imports each on first use
    from vis4d.model.weights.checkpoint import Checkpoint as Checkpoint
    from vis4d.model.weights.download import fetch as fetch
    from vis4d.model.weights.loading import load_recipe_weights as load_recipe_weights
    from vis4d.model.weights.loading import load_weights as load_weights
    from vis4d.model.weights.loading import read_checkpoint as read_checkpoint
    from vis4d.model.weights.sources import WeightsSource as WeightsSource
    from vis4d.model.weights.sources import resolve_source as resolve_source

_WHERE = {
    "Checkpoint": "checkpoint",
    "fetch": "download",
    "load_recipe_weights": "loading",
    "load_weights": "loading",
    "read_checkpoint": "loading",
    "WeightsSource": "sources",
    "resolve_source": "sources",
}
__all__ = [
    "Checkpoint",
    "WeightsSource",
    "fetch",
    "load_recipe_weights",
    "load_weights",
    "read_checkpoint",
    "resolve_source",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'vis4d.model.weights' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vis4d.model.weights.{_WHERE[name]}"), name)
