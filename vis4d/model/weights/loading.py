"""Loading weights into models: read, convert, fit to the model's categories, and say what was done."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from torch import nn

from vis4d.common.errors import ConfigError
from vis4d.model.backbones import FPNBackbone
from vis4d.model.detect.base import Detector
from vis4d.model.weights.checkpoint import Checkpoint, load_into, read_state, report
from vis4d.model.weights.download import fetch
from vis4d.model.weights.layouts import to_vis4d
from vis4d.model.weights.sources import resolve_source


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
    shown: str | None = None,
) -> Checkpoint:
    """Load the weights ``name`` points to into ``model``, categories mapped onto ``categories``; says what it did.

    ``config`` (the whole run config) lets the conventions the checkpoint was
    trained with be compared beyond the model's section (the input's channel
    order, say). The line printed names the weights as ``shown`` says (default:
    the path, or the URL and its cache file).
    """
    source = resolve_source(name, option)
    path = fetch(source)
    state, meta = read_state(path, option)
    checkpoint = to_vis4d(state, meta, path.name, option)
    notes = load_into(model, checkpoint, categories, strict, option)
    notes += convention_notes(config if config is not None else _ModelOnly(model), checkpoint)
    if shown is None:
        shown = f"{source.url}, cached at {path}" if source.url else str(path)
        shown = shown if name in (str(path), source.url) else f"{name} = {shown}"
    report(option, shown, checkpoint.layout, notes, ema=bool(meta.get("ema")))
    return checkpoint


def load_recipe_weights(model: nn.Module, config: Any) -> None:
    """A training run's starting point when no ``--weights`` is given: the config's recipe.

    The backbone's ``weights`` (an ImageNet classifier, say) load first, then
    ``model.weights`` on top; both load what matches (a recipe may start a
    tracker from a detector). Nothing is loaded in a model's constructor, so
    only training from the recipe ever reads these.
    """
    backbone = getattr(config.model.detector, "backbone", None)  # YOLOX has no separate backbone weights
    backbone_weights = backbone.weights if backbone is not None else None
    if backbone_weights is not None:
        for module in model.modules():
            if isinstance(module, FPNBackbone):
                load_backbone_weights(module, backbone_weights)
    if config.model.weights is not None:
        load_weights(model, config.model.weights, config.categories, False, "model.weights", config)


class _ModelOnly:
    """A stand-in config with just the ``model`` section, for loads outside a run (into a model or a detector)."""

    def __init__(self, module: nn.Module) -> None:
        cfg = getattr(module, "cfg", None)
        self.model = _Section(detector=cfg) if isinstance(module, Detector) else cfg


class _Section:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


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


def load_backbone_weights(backbone: FPNBackbone, name: str) -> None:
    """Load the backbone part of any supported checkpoint into ``backbone``; one warning lists key mismatches.

    ``name`` is a path, URL or weights name (:mod:`vis4d.model.weights`). An
    ImageNet classifier loads into the body (its classifier dropped); a
    detection checkpoint of any known layout loads body and FPN.
    """
    option = "model.detector.backbone.weights"
    checkpoint = read_checkpoint(name, option)
    state = {k.removeprefix("backbone."): v for k, v in checkpoint.state_dict.items() if k.startswith("backbone.")}
    if not state:
        raise ConfigError(f"{option}: {name} ({checkpoint.layout}) holds no backbone weights")
    result = backbone.load_state_dict(state, strict=False)
    # Frozen batch norm has no num_batches_tracked; its absence is not a problem. A classifier loads no FPN.
    unexpected = [k for k in result.unexpected_keys if not k.endswith("num_batches_tracked")]
    body_only = not any(k.startswith("fpn.") for k in state)
    missing = [
        k
        for k in result.missing_keys
        if not k.endswith("num_batches_tracked") and not (body_only and k.startswith("fpn."))
    ]
    if len(state) == len(result.unexpected_keys):
        raise ConfigError(f"{option}: no key of {name} matches the {type(backbone.body).__name__}")
    if missing or unexpected:
        warnings.warn(
            f"{option} {name}: {len(missing)} missing keys {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, {len(unexpected)} unexpected keys {unexpected[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}",
            stacklevel=2,
        )
