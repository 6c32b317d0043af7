"""The ``vis4d`` console script: the trainer's actions and the file-level tools, one sub-command each.

``vis4d train|test|predict ...`` is ``python3 -m vis4d.engine.trainer ...``;
the other commands work on files without a model. Each command's module is
imported only when it runs, so ``vis4d -h`` and the file tools start fast.
"""

from __future__ import annotations

import sys
from typing import NoReturn

# name -> one line for ``vis4d -h``; each command's own ``-h`` lists its options.
COMMANDS = {
    "train": "train a model from a config (python3 -m vis4d.engine.trainer train)",
    "test": "evaluate a checkpoint: metrics.json and prediction files",
    "predict": "run a checkpoint on test data or a folder of frames / a video (--visualize draws)",
    "track": "run a tracker (bytetrack, sort, ocsort, botsort, ...) over detection files, e.g. MOTChallenge det.txt",
    "eval": "detection AP or tracking metrics (MOTA, IDF1, HOTA) of prediction files against labels",
    "data": "dataset tools: 'data stats' counts videos, frames, boxes and tracks",
    "vis": "draw predictions (and labels) onto images, optionally videos",
    "report": "a run's losses, learning rate and metrics: report.png and report.md",
    "weights": "list or download published weights by name",
    "convert": "convert a checkpoint of another framework's layout into a vis4d one",
    "export": "export a model's detector (+ embedding head) as one ONNX or TorchScript graph",
}
DATA_COMMANDS = {"stats": "count videos, frames, boxes and tracks of a dataset (vis4d data stats -h)"}


def _table(commands: dict[str, str]) -> str:
    width = max(len(name) for name in commands) + 2
    return "\n".join(f"  {name.ljust(width)}{text}" for name, text in commands.items())


USAGE = (
    "usage: vis4d [-h] COMMAND [options]\n\n"
    "Detection and multi-object tracking in video: train, test and run models; evaluate, inspect and draw files.\n\n"
    f"commands:\n{_table(COMMANDS)}\n\n"
    "Run 'vis4d COMMAND -h' for a command's options."
)
DATA_USAGE = f"usage: vis4d data [-h] COMMAND [options]\n\ncommands:\n{_table(DATA_COMMANDS)}"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's own ``main``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if not args:
        print(f"error: vis4d: a command is missing; expected one of {', '.join(COMMANDS)} (see vis4d --help)",
              file=sys.stderr)  # fmt: skip
        return 2
    command, rest = args[0], args[1:]
    if command in ("train", "test", "predict"):
        from vis4d.engine.trainer import main as trainer_main

        return trainer_main([command, *rest])
    if command == "track":
        from vis4d.engine.track_cli import main as track_main

        return track_main(rest)
    if command == "eval":
        from vis4d.eval.cli import main as eval_main

        return eval_main(rest)
    if command == "data":
        return _data(rest)
    if command == "vis":
        from vis4d.vis.cli import main as vis_main

        return vis_main(rest)
    if command == "report":
        from vis4d.vis.report import main as report_main

        return report_main(rest)
    if command == "weights":
        from vis4d.model.weights.cli import weights_main

        return weights_main(rest)
    if command == "convert":
        from vis4d.model.weights.cli import convert_main

        return convert_main(rest)
    if command == "export":
        from vis4d.engine.export import main as export_main

        return export_main(rest)
    print(f"error: vis4d: unknown command {command!r}; expected one of {', '.join(COMMANDS)} (see vis4d --help)",
          file=sys.stderr)  # fmt: skip
    return 2


def _data(rest: list[str]) -> int:
    """``vis4d data``: its help, or its one sub-command ``stats``."""
    if rest and rest[0] in ("-h", "--help"):
        print(DATA_USAGE)
        return 0
    if not rest or rest[0] != "stats":
        given = f"unknown data command {rest[0]!r}" if rest else "a data command is missing"
        print(f"error: vis4d data: {given}; expected: vis4d data stats --format F --path P (see vis4d data -h)",
              file=sys.stderr)  # fmt: skip
        return 2
    from vis4d.data.stats import main as stats_main

    return stats_main(rest[1:])


def run() -> NoReturn:
    """The ``vis4d`` command: :func:`main`, then the end of the process without the interpreter's teardown.

    :func:`vis4d.common.process.exit_now`: 1.5 s saved once a command loaded torch.
    """
    from vis4d.common.process import exit_now

    exit_now(main())


if __name__ == "__main__":
    run()
