"""Fetch remote weights into torch.hub's cache: once, checked, with progress, safe under DDP.

:func:`fetch` returns the local file of a :class:`WeightsSource`. A remote
file already in the cache is used as it is once it reads as whole (below).
Otherwise one process downloads it while the others wait: a lock file beside
the target (``fcntl.flock``) serialises every process on the machine, so the
ranks of a DDP run, or two runs started together, download it once.

The download streams into a temporary file beside the target and is renamed
into place only when complete: its length matches the server's and, when the
file name carries a SHA-256 prefix (``resnet50-0676ba61.pth``, torchvision's
and torch.hub's convention), so does its hash. The connection is tried before
anything is announced, with a timeout, so an offline machine answers at once.

A cached file is checked once (the result is remembered beside it, keyed by
size and modification time): a checkpoint archive that does not read as whole
(a copy cut short, a disk error) is removed and fetched again; a whole file
whose hash differs from its name's prefix is used with a warning (a file
placed by hand). Nothing that cannot be fetched is a traceback: one line names
the URL and the exact cache path where the file may be placed by hand
(:class:`~vis4d.common.errors.ConfigError`, exit code 2 on the command line).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from vis4d.common.errors import ConfigError
from vis4d.model.weights.sources import WeightsSource

CONNECT_TIMEOUT_S = 20.0  # seconds without an answer before a download is given up (no network, a firewall)
CHUNK = 1 << 20


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the body."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def fetch(source: WeightsSource, progress: bool | None = None) -> Path:
    """The local file of ``source``, downloading a remote one into the cache first if it is not there (whole)."""
    if source.page is not None:
        if source.path.is_file():
            return source.path
        raise ConfigError(
            f"{source.option}: {source.name} is published behind a web page, not at a direct URL: download it from "
            f"{source.page} and place it at {source.path}"
        )
    if source.url is None:
        if source.path.is_dir():
            raise ConfigError(f"{source.option}: {source.name} is a directory, expected a checkpoint file")
        if not source.path.is_file():
            raise ConfigError(f"{source.option}: file not found: {source.name}")
        return source.path
    if source.path.is_file() and _usable(source):
        return source.path
    with _exclusive(source.path.with_name(f".{source.path.name}.lock")):
        if source.path.is_file() and _usable(source):  # another process finished it while this one waited
            return source.path
        _download(source, sys.stderr.isatty() if progress is None else progress)
    return source.path


def _marker(path: Path) -> Path:
    return path.with_name(f".{path.name}.checked")


def _stamp(path: Path) -> str:
    status = path.stat()
    return f"{status.st_size} {status.st_mtime_ns}"


def _usable(source: WeightsSource) -> bool:
    """Whether the cached file can be used; a damaged one is removed (and said so), so it is fetched again."""
    path, marker = source.path, _marker(source.path)
    with contextlib.suppress(OSError):
        if marker.read_text().strip() == _stamp(path):
            return True
    problem = damage(path)
    if problem is not None:
        print(f"warning: {source.option}: the cached {path} is {problem}; removing it and fetching it again",
              file=sys.stderr)  # fmt: skip
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False
    prefix = source.hash_prefix
    if prefix is not None:
        with open(path, "rb") as handle:
            digest = _sha256(handle)
        if not digest.startswith(prefix):
            print(f"warning: {source.option}: {path} reads as a checkpoint, but its SHA-256 ({digest[:12]}) does "
                  f"not start with {prefix} as its name says: not the published file (placed by hand?)",
                  file=sys.stderr)  # fmt: skip
    with contextlib.suppress(OSError):
        marker.write_text(_stamp(path) + "\n")
    return True


def damage(path: Path) -> str | None:
    """Why a cached checkpoint cannot be whole (empty, a cut-short or damaged archive), or None.

    ``torch.save`` writes a zip archive; reading every member checks their
    CRCs. Legacy pickles (before torch 1.6) cannot be checked without loading
    them and pass.
    """
    size = path.stat().st_size
    if size == 0:
        return "empty (0 bytes)"
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            return None
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError):
        return f"not a whole checkpoint archive ({size} bytes; a download or copy cut short?)"
    return f"damaged (member {broken} fails its checksum)" if broken else None


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def remote_size(source: WeightsSource, timeout: float = 5.0) -> int | None:
    """The size in bytes of a remote file (None when unknown), or raise :class:`ConfigError` if it cannot be reached.

    Asks the server once, with a short timeout, so that a caller can decide to
    download (and say how much) before starting, and an offline machine does
    not wait for a download to fail.
    """
    assert source.url is not None
    request = urllib.request.Request(source.url, method="HEAD", headers={"User-Agent": "vis4d"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's URL
            return int(response.headers.get("Content-Length") or 0) or None
    except Exception as err:  # noqa: BLE001 - no network, DNS, HTTP errors: all mean "cannot fetch now"
        raise _cannot(source, " ".join(str(getattr(err, "reason", err)).split()) or type(err).__name__) from None


def _cannot(source: WeightsSource, reason: str) -> ConfigError:
    return ConfigError(
        f"{source.option}: cannot download {source.url} ({reason}); place the file by hand at {source.path}"
    )


def _download(source: WeightsSource, progress: bool) -> None:
    """Stream ``source.url`` into the cache through a temporary file, checked, then renamed into place."""
    assert source.url is not None
    request = urllib.request.Request(source.url, headers={"User-Agent": "vis4d"})
    try:
        response = urllib.request.urlopen(request, timeout=CONNECT_TIMEOUT_S)  # noqa: S310 - the user's URL
    except Exception as err:  # noqa: BLE001 - URLError, HTTPError, timeouts: all end the same way
        raise _cannot(source, " ".join(str(getattr(err, "reason", err)).split()) or type(err).__name__) from None
    total = int(response.headers.get("Content-Length") or 0) or None
    print(f"downloading {source.url} to {source.path}", file=sys.stderr)
    source.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = source.path.with_name(f".{source.path.name}.{os.getpid()}.partial")
    digest, written = hashlib.sha256(), 0
    bar = _progress_bar(total, progress)
    try:
        with response, open(temporary, "wb") as handle:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                handle.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                bar(len(chunk))
        if total is not None and written != total:
            raise _cannot(source, f"the connection ended after {written} of {total} bytes")
        if source.hash_prefix and not digest.hexdigest().startswith(source.hash_prefix):
            raise _cannot(source, f"SHA-256 {digest.hexdigest()[:12]} does not start with {source.hash_prefix}")
        os.replace(temporary, source.path)
        _marker(source.path).write_text(_stamp(source.path) + "\n")
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - a connection reset, a full disk: nothing half-written stays
        raise _cannot(source, f"{type(err).__name__} after {written} bytes: {err}") from None
    finally:
        bar(None)
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _progress_bar(total: int | None, show: bool) -> Callable[[int | None], None]:
    """A tqdm bar in bytes (when ``show``); call with a byte count to advance it, with None to close it."""
    if not show:
        return lambda step: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)

    def update(step: int | None) -> None:
        if step is None:
            bar.close()
        else:
            bar.update(step)

    return update
