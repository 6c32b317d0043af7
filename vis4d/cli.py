"""The ``vis4d`` console script.

``vis4d train|test|predict ...`` is ``python -m vis4d.engine.trainer ...``;
the other commands work on files without a model:

    vis4d eval   --task det|track --gt GT --pred PRED [--config CFG] [--output FILE.json]
    vis4d data stats --format scalabel|bdd100k|coco|mot|folder --path P [--config CFG] [--json]
    vis4d vis    --images DIR --pred PRED.json [--gt GT.json] --output OUT
    vis4d report RUN_DIR
    vis4d weights list | download NAME...
    vis4d convert IN OUT
"""

from __future__ import annotations

import sys

USAGE = __doc__ or ""


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's own ``main``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE.strip())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in ("train", "test", "predict"):
        from vis4d.engine.trainer import main as trainer_main

        return trainer_main([command, *rest])
    if command == "eval":
        from vis4d.eval.cli import main as eval_main

        return eval_main(rest)
    if command == "data":
        if not rest or rest[0] != "stats":
            given = f"unknown data command {rest[0]!r}" if rest else "a data command is missing"
            print(f"error: vis4d data: {given}; expected: vis4d data stats --format F --path P", file=sys.stderr)
            return 2
        from vis4d.data.stats import main as stats_main

        return stats_main(rest[1:])
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
    commands = "train, test, predict, eval, data stats, vis, report, weights, convert"
    print(f"error: vis4d: unknown command {command!r}; expected one of {commands} (see vis4d --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
