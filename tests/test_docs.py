"""The user guide stays true: generated references are current and every documented command works.

Commands on files shipped in this repository (``vis4d data stats``, ``vis4d eval``,
``vis4d vis`` on ``assets/``) are run. Trainer commands need user data or hours
of compute, so they are parsed by the real parser and their config, overrides
and options are resolved and validated exactly as a run would do before
training starts.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from vis4d.cli import main as vis4d_main
from vis4d.config.load import load_config
from vis4d.engine.cli import build_parser, split_args

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def documented_commands() -> list[tuple[str, str]]:
    """(doc file, command) for every command line in the docs' bash blocks."""
    commands = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                if line and not line.startswith("#"):
                    commands.append((doc.name, line))
    return commands


COMMANDS = documented_commands()


def test_generated_references_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_docs_have_commands() -> None:
    assert len(COMMANDS) > 15
    assert any("vis4d eval" in c for _, c in COMMANDS)


def _words(command: str) -> list[str]:
    words = shlex.split(command)
    while words and "=" in words[0] and not words[0].startswith("-"):  # leading VAR=value environment settings
        words.pop(0)
    if words and words[0] in ("srun",):
        words = words[words.index("python3") :]
    return words


@pytest.mark.parametrize(("doc", "command"), [c for c in COMMANDS if "vis4d.engine.trainer" in c[1]])
def test_trainer_commands_parse_and_their_configs_validate(doc: str, command: str) -> None:
    words = _words(command)
    argv = words[words.index("vis4d.engine.trainer") + 1 :]
    if "-h" in argv:
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 0
        return
    args = build_parser().parse_args(argv)
    split_args(args)
    if args.config and not args.config.startswith("/path") and args.config != "CFG":
        config = load_config(ROOT / args.config, ",".join(args.cfg_options) or None)
        assert config.categories


@pytest.mark.parametrize(
    ("doc", "command"),
    [c for c in COMMANDS if c[1].startswith("vis4d ") and "assets/" in c[1]],
)
def test_commands_on_shipped_files_run(doc: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    words = [w.replace("assets/", f"{ROOT}/assets/") for w in _words(command)]
    assert vis4d_main(words[1:]) == 0


@pytest.mark.slow
def test_profiling_command_prints_and_saves_its_report(tmp_path: Path) -> None:
    """The documented benchmarking command, run as written (config path from the repository root)."""
    (command,) = [c for doc, c in COMMANDS if doc == "profiling.md" and "--profiler simple" in c]
    words = _words(command)
    argv = words[words.index("vis4d.engine.trainer") + 1 :]
    argv[argv.index("--config") + 1] = str(ROOT / argv[argv.index("--config") + 1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "vis4d.engine.trainer", *argv],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = (tmp_path / "vis4d-workspace").glob("*/*/profile/fit-report.txt")
    text = report.read_text()
    assert text.startswith("FIT Profiler Report") and "run_training_batch" in text
    batches = re.search(r"run_training_batch\s*\|\s*[\d.e-]+\s*\|\s*(\d+)", text)
    assert batches is not None and int(batches.group(1)) == 15  # --limit_train_batches 15, one epoch
    assert "profile (fit): the 12 slowest" in result.stdout
    assert re.search(r"\n\s+[\d.]+\s+15\s+run_training_batch\n", result.stdout)
    assert result.stdout.rstrip().endswith(f"profile report: {report.relative_to(tmp_path)}")
