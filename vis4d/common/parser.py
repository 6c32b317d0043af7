"""The argument parser of every vis4d command: a command line that does not parse is one line, exit code 2.

argparse prints the whole usage and then the error, and exits the process;
:class:`ArgumentParser` raises :class:`~vis4d.common.errors.UsageError`
instead, which each command's ``main`` prints as its other errors:
``error: argument --max_epochs: invalid int value: 'abc' (see ... --help)``.
``--help`` still prints the help and exits with code 0.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from vis4d.common.errors import UsageError


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
