"""A checkpoint in vis4d's key names, whatever framework wrote it, and how it goes into a model.

Every layout converter (:mod:`vis4d.model.weights.layouts`) returns a
:class:`Checkpoint` whose keys are those of a vis4d detector
(``backbone.body.*``, ``backbone.fpn.*``, ``rpn.head.*``, ``roi_heads.*``)
plus ``similarity_head.*`` for trackers, with the classifier's background as
the last row. :func:`load_into` fits it to a model: it adds the ``detector.``
prefix for QDTrack, maps the classifier and box regression rows of the
checkpoint's categories onto the config's by name (COCO's 80 onto a subset,
say), loads, and prints one line of what it did.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vis4d.common.errors import ConfigError
from vis4d.model.weights.sources import check_checkpoint_file
from vis4d.model.weights.yolox_common import CLASS_ROWS as YOLOX_CLASS_ROWS
from vis4d.model.weights.yolox_common import map_head_categories

# Per-class rows of the box head: (key suffix, rows per class); the classifier has one more row, background, last.
CLASSIFIER = "roi_heads.cls_score."
BOX_REGRESSOR = "roi_heads.bbox_pred."
OTHER_CLASSES = "roi_heads.other_classes."
TRACKER_PREFIX = "detector."


@dataclasses.dataclass
class Checkpoint:
    """Weights in vis4d's key names, with what is known about how they were trained.

    ``categories``: the classifier's classes in row order (background excluded,
    it is the last row), if the checkpoint says. ``conventions``: config values
    (dotted keys under ``model.``) the weights were trained with, so that a
    config that differs can be pointed out.
    """

    state_dict: dict[str, Tensor]
    layout: str
    categories: list[str] | None = None
    conventions: dict[str, Any] = dataclasses.field(default_factory=dict)


def read_state(path: Path, option: str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors of a checkpoint file and its metadata (``meta`` of mmdetection files), with safe loading.

    ``weights_only=True`` unpickles tensors and plain containers only: a
    checkpoint cannot run code on load. A vis4d checkpoint that holds an EMA
    of the weights (``model.ema``; the key ``ema``) gives the average, and
    ``meta["ema"]`` says so.
    """
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a directory, expected a checkpoint file")
    check_checkpoint_file(path, option)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{option}: {path} is not a readable PyTorch checkpoint ({first_line})") from None
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{option}: {path} holds a {type(loaded).__name__}, expected a state dict")
    meta = dict(loaded["meta"]) if isinstance(loaded.get("meta"), Mapping) else {}
    if isinstance(loaded.get("vis4d"), Mapping):  # written by vis4d: categories, layout, conventions
        meta["vis4d"] = dict(loaded["vis4d"])
    ema = loaded.get("ema")
    if isinstance(ema, Mapping) and isinstance(ema.get("state_dict"), Mapping):
        # A vis4d training run with model.ema: the average is what it validated with, and what is used.
        meta["ema"] = True
        loaded = {"state_dict": ema["state_dict"]}
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    state = {str(k): v for k, v in loaded.items() if isinstance(v, Tensor)}
    if not state:
        raise ConfigError(f"{option}: {path} holds no tensors")
    return state, meta


def _map_categories(
    state: dict[str, Tensor], given: Sequence[str], wanted: Sequence[str], own_rows: Mapping[str, Tensor]
) -> tuple[list[str], list[str]]:
    """Reorder the classifier and regressor rows of ``given`` categories into ``wanted``'s order, in place.

    Categories the checkpoint lacks keep the model's own (initial) rows
    (``own_rows``). The rows of the checkpoint's other classes move to
    ``roi_heads.other_classes.*``: scored, never output, so the kept classes
    score as in the original model. Returns (wanted categories not in the
    checkpoint, checkpoint categories dropped).
    """
    index = {name: i for i, name in enumerate(given)}
    wanted_set = set(wanted)
    missing = [name for name in wanted if name not in index]
    dropped = [name for name in given if name not in wanted_set and name != "N/A"]
    others = [i for i, name in enumerate(given) if name not in wanted_set]  # placeholders ("N/A") included
    for suffix in ("weight", "bias"):
        key = CLASSIFIER + suffix
        if key in state:
            rows = state[key]
            own = own_rows[key]
            picked = [rows[index[n]] if n in index else own[i] for i, n in enumerate(wanted)]
            state[key] = torch.stack([*picked, rows[len(given)]])  # background stays last
            if others:
                state[OTHER_CLASSES + suffix] = rows[others]
        key = BOX_REGRESSOR + suffix
        if key in state:
            rows = state[key].reshape(len(given), 4, *state[key].shape[1:])
            own = own_rows[key].reshape(len(wanted), 4, *own_rows[key].shape[1:])
            picked = [rows[index[n]] if n in index else own[i] for i, n in enumerate(wanted)]
            state[key] = torch.cat(picked)
    return missing, dropped


def load_into(
    model: nn.Module, checkpoint: Checkpoint, categories: Sequence[str], strict: bool, option: str
) -> list[str]:
    """Load ``checkpoint`` into ``model``; returns one-line notes (category mapping, keys left out).

    ``strict`` refuses keys that do not match (``--no-strict`` relaxes it);
    otherwise the matching tensors load and the rest is reported.
    """
    own = model.state_dict()
    tracker = any(key.startswith(TRACKER_PREFIX) for key in own)
    state = dict(checkpoint.state_dict)
    notes: list[str] = []
    if checkpoint.categories is not None and list(checkpoint.categories) != list(categories):
        if any(key.startswith(YOLOX_CLASS_ROWS) for key in state):  # one-stage: per-level class rows, no background
            head_own = {k.removeprefix(TRACKER_PREFIX): v for k, v in own.items()
                        if k.removeprefix(TRACKER_PREFIX).startswith(YOLOX_CLASS_ROWS)}  # fmt: skip
            missing, dropped = map_head_categories(state, checkpoint.categories, categories, head_own)
        else:
            head_own = {k.removeprefix(TRACKER_PREFIX): v for k, v in own.items()
                        if CLASSIFIER in k or BOX_REGRESSOR in k}  # fmt: skip
            missing, dropped = _map_categories(state, checkpoint.categories, categories, head_own)
        kept = len(categories) - len(missing)
        note = f"categories: {kept} of {len(categories)} from the checkpoint"
        if dropped:
            note += f"; dropped {len(dropped)} the config does not list: {', '.join(dropped)}"
        if missing:
            note += f"; {', '.join(missing)} not in the checkpoint (left as initialised: train them)"
        notes.append(note)
    if tracker:  # a model: its detector under ``detector.``; heads beside it keep their names
        state = {k if k.startswith("similarity_head.") else TRACKER_PREFIX + k: v for k, v in state.items()}
    own = _with_other_classes(model, state, own)
    # Batch-norm step counters: frozen batch norm has none, and they never change a computed value.
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked") or k in own}
    missing_keys = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape))
    head_only = bool(mismatched) and all(CLASSIFIER in k or BOX_REGRESSOR in k for k in mismatched)
    if strict and head_only and not missing_keys and not unexpected:
        known = "its categories are unknown" if checkpoint.categories is None else "categories could not be mapped"
        raise ConfigError(
            f"{option} {checkpoint.layout} checkpoint: its classifier has other classes than the config's "
            f"{len(categories)} ({known}); with --no-strict the classifier and box regressor start from scratch and "
            "everything else loads: fine-tuning on your categories"
        )
    if strict and (missing_keys or unexpected or mismatched):
        parts = [
            f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
            for label, keys in (("missing", missing_keys), ("unexpected", unexpected), ("shape mismatch", mismatched))
            if keys
        ]
        raise ConfigError(f"{option} {checkpoint.layout} checkpoint: keys do not match the model ({'; '.join(parts)}); "
                          "use --no-strict to load what matches")  # fmt: skip
    for key in mismatched + unexpected:
        state.pop(key, None)
    model.load_state_dict(state, strict=False)
    if head_only:
        notes.append("classifier and box regressor start from scratch (other classes in the checkpoint): train them")
    if missing_keys or unexpected or mismatched:
        notes.append(
            f"loaded non-strictly: {len(missing_keys)} missing, {len(unexpected)} unexpected, {len(mismatched)} "
            f"shape-mismatched keys (not in the checkpoint: {_grouped(missing_keys)}; "
            f"unused: {_grouped(unexpected + mismatched)})"
        )
    return notes


def _with_other_classes(model: nn.Module, state: Mapping[str, Tensor], own: dict[str, Tensor]) -> dict[str, Tensor]:
    """Give the model's box head the checkpoint's other-class rows (if it has some), so that they load."""
    key = next((k for k in state if k.endswith(OTHER_CLASSES + "weight")), None)
    head = getattr(getattr(model, "detector", model), "roi_heads", None)
    if key is None or head is None or not hasattr(head, "set_other_classes"):
        return own
    existing = getattr(head, "other_classes", None)
    if existing is None or tuple(existing.weight.shape) != tuple(state[key].shape):
        head.set_other_classes(state[key].shape[0])
    return model.state_dict()


def _grouped(keys: Sequence[str]) -> str:
    """Keys summarised by their first two name parts: ``similarity_head.convs (10)``."""
    if not keys:
        return "none"
    groups: dict[str, int] = {}
    for key in keys:
        head = ".".join(key.split(".")[:2])
        groups[head] = groups.get(head, 0) + 1
    return ", ".join(f"{head} ({count})" for head, count in groups.items())


def report(option: str, shown: str, layout: str, notes: Sequence[str], ema: bool = False) -> None:
    """One line per load on stdout (which setting, which file or URL and cache file, its layout); notes on stderr."""
    print(f"loaded weights ({option}): {shown} [{layout}{', EMA weights' if ema else ''}]")
    for note in notes:
        print(f"note: {option}: {note}", file=sys.stderr)
