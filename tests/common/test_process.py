"""exit_now: the exit code, threads joined, exit handlers run, output flushed; the interpreter's teardown skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
import atexit, sys, threading, time
from pathlib import Path
from vis4d.common.process import exit_now

out = Path(sys.argv[1])

def late_thread():
    time.sleep(0.3)
    (out / "thread").write_text("joined")

class Teardown:  # freed only by the interpreter's teardown
    def __del__(self):
        (out / "teardown").write_text("ran")

keep = Teardown()
threading.Thread(target=late_thread).start()
atexit.register(lambda: (out / "atexit").write_text(str((out / "thread").exists())))
sys.stdout.write("unflushed")
exit_now(int(sys.argv[2]))
"""


@pytest.mark.parametrize("code", [0, 3])
def test_exit_now_joins_threads_runs_handlers_and_flushes_then_skips_the_teardown(tmp_path: Path, code: int) -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path), str(code)], capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == code, result.stderr
    assert result.stdout == "unflushed"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "True"  # after the thread, as the interpreter orders them
    assert not (tmp_path / "teardown").exists()
