"""User-facing errors.

A :class:`Vis4DError` is an error caused by the user's input (a config, a data
file, a command line option). The command line prints its message as one line
and exits with code 2, without a traceback unless ``--debug`` is given. Raise it
with a message that names the file, field or option and says what was expected.
"""

from __future__ import annotations

import signal
from pathlib import Path


class Vis4DError(Exception):
    """Bad user input: printed as one line, exit code 2."""


class ConfigError(Vis4DError):
    """A config file, a config field or a command line option is wrong."""


class DataError(Vis4DError):
    """A dataset file (labels, images) is missing or malformed."""


class UsageError(ConfigError):
    """A command line that does not parse: an unknown option, a missing one, a value of the wrong type."""


# How a torch DataLoader worker re-raises an error in the main process: the same class, with a message that
# holds the worker's whole traceback. The last line of it is "<module>.<class>: <original message>".
_WORKER_TRACEBACK = "Original Traceback (most recent call last):"

# Errors other libraries raise for bad user input, by class name (this module imports nothing):
# Lightning's for Trainer arguments that it cannot use.
_FOREIGN_USER_ERRORS = ("MisconfigurationException",)


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` is the user's input and not a bug: a :class:`Vis4DError` or a known foreign one."""
    return isinstance(error, Vis4DError) or any(cls.__name__ in _FOREIGN_USER_ERRORS for cls in type(error).__mro__)


def one_line(error: BaseException) -> str:
    """The message of ``error`` as the one line the command line prints.

    A data loader worker's error arrives with the worker's traceback in its
    message; the user needs its last line without the class name, the message
    the worker raised. Any other message that spans lines is joined with
    spaces, so the contract "one line, exit code 2" holds whatever raised.
    """
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if _WORKER_TRACEBACK in text and lines:
        last = lines[-1]
        cls = type(error)
        for prefix in (f"{cls.__module__}.{cls.__qualname__}: ", f"{cls.__qualname__}: "):
            if last.startswith(prefix):
                return last[len(prefix) :]
        return last
    return " ".join(lines) if lines else type(error).__name__


class MissingScoreError(DataError):
    """A prediction without a score: scoring it 1.0 silently would change every AP, so it is refused by default."""


class ResourceError(Vis4DError):
    """The machine cannot hold what a run writes (a full disk): one line naming the file and the free space."""


class RunInterrupted(BaseException):  # noqa: N818 - not an error: the user asked the run to stop
    """The run stopped on a signal after saving ``last.ckpt``; the exit code is 128 + the signal number.

    Defined here, not beside the callback that raises it, so that the command
    line can catch it without importing Lightning.
    """

    def __init__(self, signum: int, step: int, checkpoint: Path) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"{name}: stopped at step {step}, saved {checkpoint}; continue with --resume")
        self.exit_code = 128 + signum


class StreamStopped(BaseException):  # noqa: N818 - not an error: the user ended a live stream
    """Predicting from a camera or stream URL ended on a signal; the prediction files are complete.

    The exit code is 128 + the signal number, as for any program a signal ended.
    """

    def __init__(self, signum: int, what: str) -> None:
        super().__init__(f"{signal.Signals(signum).name}: {what}; the prediction files are complete")
        self.exit_code = 128 + signum


class RunFault(Exception):
    """A run that failed for a reason other than its input: one line on stderr, exit code 1, checkpoints intact.

    A loss that is not finite, a data loader worker or a DDP process that
    died. The message names what happened, where (the step, the process) and
    the checkpoint to continue from; nothing written after the fault replaces
    an earlier good file. ``all_ranks``: every DDP process raises the same
    fault (they agreed on it), so only the launching process prints it.
    """

    exit_code = 1

    def __init__(self, message: str, all_ranks: bool = False) -> None:
        super().__init__(message)
        self.all_ranks = all_ranks
