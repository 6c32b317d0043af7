"""``vis4d export --config CFG --weights W --format onnx|torchscript --output F``: a model as one graph.

The detector (and QDTrack's similarity head) become one graph: image in;
boxes, scores, classes (and embeddings) out, any image size
(:mod:`vis4d.model.export`). The tracker stays in Python: ``test``/``predict
--backend onnxruntime|torchscript --model F`` runs the file with the config's
tracker (:mod:`vis4d.model.exported`). ``--weights`` is resolved as the
trainer's ``--weights`` is (``best``/``last`` of a run, a path, a URL or a
name). Bad input is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from vis4d.common.errors import ConfigError, Vis4DError, one_line
from vis4d.common.parser import ArgumentParser

FORMAT_SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d export``."""
    parser = ArgumentParser(
        prog="vis4d export",
        description="Export a model's detector (and QDTrack's similarity head) as one ONNX or TorchScript graph "
        "with a dynamic image size; run it with predict --backend onnxruntime|torchscript --model FILE.",
    )
    parser.add_argument("--config", required=True, help="The model's config file (.toml or .yaml).")
    parser.add_argument(
        "--cfg-options", "--cfg_options", dest="cfg_options", action="append", default=[], metavar="KEY=VALUE,...",
        help="Override config values, e.g. model.detector.roi_head.score_thresh=0.3 (baked into the graph).",
    )  # fmt: skip
    parser.add_argument(
        "--weights",
        help="Checkpoint: 'best' (default) or 'last' of the run directory, a file path (e.g. a model zoo entry's "
        "model.pt), a URL or a name (vis4d weights list).",
    )
    parser.add_argument("--format", choices=["onnx", "torchscript"], default="onnx", help="File format (onnx).")
    parser.add_argument("--output", required=True, help="The file to write (e.g. model.onnx, model.pt).")
    parser.add_argument("--work_dir", default="./vis4d-workspace/", help="Where runs are (for best/last).")
    parser.add_argument("--exp_name", help="Run folder work_dir/exp_name (default: the model's name).")
    parser.add_argument("--version", help="Run version (default: the newest with checkpoints).")
    parser.add_argument("--debug", action="store_true", help="Show full tracebacks on errors.")
    return parser


def export(args: argparse.Namespace) -> int:
    """Build the model with its weights, trace it and write ``--output`` with its metadata."""
    from vis4d.common.paths import check_output_folder
    from vis4d.config.load import load_config
    from vis4d.engine.workspace import choose_weights, resolve_workspace
    from vis4d.model.build import build_model
    from vis4d.model.export import ExportableDetector, export_metadata, export_model
    from vis4d.model.weights import load_weights
    from vis4d.model.weights.sources import check_checkpoint_file

    output = Path(args.output)
    if output.is_dir():
        raise ConfigError(f"--output: {args.output} is a directory, expected a file name (e.g. model.onnx)")
    check_output_folder(str(output.parent), "--output")
    if args.format == "onnx":
        _check_onnx_installed()
    config = load_config(args.config, ",".join(args.cfg_options) if args.cfg_options else None)
    exp_name = args.exp_name or config.model_name
    model_weights = config.model.weights
    workspace = resolve_workspace("predict", args.work_dir, exp_name, args.version, args.weights, False, model_weights)
    weights = choose_weights("predict", workspace, args.weights, False, model_weights, "--weights")
    if weights is None:
        raise ConfigError("--weights none: an export needs trained weights")
    check_checkpoint_file(weights.path, weights.option)
    model = build_model(config.model, len(config.categories))
    shown = weights.describe()
    load_weights(model, str(weights.path), config.categories, weights.strict, weights.option, config, shown)
    model.eval().fold_batch_norm()  # what test and predict run: batch norms folded into the convolutions
    wrapper = ExportableDetector(model)
    meta = export_metadata(wrapper, config.model.model_dump(mode="json"), config.categories)
    export_model(wrapper, meta, output, args.format)
    outputs = ", ".join(wrapper.output_names)
    print(f"{output}: {config.model.type} as {args.format} ({outputs}; image size dynamic); "
          f"run it with: vis4d predict --config {args.config} --backend "
          f"{'onnxruntime' if args.format == 'onnx' else 'torchscript'} --model {output}")  # fmt: skip
    return 0


def _check_onnx_installed() -> None:
    import importlib.util

    missing = [name for name in ("onnx",) if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"--format onnx: {', '.join(missing)} is not installed; pip install 'vis4d[export]'")


def main(argv: Sequence[str]) -> int:
    """Entry point of ``vis4d export``; returns the exit code (2 and one line for bad input)."""
    words = list(argv)
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except Vis4DError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return export(args)
    except Vis4DError as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
