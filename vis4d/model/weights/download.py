"""Fetch remote weights into torch.hub's cache: once, checked, with progress, safe under DDP.

:func:`fetch` returns the local file of a :class:`WeightsSource`. A remote
file already in the cache is used as it is. Otherwise one process downloads
it while the others wait: a lock file beside the target (``fcntl.flock``)
serialises every process on the machine, so the ranks of a DDP run, or two
runs started together, download it once. torch.hub's downloader writes a
temporary file and moves it into place, checks the SHA-256 prefix when the
file name carries one (``resnet50-0676ba61.pth``) and shows a progress bar.

A file that cannot be fetched (no network, wrong URL, hash mismatch) is one
line naming the URL and the exact cache path where the file may be placed by
hand (:class:`~vis4d.common.errors.ConfigError`, exit code 2 on the command
line).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from vis4d.common.errors import ConfigError
from vis4d.model.weights.sources import WeightsSource


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
    """The local file of ``source``, downloading a remote one into the cache first if it is not there."""
    if source.url is None:
        if source.path.is_dir():
            raise ConfigError(f"{source.option}: {source.name} is a directory, expected a checkpoint file")
        if not source.path.is_file():
            raise ConfigError(f"{source.option}: file not found: {source.name}")
        return source.path
    if source.path.is_file():
        return source.path
    with _exclusive(source.path.with_name(f".{source.path.name}.lock")):
        if source.path.is_file():  # another process finished it while this one waited
            return source.path
        _download(source, sys.stderr.isatty() if progress is None else progress)
    return source.path


def _download(source: WeightsSource, progress: bool) -> None:
    import torch.hub

    assert source.url is not None
    print(f"downloading {source.url} to {source.path}", file=sys.stderr)
    try:
        torch.hub.download_url_to_file(source.url, str(source.path), source.hash_prefix, progress=progress)
    except Exception as err:  # noqa: BLE001 - URLError, HTTPError, hash mismatch, disk errors: all end the same way
        with contextlib.suppress(FileNotFoundError):
            os.unlink(source.path)  # a hash mismatch leaves nothing half-trusted behind
        reason = " ".join(str(getattr(err, "reason", err)).split()) or type(err).__name__
        raise ConfigError(
            f"{source.option}: cannot download {source.url} ({reason}); place the file by hand at {source.path}"
        ) from err
