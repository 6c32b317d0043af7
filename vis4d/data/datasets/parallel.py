"""Parse many label files in worker processes: ``json.load`` holds the GIL, so threads would not help.

A dataset of hundreds of per-video JSON files (BDD100K tracking) spends most
of its loading time in ``json.load`` and in reading the parsed objects, both
pure Python. :func:`map_files` runs a parser over the files in a few forked
processes and yields the results in file order, so that the caller sees
exactly what a sequential loop would (errors included: a worker's exception
is raised when its file's turn comes). The results are numpy columns, cheap
to send back.

Small inputs, platforms without ``fork``, processes that have imported
torch (a training process: its thread pools and CUDA state are better not
forked; ``vis4d eval`` does not import it) and ``VIS4D_PARSE_WORKERS=1``
parse in the calling process; ``VIS4D_PARSE_WORKERS=N`` sets the count.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_FILES = 4  # fewer files are parsed in the calling process
MIN_BYTES = 16 << 20  # as are inputs below 16 MiB: starting workers costs more than they save
MAX_WORKERS = 8


def parse_workers(files: Sequence[Path]) -> int:
    """How many processes should parse ``files``: 1 unless there are enough files, bytes and processors."""
    override = os.environ.get("VIS4D_PARSE_WORKERS")
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    wanted = int(override) if override and override.isdigit() else min(available, MAX_WORKERS)
    if wanted <= 1 or len(files) < MIN_FILES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if override is None and ("torch" in sys.modules or sum(f.stat().st_size for f in files) < MIN_BYTES):
        return 1
    return min(wanted, len(files))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: parsing JSON allocates millions of objects and makes no cycles.

    Every few thousand allocations the collector would otherwise walk young
    objects, and now and then everything alive in the process (a loaded
    package is hundreds of thousands of objects): a tenth of ``json.load``'s
    time in a process that has imported vis4d.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def map_files(parse: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``map(parse, items)`` by ``workers`` processes when more than one (this one and forked ones); results in order.

    This process parses every ``workers``-th item itself while the others
    parse the rest: no process sits idle waiting, and only their results
    travel between processes. An error stops the work not yet started.
    """
    if workers <= 1:
        yield from map(parse, items)
        return
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {i: pool.submit(parse, item) for i, item in enumerate(items) if i % workers}
        try:
            for i, item in enumerate(items):
                yield futures.pop(i).result() if i % workers else parse(item)
        finally:
            for future in futures.values():
                future.cancel()
