"""Export a training checkpoint as model-zoo weights: the model's state dict only, in float16.

    python scripts/export_weights.py RUN/checkpoints/best.ckpt zoo/NAME/model.pt

Optimizer state and loop counters are dropped and floating-point tensors are
stored in half precision (half the size; `--weights` loads them back into
float32 parameters). Written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vis4d.common.io import atomic_open


def main() -> None:
    """Read a checkpoint, write the slim weights file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    state = {
        key.removeprefix("model."): value.half() if value.is_floating_point() else value
        for key, value in checkpoint["state_dict"].items()
    }
    with atomic_open(args.output, "wb") as handle:
        torch.save({"state_dict": state, "source": args.checkpoint.name, "vis4d": checkpoint.get("vis4d", {})}, handle)
    print(f"{args.output}: {len(state)} tensors, {args.output.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
