"""Weights by name, from any framework's checkpoint, into vis4d models.

* :mod:`~vis4d.model.weights.sources`: a name (path, URL, ``torchvision://``,
  ``mmdet://``, ``bdd100k://``) -> a local file or a URL and its cache file;
* :mod:`~vis4d.model.weights.download`: fetching into torch.hub's cache;
* :mod:`~vis4d.model.weights.layouts`: which framework wrote a checkpoint
  (from its keys) and the converter to vis4d's names;
* :mod:`~vis4d.model.weights.checkpoint`: fitting a converted checkpoint to a
  model (categories mapped by name).

:func:`read_checkpoint` does the first three, :func:`load_weights` all four.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from vis4d.model.weights.checkpoint import Checkpoint, load_into, read_state, report
from vis4d.model.weights.download import fetch
from vis4d.model.weights.layouts import to_vis4d
from vis4d.model.weights.sources import WeightsSource, resolve_source

__all__ = ["Checkpoint", "WeightsSource", "fetch", "load_weights", "read_checkpoint", "resolve_source"]


def read_checkpoint(name: str, option: str = "--weights") -> Checkpoint:
    """The checkpoint a weights name points to, downloaded if needed and converted to vis4d's names."""
    path = fetch(resolve_source(name, option))
    state, meta = read_state(path, option)
    return to_vis4d(state, meta, path.name, option)


def load_weights(
    model: nn.Module,
    name: str,
    categories: Sequence[str],
    strict: bool = True,
    option: str = "--weights",
    config: Any = None,
) -> Checkpoint:
    """Load the weights ``name`` points to into ``model``, categories mapped onto ``categories``; says what it did.

    ``config`` (the whole run config) lets the conventions the checkpoint was
    trained with be compared beyond the model's section (the input's channel
    order, say).
    """
    checkpoint = read_checkpoint(name, option)
    notes = load_into(model, checkpoint, categories, strict, option)
    notes += convention_notes(config if config is not None else _ModelOnly(getattr(model, "cfg", None)), checkpoint)
    report(option, name, checkpoint.layout, notes)
    return checkpoint


class _ModelOnly:
    """A stand-in config with just the ``model`` section, for loads outside a run."""

    def __init__(self, model: Any) -> None:
        self.model = model


def convention_notes(config: Any, checkpoint: Checkpoint) -> list[str]:
    """One note per config value (dotted from the config's root) that differs from the checkpoint's training."""
    if not checkpoint.conventions:
        return []
    differing = []
    for dotted, expected in checkpoint.conventions.items():
        value: Any = config
        for part in dotted.split("."):
            value = getattr(value, part, None)
        if value is not None and value != expected:
            differing.append(f"{dotted} = {value!r} (the checkpoint's: {expected!r})")
    if not differing:
        return []
    return [f"the config computes differently from where these weights were trained: {'; '.join(differing)}"]
