"""Cache of parsed datasets: a store saved as ``<cache_dir>/<key>.npz``.

Parsing a BDD100K-size JSON dataset takes seconds; loading its store from an
uncompressed ``.npz`` takes a fraction of one. The key is the SHA-1 of

* every source file's absolute path, size and modification time (ns), so
  editing, replacing or touching a label file gives a new key;
* the loader options (the dataset config without ``cache``, the categories,
  resolved roots), so a different mapping never reuses a store;
* the store format and loader versions, so a code change that alters parsing
  invalidates old entries.

A cache file is written to a temporary name and renamed into place, so a
killed run (or two ranks building at once) never leaves a half-written entry.
A cache file that fails to load or validate is rebuilt with a warning, never
used. A cache directory that cannot be written only costs the speed-up. The
warnings the loader gave while building a store (skipped boxes, files) are
kept beside it (``<key>.notes.json``) and given again on every cached load
(:mod:`vis4d.data.notes`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vis4d.common.io import atomic_open
from vis4d.data.notes import collecting, repeat, warn
from vis4d.data.store import STORE_FORMAT_VERSION, AnnotationStore

DEFAULT_CACHE_DIR = Path("vis4d-workspace/.cache/datasets")
# Bump when a loader's output changes for the same input files and options.
LOADER_VERSION = 2  # 2: warnings kept beside the store; zero-area boxes are degenerate


def file_fingerprints(source_files: Sequence[Path]) -> list[tuple[str, int, int]]:
    """(absolute path, size, mtime in ns) of every source file; raises ``OSError`` if one is missing."""
    fingerprints = []
    for file in source_files:
        stat = os.stat(file)
        fingerprints.append((str(Path(file).resolve()), stat.st_size, stat.st_mtime_ns))
    return fingerprints


def cache_key(key_parts: dict[str, Any], source_files: Sequence[Path]) -> str:
    """SHA-1 over the options, the source files' fingerprints and the format versions."""
    payload = {
        "options": key_parts,
        "files": file_fingerprints(source_files),
        "store_format": STORE_FORMAT_VERSION,
        "loader": LOADER_VERSION,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _save_atomically(store: AnnotationStore, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz.tmp", dir=path.parent)
    os.close(fd)
    try:
        store.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cached_load(
    key_parts: dict[str, Any],
    source_files: Sequence[Path],
    build: Callable[[], AnnotationStore],
    cache_dir: str | Path | None = None,
) -> AnnotationStore:
    """Return the cached store for these sources and options, or ``build()`` it and cache it.

    If a source file is missing, ``build`` runs uncached so that it reports the
    problem in its own words.
    """
    try:
        key = cache_key(key_parts, source_files)
    except OSError:
        return build()
    path = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR) / f"{key}.npz"
    notes_path = path.with_name(f"{key}.notes.json")
    if path.is_file():
        try:
            store = AnnotationStore.load(path)
            notes = json.loads(notes_path.read_text()) if notes_path.is_file() else []
        except Exception as error:  # any unreadable entry is rebuilt, never trusted
            warn(f"dataset cache {path} is corrupt ({' '.join(str(error).split())}); rebuilding it")
        else:
            repeat([str(note) for note in notes])
            return store
    with collecting() as notes:
        store = build()
    try:
        with atomic_open(notes_path, "w", sync=False) as handle:
            json.dump(notes, handle)
        _save_atomically(store, path)
    except OSError as error:
        warn(f"cannot write dataset cache {path} ({error}); continuing without it")
    return store
