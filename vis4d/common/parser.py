"""The argument parser of every vis4d command: a command line that does not parse is one line, exit code 2.

argparse prints the whole usage and then the error, and exits the process;
:class:`ArgumentParser` raises :class:`~vis4d.common.errors.UsageError`
instead, which each command's ``main`` prints as its other errors:
``error: argument --max_epochs: invalid int value: 'abc' (see ... --help)``.
``--help`` still prints the help and exits with code 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from vis4d.common.errors import UsageError, Vis4DError, one_line


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are :class:`UsageError` (one line) rather than usage + exit.

    Abbreviated options are refused: argparse would take ``--max_epoch 2`` as
    ``--max_epochs 2``, and ``--limit_val 1`` as whichever option it is the
    prefix of, so a typo could start hours of training; an option is spelled
    out or it is an error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Raise the parse error for the command's ``main`` to print."""
        raise UsageError(f"{' '.join(message.split())} (see {self.prog} --help)")


def run_command(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], Any],
    argv: Sequence[str] | None = None,
    interrupted: str | None = None,
) -> int:
    """A file tool's ``main``: parse ``argv`` (default ``sys.argv[1:]``) and ``run``; returns the exit code.

    ``--help`` is 0; bad input (a :class:`Vis4DError`) one line ``error: ...``
    and 2, its traceback with ``--debug``; with ``interrupted`` (what Ctrl-C
    leaves behind), Ctrl-C is that line and 130.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        run(parser.parse_args(words))
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(f"interrupted: {interrupted}", file=sys.stderr)
        return 130
    except Vis4DError as error:
        if "--debug" in words:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    return 0
