"""User-facing errors.

A :class:`Vis4DError` is an error caused by the user's input (a config, a data
file, a command line option). The command line prints its message as one line
and exits with code 2, without a traceback unless ``--debug`` is given. Raise it
with a message that names the file, field or option and says what was expected.
"""

from __future__ import annotations


class Vis4DError(Exception):
    """Bad user input: printed as one line, exit code 2."""


class ConfigError(Vis4DError):
    """A config file, a config field or a command line option is wrong."""


class DataError(Vis4DError):
    """A dataset file (labels, images) is missing or malformed."""
