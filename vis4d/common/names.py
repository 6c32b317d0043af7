"""Names that become file and folder names.

Two kinds, two rules:

* names the user gives (``launch.exp_name``, ``launch.version``, a model's or
  a dataset's ``name``) must be plain names: :func:`plain_name_problem` says
  what is wrong with one, and the config refuses it, so a run directory or a
  prediction file can never land outside the work directory;
* names read from data (video names of label files, frame names) are whatever
  the file says: :func:`safe_name` turns one into a file name that stays in
  its folder, and :class:`UniqueNames` keeps two different names from ending
  up as the same file (which would overwrite one video's output with another's).
"""

from __future__ import annotations

import re
import zlib

PLAIN_NAME_RULE = "a plain name, not a path (no '/', '\\' or '..')"

_UNSAFE_CHARACTERS = re.compile(r"[/\\\x00-\x1f]")
_DOT_RUNS = re.compile(r"\.{2,}")
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes; leave room for suffixes such as ".json" or "-2"


def plain_name_problem(name: str) -> str | None:
    """What makes ``name`` unusable as one path component, or None if it is a plain name."""
    if not name.strip():
        return f"expected a non-empty name, got {name!r}"
    if "/" in name or "\\" in name or ".." in name or _UNSAFE_CHARACTERS.search(name) or name == ".":
        return f"expected {PLAIN_NAME_RULE}, got {name!r}"
    return None


def safe_name(name: str, fallback: str = "unnamed") -> str:
    """``name`` as a file name that stays inside its folder.

    Separators and control characters become ``_``, runs of dots (``..``)
    become ``_``, a leading dot becomes ``_`` (no hidden files), and names too
    long for a file system are cut and given a checksum of the whole name, so
    distinct long names stay distinct. An empty result is ``fallback``.
    """
    text = _DOT_RUNS.sub("_", _UNSAFE_CHARACTERS.sub("_", name))
    if text.startswith("."):
        text = "_" + text[1:]
    if len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        checksum = f"{zlib.crc32(name.encode('utf-8')):08x}"
        text = text.encode("utf-8")[: _MAX_NAME_BYTES - 9].decode("utf-8", "ignore") + "-" + checksum
    return text or fallback


class UniqueNames:
    """Safe file names for a stream of names: the same name always gets the same file name, two names never do.

    ``a/b`` and ``a_b`` both make ``a_b``; the second one seen gets ``a_b-2``.
    """

    def __init__(self, fallback: str = "unnamed") -> None:
        self.fallback = fallback
        self._by_name: dict[str, str] = {}
        self._taken: set[str] = set()

    def __call__(self, name: str) -> str:
        """The file name of ``name``."""
        if name in self._by_name:
            return self._by_name[name]
        base = safe_name(name, self.fallback)
        candidate, number = base, 1
        while candidate in self._taken:
            number += 1
            candidate = f"{base}-{number}"
        self._taken.add(candidate)
        self._by_name[name] = candidate
        return candidate
