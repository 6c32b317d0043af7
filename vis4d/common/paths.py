"""Checks of output paths given on a command line, made before any work so that a wrong one costs nothing.

A results file that turns out to be a folder, or a folder below an existing
file, would otherwise fail only when the work is done and its output is
written, and lose that work.
"""

from __future__ import annotations

import os
from pathlib import Path

from vis4d.common.errors import ConfigError


def check_output_file(path: str | os.PathLike[str], option: str) -> None:
    """``path`` can be written as a file: it is no folder and no file stands where its folder must be."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigError(f"{option}: {target} is a directory, expected a file name (e.g. {target / 'metrics.json'})")
    _check_parents(target.parent, option)


def check_output_folder(path: str | os.PathLike[str], option: str) -> None:
    """``path`` can be a folder to write into: it is no file and no file stands where a folder above must be."""
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{option}: {target} is a file, expected a folder")
    _check_parents(target.parent, option)


def _check_parents(folder: Path, option: str) -> None:
    """The nearest existing folder above ``folder`` (or itself) is a writable folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise ConfigError(f"{option}: {candidate} is a file, so nothing can be written below it")
            if not os.access(candidate, os.W_OK | os.X_OK):
                raise ConfigError(f"{option}: {candidate} is not writable")
            return
