"""File I/O: atomic writing (a file a user keeps is complete or absent, never truncated), JSON reading."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vis4d.common.errors import DataError, ResourceError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", sync: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it into place on success.

    If the body raises, the temporary file is removed and ``path`` is left as it
    was (absent, or its previous complete version). ``sync`` flushes the data
    to disk before the rename (survives a power cut, not only a killed
    process); files that are cheap to make again (pictures) skip it.
    """
    target = Path(path)
    if target.is_dir():  # checked first: the rename would fail after all the work, with a traceback
        raise ResourceError(f"cannot write {target}: a folder of that name is in the way; move it or choose "
                            "another output")  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, default_file_mode())
    with replacing(target, tmp), os.fdopen(fd, mode) as handle:
        yield handle
        if sync:
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def replacing(target: Path, tmp: str | os.PathLike[str]) -> Iterator[None]:
    """Rename the temporary file ``tmp`` over ``target`` when the body succeeds; otherwise remove it.

    A full disk becomes one line with the free space (:func:`raise_if_disk_full`);
    ``target`` keeps its previous version either way.
    """
    try:
        yield
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise_if_disk_full(err, target)
        raise


def raise_if_disk_full(error: BaseException, target: Path) -> None:
    """Turn "no space left on device" while writing ``target`` into one line with the free space left.

    Called after the temporary file was removed: what was there before
    (the previous checkpoint, an earlier prediction file) is untouched.
    """
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(target.parent).free
        raise ResourceError(
            f"cannot write {target}: no space left on the device ({free / 2**20:.0f} MiB free); "
            "the previous version of the file is unchanged"
        ) from None


def default_file_mode() -> int:
    """Permissions a plainly created file would get (0o666 minus the umask); mkstemp uses 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(obj, handle, indent=indent)


def atomic_replace(tmp_path: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Move a finished temporary file into place (same filesystem)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_path, path)


def atomic_link(source: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Make ``path`` the same file as ``source`` without writing it again, atomically.

    A hard link (a copy where the filesystem has none), put in place by a
    rename: ``path`` is always its previous version or the new one. Files
    are only ever replaced by renames in vis4d, never rewritten in place, so
    the two names stay independent: replacing one later leaves the other as it was.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    with replacing(target, tmp):
        try:
            os.link(source, tmp)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            shutil.copyfile(source, tmp)


def read_json(path: Path, what: str, malformed: type[Exception] = DataError) -> Any:
    """``json.load`` of ``path`` (expected to be ``what``, e.g. "a label file") with one-line errors.

    A file that is empty, not JSON (named with its line and column), not
    UTF-8 or nested too deeply raises ``malformed`` (loaders raise their
    skippable kind); a file that cannot be read raises :class:`DataError`.
    """
    try:
        if path.stat().st_size == 0:
            raise malformed(f"{path}: the file is empty (0 bytes); expected {what}")
        with open(path, "rb") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise malformed(f"{path}:{error.lineno}:{error.colno}: malformed JSON: {error.msg}") from None
    except RecursionError:  # Python's parser recurses per nesting level
        raise malformed(f"{path}: JSON nested too deeply to be {what}") from None
    except UnicodeDecodeError as error:
        raise malformed(f"{path}: not UTF-8 text ({error.reason}); expected {what}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None
