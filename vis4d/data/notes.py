"""Warnings about the data, said once per load and repeated when the parsed dataset comes from the cache.

A loader that skips something (degenerate boxes, a malformed file, boxes of
unknown categories) says so in one ``warning:`` line on stderr with the
count. The dataset cache (:mod:`vis4d.data.cache`) keeps those lines beside
the cached store and says them again when it loads the store, so the second
run of a command warns exactly like the first instead of falling silent.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

_COLLECTORS: list[list[str]] = []


def warn(message: str) -> None:
    """Print ``warning: message`` on stderr (and remember it for the cache entry being built, if any)."""
    print(f"warning: {message}", file=sys.stderr)
    for collector in _COLLECTORS:
        collector.append(message)


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    """The warnings said inside the body, in order."""
    notes: list[str] = []
    _COLLECTORS.append(notes)
    try:
        yield notes
    finally:
        # By identity: two collectors that heard the same things are equal lists.
        del _COLLECTORS[next(i for i, c in enumerate(_COLLECTORS) if c is notes)]


def repeat(notes: list[str]) -> None:
    """Say remembered warnings again (a cached dataset's)."""
    for message in notes:
        warn(message)
