"""The code base stays ruff- and mypy-clean (the checks CI would otherwise forget)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    result = _run("ruff", "check", "vis4d", "tests", "benchmarks", "scripts")
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_strict_clean() -> None:
    result = _run("mypy", "--strict", "vis4d")
    assert result.returncode == 0, result.stdout[-4000:]
