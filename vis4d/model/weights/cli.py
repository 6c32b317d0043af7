"""``vis4d weights list|download`` and ``vis4d convert``: weights by name, before and without a run.

    vis4d weights list                      the names vis4d knows, file size, what they were trained on
    vis4d weights download NAME [NAME ...]  fetch into torch.hub's cache now (for machines that go offline)
    vis4d convert IN OUT                    any supported checkpoint (path, URL or name) -> a vis4d file

``convert`` writes ``{"state_dict", "vis4d": {"layout", "categories",
"conventions"}}`` atomically; ``--weights`` and ``model.weights`` read it
back without converting again. Bad input is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from vis4d.common.errors import Vis4DError
from vis4d.common.parser import ArgumentParser


def _list(args: argparse.Namespace) -> int:
    from vis4d.model.weights.catalogue import known_weights
    from vis4d.model.weights.sources import resolve_source

    entries = known_weights()
    width = max(len(entry.name) for entry in entries)
    print(f"{'name'.ljust(width)}  {'size':>9}  {'cached':6}  trained on (metric)  ->  use as")
    for entry in entries:
        size = f"{entry.size_mb:.1f} MB" if entry.size_mb else "?"
        cached = "yes" if resolve_source(entry.name).path.is_file() else "no"
        print(f"{entry.name.ljust(width)}  {size:>9}  {cached:6}  {entry.trained_on}  ->  {entry.use}")
    print("\nAlso accepted: a local path, http(s)://..., mmdet://PATH, bdd100k://PATH, and any torchvision weights "
          "enum member (torchvision://ResNet50_Weights.IMAGENET1K_V1). bytetrack:// and reid:// files are placed in "
          "the cache by hand: 'vis4d weights download NAME' says from where and to which path.")  # fmt: skip
    return 0


def _download(args: argparse.Namespace) -> int:
    from vis4d.model.weights import fetch, resolve_source

    for name in args.names:
        path = fetch(resolve_source(name, "vis4d weights download"), progress=True)
        print(f"{name}: {path}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    import torch

    from vis4d.common.io import atomic_open
    from vis4d.model.weights import read_checkpoint

    checkpoint = read_checkpoint(args.input, "vis4d convert")
    payload = {
        "state_dict": checkpoint.state_dict,
        "vis4d": {
            "layout": checkpoint.layout,
            "categories": checkpoint.categories,
            "conventions": checkpoint.conventions,
        },
    }
    with atomic_open(args.output, "wb") as handle:
        torch.save(payload, handle)
    categories = f"{len(checkpoint.categories)} categories" if checkpoint.categories else "categories unknown"
    print(f"{args.output}: {len(checkpoint.state_dict)} tensors from a {checkpoint.layout} checkpoint, {categories}")
    for key, value in checkpoint.conventions.items():
        print(f"  trained with {key} = {value!r}")
    return 0


def weights_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d weights``."""
    parser = ArgumentParser(prog="vis4d weights", description="Weights vis4d can load by name.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,download}")
    commands.add_parser("list", help="Names vis4d knows, with file size and what they were trained on.")
    download = commands.add_parser("download", help="Fetch weights into torch.hub's cache ($TORCH_HOME).")
    download.add_argument("names", nargs="+", metavar="NAME", help="e.g. torchvision://resnet50, a URL")
    return parser


def convert_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d convert``."""
    parser = ArgumentParser(
        prog="vis4d convert",
        description="Convert a torchvision, mmdetection, QDTrack, mmtracking or Vis4D 1.0 checkpoint to a vis4d file.",
    )
    parser.add_argument("input", help="A path, URL or weights name (torchvision://, mmdet://, bdd100k://).")
    parser.add_argument("output", help="The vis4d checkpoint to write.")
    return parser


def _run(parser: argparse.ArgumentParser, argv: Sequence[str], action: Callable[[argparse.Namespace], int]) -> int:
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_:  # --help exits 0
        return int(exit_.code or 0)
    except Vis4DError as error:  # a command line that does not parse: one line (vis4d.common.parser)
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return action(args)
    except Vis4DError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def weights_main(argv: Sequence[str]) -> int:
    """Entry point of ``vis4d weights``."""
    parser = weights_parser()
    return _run(parser, argv, lambda args: _list(args) if args.command == "list" else _download(args))


def convert_main(argv: Sequence[str]) -> int:
    """Entry point of ``vis4d convert``."""
    return _run(convert_parser(), argv, _convert)
