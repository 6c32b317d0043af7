"""The ``vis4d`` console script's own pages: a usage line and the commands, ``vis4d data -h``, one-line errors."""

from __future__ import annotations

import pytest

from vis4d.cli import COMMANDS, main


def test_help_is_a_usage_line_and_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("-h", "--help"):
        assert main([flag]) == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: vis4d [-h] COMMAND [options]\n")
        for name in ("train", "test", "predict", "eval", "data", "vis", "report", "weights", "convert"):
            (line,) = [line for line in out.splitlines() if line.startswith(f"  {name} ")]
            assert line.split(None, 1)[1] == COMMANDS[name]
        assert "``" not in out  # not a raw docstring


def test_data_help_lists_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vis4d data ")
    assert any(line.strip().startswith("stats ") for line in out.splitlines())


def test_data_stats_help_is_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "stats", "-h"])
    assert exit_info.value.code == 0
    assert "--format" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "a command is missing"),
        (["nonsense"], "unknown command 'nonsense'"),
        (["data"], "a data command is missing"),
        (["data", "count"], "unknown data command 'count'"),
    ],
)
def test_a_wrong_command_is_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("error: vis4d") and expected in line and captured.out == ""
