"""Initialise a model from a checkpoint file, with a clear account of keys that do not match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError
from vis4d.engine.resolve import warn


def load_model_weights(model: Any, path: Path, strict: bool) -> None:
    """Load a vis4d/Lightning checkpoint or a plain state dict into ``model``; list mismatches."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        raise ConfigError(f"--weights: cannot read checkpoint {path}: {err}") from err
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"--weights: {path} holds no state dict")
    state = {k.removeprefix("model."): v for k, v in state.items()}
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape))
    if strict and (missing or unexpected or mismatched):
        parts = [
            f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched))
            if keys
        ]
        raise ConfigError(f"--weights {path}: keys do not match the model ({'; '.join(parts)}); use --no-strict")
    for key in mismatched:
        state.pop(key)
    model.load_state_dict(state, strict=False)
    if missing or unexpected or mismatched:
        warn(
            f"loaded {path} non-strictly: {len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(mismatched)} shape-mismatched keys (first: {(missing + unexpected + mismatched)[:3]})"
        )
    print(f"loaded weights: {path}")
