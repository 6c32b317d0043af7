"""Test-wide settings: small thread counts keep the suite fast and stable on 2 cores."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.fork_server import ForkServer  # noqa: E402

RAM_DISK = Path("/dev/shm")
RAM_TEMP = RAM_DISK / "vis4d-tests"  # pytest's folders (its retention rules), and each session's TMPDIR
SHARED_RUNS = "docs-run-shared"  # under the session's pytest folder: docs-run's runs shared between docs
RAM_NEEDED = 12 * 2**30  # the session's files peak at about 5 GB (433 MB checkpoints), its processes at a few GB


def _use_ram_for_temporary_files() -> None:
    """Temporary files (``tmp_path``, the fork server's, the commands') in RAM when a tmpfs has room.

    The end-to-end tests write about 15 GB of checkpoints per session; on a disk each write costs kernel time
    (page cache, journal) on top of the copy: docs-run's sys time 46 -> 39 s. Unchanged where the user chose
    (TMPDIR, PYTEST_DEBUG_TEMPROOT) or memory is short. pytest keeps its folders under ``RAM_TEMP`` by its
    rules (a passed test's are removed when it ends: pyproject.toml); everything else goes to a TMPDIR of the
    session's own, removed when it ends. xdist workers inherit the controller's choice.
    """
    if "TMPDIR" in os.environ or "PYTEST_DEBUG_TEMPROOT" in os.environ or not os.access(RAM_DISK, os.W_OK):
        return
    try:
        mounts = Path("/proc/mounts").read_text().split("\n")
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        available = int(meminfo["MemAvailable"].split()[0]) * 1024
        stat = os.statvfs(RAM_DISK)
        tmpfs = any(line.split()[1:3] == [str(RAM_DISK), "tmpfs"] for line in mounts if line.strip())
        if tmpfs and min(available, stat.f_bavail * stat.f_frsize) >= RAM_NEEDED:
            RAM_TEMP.mkdir(exist_ok=True)
            import tempfile

            os.environ["PYTEST_DEBUG_TEMPROOT"] = str(RAM_TEMP)
            os.environ["TMPDIR"] = tempfile.mkdtemp(prefix="session-", dir=RAM_TEMP)
            tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    except (OSError, KeyError, ValueError):
        return


def _remove_session_temp() -> None:
    """The session's own TMPDIR in RAM, with what its processes left there (a killed run's multiprocessing
    folder, DDP error files...)."""
    session = Path(os.environ.get("TMPDIR", "/"))
    if session.parent == RAM_TEMP and session.name.startswith("session-"):
        import shutil

        shutil.rmtree(session, ignore_errors=True)


_use_ram_for_temporary_files()


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread in every process that runs tests; xdist's controlling process runs none and does not import
    torch (1-2 s of its start and exit, while the workers start and end)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    import torch

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


# Longest first: with parallel workers (pytest-xdist) a long test that starts last is the suite's tail, one core
# idle meanwhile. Test files are ordered by their longest test in the last run (pytest's cache); without a
# record, the files of end-to-end tests (marked slow) lead, the documented commands first. A file's tests stay
# together and in their order, so module-scoped fixtures are built once.
DURATIONS_KEY = "vis4d/durations"
_DURATIONS: dict[str, float] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the test files by their longest test, longest first (a stable sort)."""
    known: dict[str, float] = config.cache.get(DURATIONS_KEY, {}) if getattr(config, "cache", None) is not None else {}

    def expected(item: pytest.Item) -> float:
        if item.nodeid in known:
            return float(known[item.nodeid])
        if "test_docs_run.py" in item.nodeid:
            return 60.0
        return 10.0 if item.get_closest_marker("slow") else 0.0

    longest: dict[str, float] = {}
    for item in items:
        longest[item.path.as_posix()] = max(longest.get(item.path.as_posix(), 0.0), expected(item))
    items.sort(key=lambda item: longest[item.path.as_posix()], reverse=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect each test's time (setup, call, teardown; under xdist, in the controlling process)."""
    _DURATIONS[report.nodeid] = _DURATIONS.get(report.nodeid, 0.0) + report.duration


def _remove_shared_runs(session: pytest.Session) -> None:
    """docs-run's runs shared between docs (tests/test_docs_run.py: ``ran_before``, up to 6 GB in RAM) go with the
    session even when it failed: a failed doc's own folder keeps what it used (hard links)."""
    basetemp = getattr(getattr(session.config, "_tmp_path_factory", None), "_basetemp", None)
    if basetemp is not None:
        import shutil

        shutil.rmtree(Path(basetemp) / SHARED_RUNS, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the fork server with the session; keep the durations for the next run's order."""
    for server in _SERVER:
        assert isinstance(server, ForkServer)
        server.close()
    if not hasattr(session.config, "workerinput"):  # not in an xdist worker: the workers have ended
        _remove_session_temp()
        _remove_shared_runs(session)
    cache = getattr(session.config, "cache", None)
    if cache is not None and _DURATIONS and not hasattr(session.config, "workerinput"):  # not in an xdist worker
        known = cache.get(DURATIONS_KEY, {})
        known.update({nodeid: round(seconds, 3) for nodeid, seconds in _DURATIONS.items()})
        cache.set(DURATIONS_KEY, known)
