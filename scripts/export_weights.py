"""Make a model zoo entry from a training run: slim float16 weights and a config that works from any directory.

    python3 scripts/export_weights.py RUN/checkpoints/best.ckpt zoo/NAME/model.pt
    python3 scripts/export_weights.py --config-only zoo/NAME/config.resolved.yaml zoo/NAME/config.yaml

The first form writes ``zoo/NAME/model.pt`` and, from the run's own
``RUN/config.yaml``, ``zoo/NAME/config.yaml``. Weights: the model's state
dict only (the EMA of the weights for a run trained with ``model.ema``; optimizer state and loop counters are
dropped), floating-point
tensors in half precision (half the size; ``--weights`` loads them back into
float32 parameters). Config: the run's fully resolved config (no ``base``
files, every default spelled out) without the run's location and weights, so
``test``/``predict`` with it start a run folder of their own wherever they are
started: ``work_dir/zoo_NAME/<timestamp>`` (not the model's name, so that
``--weights best`` never picks a run of the recipe). The second form writes
only the config, from any resolved config. Both files are written atomically.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from vis4d.common.io import atomic_open
from vis4d.config.load import dump_config, load_config
from vis4d.config.schema import LaunchConfig


def export_config(source: Path, output: Path, weights: bool) -> None:
    """Write ``source`` (a run's resolved config) as a zoo entry's config: self-contained, no run location.

    ``weights``: the entry ships ``model.pt`` beside it (the header then says how to use the two together).
    """
    config = load_config(source)
    defaults = LaunchConfig()
    name = output.parent.name
    launch = config.launch.model_copy(
        update={
            **{key: getattr(defaults, key) for key in ("work_dir", "version", "weights", "resume")},
            "exp_name": f"zoo_{name}",  # not the model's name: --weights best never picks a run of the recipe
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        dump_config(config.model_copy(update={"launch": launch}), Path(tmp) / "config.yaml")
        body = (Path(tmp) / "config.yaml").read_text()
    use = f"--config zoo/{name}/config.yaml" + (f" --weights zoo/{name}/model.pt" if weights else "")
    header = (
        f"# Model zoo entry {name}: the resolved config of its training run (no base files, every default\n"
        f"# spelled out); runs with it go to work_dir/zoo_{name}/<timestamp>. Use it from any directory:\n"
        f"# {use}\n"
    )
    with atomic_open(output, "w") as handle:
        handle.write(header + body)
    print(f"{output}: config of {config.model_name}")


def export_weights(checkpoint: Path, output: Path) -> None:
    """Write the checkpoint's model weights, in float16, to ``output``: its EMA of the weights if it has one."""
    loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    ema = loaded.get("ema")
    weights = ema["state_dict"] if isinstance(ema, dict) else loaded["state_dict"]
    state = {
        key.removeprefix("model."): value.half() if value.is_floating_point() else value
        for key, value in weights.items()
    }
    with atomic_open(output, "wb") as handle:
        torch.save({"state_dict": state, "source": checkpoint.name, "vis4d": loaded.get("vis4d", {})}, handle)
    kind = " (the EMA of the weights)" if isinstance(ema, dict) else ""
    print(f"{output}: {len(state)} tensors{kind}, {output.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    """Write the weights and the config of a zoo entry (or only the config)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="RUN/checkpoints/X.ckpt (or, with --config-only, a config).")
    parser.add_argument("output", type=Path, help="zoo/NAME/model.pt (or, with --config-only, zoo/NAME/config.yaml).")
    parser.add_argument("--config-only", action="store_true", help="Only write the zoo config from SOURCE.")
    args = parser.parse_args()
    if args.config_only:
        export_config(args.source, args.output, weights=(args.output.parent / "model.pt").is_file())
        return
    export_weights(args.source, args.output)
    run_config = args.source.resolve().parent.parent / "config.yaml"
    if run_config.is_file():
        export_config(run_config, args.output.parent / "config.yaml", weights=True)
    else:
        print(f"note: no {run_config}; write the entry's config with --config-only")


if __name__ == "__main__":
    main()
