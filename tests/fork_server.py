"""Command-line runs for the tests, each a real process, started in milliseconds instead of seconds.

A vis4d command imports torch, torchvision and Lightning before it does
anything (3-5 s on 2 cores); the end-to-end tests start dozens. The server here
imports them once, then ``fork()``s one child per command. Each child is a
process of its own: its own PID and session (signals and ``kill -9`` reach it
and its data loader workers as they reach a command started from a shell),
its own working directory, environment, argv, stdout and stderr (files), and
its own exit code. It runs the command's real entry point
(``vis4d.engine.trainer.main``, ``vis4d.cli.main`` or a script file as
``__main__``), then the exit handlers, as the interpreter would.

What a fork cannot give: a new interpreter. A ``trainer`` child looks like
``python -m vis4d.engine.trainer`` to code that restarts the program from its
command line (``__main__.__spec__``, ``sys.argv``): Lightning's ``ddp``
launcher starts ranks 1..N-1 as new interpreters running that command, as it
does from a shell; the child itself is rank 0. Checks of the installed
console script or of a shell environment run as real subprocesses instead.

Protocol: one JSON object per line on the server's stdin, one reply per line
on its stdout: ``{"op": "spawn", ...}`` -> ``{"pid": N}``; ``{"op": "wait",
"pid": N, "timeout": S}`` -> ``{"status": CODE}`` or ``{"timeout": true}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENTRIES = ("trainer", "vis4d", "script")


def _warm() -> None:
    """Import what every command imports (the cost each fork saves)."""
    import cv2  # noqa: F401
    import lightning.pytorch  # noqa: F401
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch
    import torchvision  # noqa: F401

    import vis4d.cli  # noqa: F401
    import vis4d.engine.callbacks  # noqa: F401
    import vis4d.engine.datamodule  # noqa: F401
    import vis4d.engine.module  # noqa: F401
    import vis4d.engine.trainer  # noqa: F401
    import vis4d.model.build  # noqa: F401
    import vis4d.model.weights.loading  # noqa: F401

    torch.set_num_threads(1)


def _child(request: dict[str, Any]) -> None:
    """Become the command: session, files, directory, environment, argv; run it; exit with its code."""
    code: Any = 1
    try:
        os.setsid()
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT)):  # fmt: skip
            handle = os.open(path, flags, 0o644)
            os.dup2(handle, fd)
            os.close(handle)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import torch

        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
        if os.environ.get("PYTHONWARNINGS") == "ignore":
            warnings.simplefilter("ignore")
        code = _run(request["entry"], request["argv"])
    except SystemExit as stop:
        code = stop.code
    except BaseException:  # noqa: BLE001 - the child reports what the interpreter would, then exits
        traceback.print_exc()
        code = 1
    finally:
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if not isinstance(code, int | None):  # sys.exit("message"): printed before the exit, as the interpreter does
            with contextlib.suppress(BaseException):
                print(code, file=sys.stderr, flush=True)
        try:
            from vis4d.common.process import exit_now

            exit_now(status)  # the command-line entry points' own exit: threads joined, exit handlers, flush
        finally:
            os._exit(status)  # never back into the server's loop, whatever happened above


def _run(entry: str, argv: list[str]) -> Any:
    if entry == "trainer":
        import importlib.util

        from vis4d.engine.trainer import main

        # What `python -m vis4d.engine.trainer ARGV` has: Lightning's ddp launcher restarts the program from these.
        sys.modules["__main__"].__spec__ = importlib.util.find_spec("vis4d.engine.trainer")
        sys.argv = [str(Path(sys.modules["vis4d.engine.trainer"].__file__ or "")), *argv]
        return main(argv)
    if entry == "vis4d":
        from vis4d.cli import main as vis4d_main

        sys.argv = ["vis4d", *argv]
        return vis4d_main(argv)
    import runpy

    sys.argv = list(argv)
    sys.path.insert(0, str(Path(argv[0]).resolve().parent))
    runpy.run_path(argv[0], run_name="__main__")
    return 0


def serve() -> None:
    """The server loop (``python -m tests.fork_server``)."""
    _warm()
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "spawn":
            replies.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(request)
            reply: dict[str, Any] = {"pid": pid}
        else:
            reply = _wait(int(request["pid"]), float(request["timeout"]))
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    # stdin closed: the session ended. Nothing here needs the interpreter's teardown (with torch loaded, 1-2 s
    # the closing test session would wait for).
    os._exit(0)


def _wait(pid: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"status": os.waitstatus_to_exitcode(status)}
        if time.monotonic() > deadline:
            return {"timeout": True}
        time.sleep(0.01)


@dataclass
class Completed:
    """What ``subprocess.run`` returns, for a forked command."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class Child:
    """A forked command: its PID (= its process group), signals, waiting, and its output once it ended."""

    def __init__(self, server: ForkServer, pid: int, args: list[str], out: Path, err: Path) -> None:
        self.server, self.pid, self.args, self._out, self._err = server, pid, args, out, err
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        if self.returncode is None:
            self.wait(0.0, raise_timeout=False)
        return self.returncode

    def wait(self, timeout: float = 600.0, raise_timeout: bool = True) -> int | None:
        """Wait for the exit code; on timeout raise ``subprocess.TimeoutExpired`` (or return None)."""
        if self.returncode is None:
            reply = self.server.request({"op": "wait", "pid": self.pid, "timeout": timeout})
            if "status" in reply:
                self.returncode = int(reply["status"])
            elif raise_timeout:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the command's process only (not its data loader workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self) -> None:
        """``kill -9`` the command and its workers."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def communicate(self, timeout: float = 600.0) -> tuple[str, str]:
        """Wait, then stdout and stderr; on timeout the command is killed and ``TimeoutExpired`` raised."""
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.wait(60)
            raise
        return self._out.read_text(errors="replace"), self._err.read_text(errors="replace")


class ForkServer:
    """The server process and its pipe; one per test session (per xdist worker)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.scratch.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(root), os.environ.get(
            "PYTHONPATH", "")]).rstrip(os.pathsep)}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fork_server"], cwd=root, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._count = 0

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one request, read its reply (the server answers in order)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], float(message.get("timeout", 0)) + 300)
            line = self.process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the fork server stopped answering (exit code {self.process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def start(self, entry: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Child:
        """Start ``argv`` (a command's arguments after its program) as a new process in ``cwd``."""
        assert entry in ENTRIES
        self._count += 1
        out, err = self.scratch / f"{self._count}.out", self.scratch / f"{self._count}.err"
        environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        request = {"op": "spawn", "entry": entry, "argv": argv, "cwd": str(cwd), "env": environment,
                   "stdout": str(out), "stderr": str(err)}  # fmt: skip
        reply = self.request(request)
        return Child(self, int(reply["pid"]), argv, out, err)

    def run(self, entry: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 600.0) -> Completed:  # fmt: skip
        """Run a command to its end: ``subprocess.run(..., capture_output=True, text=True)``."""
        child = self.start(entry, argv, cwd, env)
        out, err = child.communicate(timeout)
        assert child.returncode is not None
        return Completed(argv, child.returncode, out, err)

    def close(self) -> None:
        """Stop the server; remove the commands' output files."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


if __name__ == "__main__":
    serve()
