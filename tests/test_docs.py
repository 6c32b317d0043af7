"""The user guide stays true: generated references are current and every documented command works.

The guide is README.md, docs/*.md and each model zoo entry's README. Every
command block that runs vis4d starts with ``source .venv/bin/activate``: the
set-up commands install vis4d into ``.venv/``, which a new shell does not see.
Each documented command is checked in such a new shell (an empty environment
but for ``PATH=/usr/bin:/bin`` and ``HOME``) after that line: commands on files
shipped in this repository (``vis4d data stats``, ``vis4d eval``, ``vis4d vis``
on ``assets/``) are run as written; for the others the program is started
(``-h``), so a missing environment or command fails here. Trainer commands need
user data or hours of compute, so they are also parsed by the real parser and
their config, overrides and options resolved and validated exactly as a run
would do before training starts.
"""

from __future__ import annotations

import concurrent.futures
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"] + sorted((ROOT / "zoo").glob("*/README.md"))
ACTIVATE = "source .venv/bin/activate"
OUTSIDE_THE_ENVIRONMENT = ("make ", "pip ")  # set-up commands: they make or fill an environment
CLEAN_PATH = "/usr/bin:/bin"


def command_blocks() -> list[tuple[str, list[str]]]:
    """(doc file, command lines) for every bash block of the guide, comments removed."""
    blocks = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S):
            lines = [line.split("  #")[0].strip() for line in block.splitlines()]
            lines = [line for line in lines if line and not line.startswith("#")]
            blocks.append((str(doc.relative_to(ROOT)), lines))
    return blocks


BLOCKS = command_blocks()
COMMANDS = [(doc, line) for doc, lines in BLOCKS for line in lines if line != ACTIVATE]


def test_generated_references_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_docs_have_commands() -> None:
    assert len(COMMANDS) > 15
    assert any("vis4d eval" in c for _, c in COMMANDS)
    zoo_readmes = {doc for doc, _ in COMMANDS if doc.startswith("zoo/")}
    assert zoo_readmes == {str(p.relative_to(ROOT)) for p in (ROOT / "zoo").glob("*/README.md")}


@pytest.mark.parametrize("entry", sorted(p.parent.name for p in (ROOT / "zoo").glob("*/README.md")))
def test_each_zoo_entry_documents_test_and_predict_with_its_own_config(entry: str) -> None:
    """A zoo entry is usable as it stands: its README's test and predict commands use its self-contained config."""
    config = f"zoo/{entry}/config.yaml"
    assert "base" not in yaml.safe_load((ROOT / config).read_text())  # self-contained: no relative base files
    commands = [c for doc, c in COMMANDS if doc == f"zoo/{entry}/README.md"]
    for action in ("test", "predict"):
        assert any(f"vis4d.engine.trainer {action} --config {config} --weights " in c for c in commands), action


def test_every_block_that_runs_vis4d_activates_its_environment_first() -> None:
    wrong = [
        f"{doc}: block starting {lines[0]!r}"
        for doc, lines in BLOCKS
        if lines[0] != ACTIVATE and not all(line.startswith(OUTSIDE_THE_ENVIRONMENT) for line in lines)
    ]
    assert not wrong, f"these blocks need {ACTIVATE!r} as their first line:\n" + "\n".join(wrong)


def _words(command: str) -> list[str]:
    words = shlex.split(command)
    while words and "=" in words[0] and not words[0].startswith("-"):  # leading VAR=value environment settings
        words.pop(0)
    if words and words[0] in ("srun",):
        words = words[words.index("python3") :]
    return words


def _shell_check(command: str) -> str | None:
    """What a new, activated shell must find for a documented command: its program, answering.

    Running the command itself is :mod:`tests.test_docs_run`'s job; here the
    point is the environment: after the documented first line, ``python3``
    has vis4d and ``vis4d``/``tensorboard`` are on PATH.
    """
    words = _words(command)
    if not words or command.startswith(OUTSIDE_THE_ENVIRONMENT):
        return None
    if words[0] == "vis4d":
        return "vis4d -h"
    if words[:3] == ["python3", "-m", "vis4d.engine.trainer"]:
        return "python3 -m vis4d.engine.trainer -h"
    if words[0] == "python3":
        return "python3 -c 'import vis4d'"
    return f"command -v {shlex.quote(words[0])}"


def _clean_shell(script: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``script`` in bash with an empty environment (as ``env -i``) but for a system PATH and a HOME."""
    return subprocess.run(
        ["/bin/bash", "-c", script], cwd=cwd, env={"PATH": CLEAN_PATH, "HOME": str(home)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def repository_copy(tmp_path: Path) -> Path:
    """A folder that looks like the repository root (links to its files), so outputs stay out of the clone."""
    root = tmp_path / "repo"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in ("vis4d-workspace", ".git"):
            (root / entry.name).symlink_to(entry)
    (tmp_path / "home").mkdir()
    return root


def test_the_demo_echoes_the_documented_activation_line() -> None:
    """``make demo`` runs in .venv and prints the same first line as the guide's blocks."""
    from scripts.demo import activation_line

    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("the tests run outside the repository's .venv")
    assert activation_line() == ACTIVATE


def test_a_new_shell_does_not_see_vis4d_before_activation(repository_copy: Path) -> None:
    """The check below can fail: without the documented first line, the console script is not found."""
    result = _clean_shell("vis4d -h", repository_copy, repository_copy.parent / "home")
    assert result.returncode == 127 and "command not found" in result.stderr


def test_every_documented_command_works_in_a_new_shell(repository_copy: Path) -> None:
    """Each check in its own clean shell, two at a time; a failure names the doc, the command and its error."""
    checks: dict[str, list[str]] = {}
    for doc, command in COMMANDS:
        check = _shell_check(command)
        if check is not None:
            checks.setdefault(check, []).append(f"{doc}: {command}")
    assert "python3 -m vis4d.engine.trainer -h" in checks and "vis4d -h" in checks
    home = repository_copy.parent / "home"

    def run(check: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        return check, _clean_shell(f"{ACTIVATE} && {check}", repository_copy, home)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, checks))
    failed = [
        f"{checks[check][0]}\n  ran: {check}\n  exit {result.returncode}: {result.stderr.strip()[-500:]}"
        for check, result in results
        if result.returncode != 0
    ]
    assert not failed, "documented commands that fail in a new shell:\n" + "\n".join(failed)
