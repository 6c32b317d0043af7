"""Test-wide settings: small thread counts keep the suite fast and stable on 2 cores."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from tests.fork_server import ForkServer  # noqa: E402

torch.set_num_threads(1)


_SERVER: list[object] = []  # the session's fork server, started on first use (tests.fork_server)


def fork_server() -> ForkServer:
    """The session's :class:`~tests.fork_server.ForkServer` (one per pytest process; started on first use)."""
    if not _SERVER:
        import tempfile

        _SERVER.append(ForkServer(Path(tempfile.mkdtemp(prefix="vis4d-fork-"))))
    server = _SERVER[0]
    assert isinstance(server, ForkServer)
    return server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the fork server with the session."""
    for server in _SERVER:
        assert isinstance(server, ForkServer)
        server.close()
