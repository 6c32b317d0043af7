from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from vis4d.common.errors import ConfigError
from vis4d.engine.workspace import (
    check_new_run,
    choose_weights,
    remove_stale_temporaries,
    resolve_weights,
    resolve_workspace,
    run_lock,
)


def test_new_training_run_gets_a_timestamp_version(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "QDTrack", None, None, False)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", ws.version)
    assert ws.run_dir == tmp_path / "QDTrack" / ws.version
    assert ws.checkpoint("last") == ws.run_dir / "checkpoints" / "last.ckpt"


def test_test_uses_newest_run_with_checkpoints(tmp_path: Path) -> None:
    for version in ("old", "new"):
        ckpt = tmp_path / "E" / version / "checkpoints"
        ckpt.mkdir(parents=True)
        (ckpt / "best.ckpt").write_bytes(b"x")
    (tmp_path / "E" / "empty").mkdir()
    ws = resolve_workspace("test", str(tmp_path), "E", None, "best", False)
    assert ws.version in ("old", "new")
    assert resolve_weights(None, ws, "test", False) == ws.checkpoint("best")


def test_missing_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no run with checkpoints"):
        resolve_workspace("test", str(tmp_path), "E", None, None, False)
    ws = resolve_workspace("test", str(tmp_path), "E", "v1", None, False)
    with pytest.raises(ConfigError, match="best"):
        resolve_weights(None, ws, "test", False)
    with pytest.raises(ConfigError, match="file not found"):
        resolve_weights("nope.ckpt", ws, "test", False)


def _run_with(tmp_path: Path, version: str, which: str = "best") -> Path:
    path = tmp_path / "E" / version / "checkpoints" / f"{which}.ckpt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize("action", ["test", "predict"])
def test_without_weights_the_runs_best_comes_first_then_the_configs_model_weights(tmp_path: Path, action: str) -> None:
    published = tmp_path / "published.pth"
    published.write_bytes(b"x")
    # No run yet: the config's model.weights, in a new version (what a user of a published model has).
    ws = resolve_workspace(action, str(tmp_path), "E", None, None, False, str(published))
    choice = choose_weights(action, ws, None, False, str(published), "--weights")
    assert choice is not None and choice.path == published and choice.option == "model.weights"
    assert not choice.strict and ws.version != "v1"
    # A run with checkpoints exists: its best, whatever model.weights says.
    best = _run_with(tmp_path, "v1")
    ws = resolve_workspace(action, str(tmp_path), "E", None, None, False, str(published))
    choice = choose_weights(action, ws, None, False, str(published), "--weights")
    assert ws.version == "v1" and choice is not None and choice.path == best and choice.name == "best"
    # --version naming a run without checkpoints: model.weights again; --weights: only that file.
    ws = resolve_workspace(action, str(tmp_path), "E", "v2", None, False, str(published))
    assert choose_weights(action, ws, None, False, str(published), "--weights").path == published  # type: ignore[union-attr]
    explicit = tmp_path / "mine.ckpt"
    explicit.write_bytes(b"x")
    choice = choose_weights(action, ws, str(explicit), False, str(published), "--weights")
    assert choice is not None and choice.path == explicit and choice.option == "--weights" and choice.strict
    assert choose_weights(action, ws, "none", False, str(published), "--weights") is None


def test_neither_a_run_nor_model_weights_is_todays_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--version: no run with checkpoints found .* or set model.weights"):
        resolve_workspace("predict", str(tmp_path), "E", None, None, False, None)


def test_remote_model_weights_name_the_url_and_the_cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    cached = tmp_path / "th" / "hub" / "checkpoints" / "model.pth"
    cached.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(1)}, cached)
    ws = resolve_workspace("predict", str(tmp_path), "E", None, None, False, "https://example.invalid/model.pth")
    choice = choose_weights("predict", ws, None, False, "https://example.invalid/model.pth", "--weights")
    assert choice is not None and choice.path == cached
    assert choice.describe() == f"https://example.invalid/model.pth, cached at {cached}"


def test_best_falls_back_to_last_and_resume_defaults_to_last(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, True)
    ws.checkpoint_dir.mkdir(parents=True)
    torch.save({"global_step": 1}, ws.checkpoint("last"))
    assert resolve_weights(None, ws, "train", True) == ws.checkpoint("last")
    assert resolve_weights("best", ws, "test", False) == ws.checkpoint("last")
    assert resolve_weights(None, ws, "train", False) is None


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage"])
def test_resume_falls_back_to_the_newest_readable_epoch_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, True)
    ws.checkpoint_dir.mkdir(parents=True)
    for epoch in (0, 1, 2):
        torch.save({"global_step": epoch}, ws.checkpoint_dir / f"epoch={epoch}.ckpt")
    (ws.checkpoint_dir / "epoch=2.ckpt").write_bytes((ws.checkpoint_dir / "epoch=2.ckpt").read_bytes()[:100])
    torch.save({"global_step": 9}, ws.checkpoint("last"))
    if damage == "missing":
        ws.checkpoint("last").unlink()
    elif damage == "truncated":  # what a power cut during a non-atomic copy leaves
        ws.checkpoint("last").write_bytes(ws.checkpoint("last").read_bytes()[:200])
    else:
        ws.checkpoint("last").write_text("not a checkpoint")
    assert resolve_weights(None, ws, "train", True) == ws.checkpoint_dir / "epoch=1.ckpt"  # epoch=2 is broken too
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"warning: --resume: {ws.checkpoint('last')} is ") and line.endswith("from epoch=1.ckpt")
    assert ("missing" if damage == "missing" else "unreadable") in line


def test_resume_without_any_readable_checkpoint_is_one_line(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, True)
    ws.checkpoint_dir.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"last.ckpt is missing and .* holds no readable epoch=N.ckpt \(the run "
                       r"ended before its first checkpoint: start it again without --resume\)$"):  # fmt: skip
        resolve_weights(None, ws, "train", True)
    (ws.checkpoint_dir / "epoch=0.ckpt").write_bytes(b"PK")  # a broken one: not "ended before its first checkpoint"
    with pytest.raises(ConfigError, match=r"last.ckpt is missing and .* holds no readable epoch=N.ckpt$"):
        resolve_weights(None, ws, "train", True)


def test_a_second_run_into_a_live_run_directory_is_refused_with_its_pid(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, False)
    with run_lock(ws):
        with pytest.raises(ConfigError, match=rf"{ws.run_dir} is in use by a live run \(PID {os.getpid()} on "):
            with run_lock(ws):
                pass
        holder = "import fcntl,sys; f=open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)"
        other = subprocess.run(
            [sys.executable, "-c", holder, str(ws.run_dir / ".lock")], capture_output=True, check=False
        )
        assert other.returncode != 0 and b"Error" in other.stderr  # another process sees the lock too
    with run_lock(ws):  # released when the run ends (and by the kernel when a process dies)
        pass


def test_the_lock_is_not_inherited_by_forked_workers(tmp_path: Path) -> None:
    """A killed run's data loader workers (forked, alive a moment longer) must not block --resume."""
    import os
    import signal
    import subprocess
    import sys

    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, False)
    script = (
        "import os, time\n"
        "from vis4d.engine.workspace import resolve_workspace, run_lock\n"
        f"ws = resolve_workspace('train', {str(tmp_path)!r}, 'E', 'v1', None, False)\n"
        "with run_lock(ws):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    print(child, flush=True)\n"
        "    time.sleep(60)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    worker = int(run.stdout.readline())
    run.send_signal(signal.SIGKILL)
    run.wait()
    try:
        os.kill(worker, 0)  # the orphaned worker is still alive ...
        with run_lock(ws):  # ... and the directory is free
            pass
    finally:
        os.kill(worker, signal.SIGKILL)


def test_train_refuses_a_directory_that_holds_a_run(tmp_path: Path) -> None:
    ws = resolve_workspace("train", str(tmp_path), "E", "v1", None, False)
    ws.run_dir.mkdir(parents=True)
    (ws.run_dir / ".lock").write_text("")
    check_new_run(ws)  # an empty (or only locked) directory is new
    (ws.run_dir / "config.yaml").write_text("categories: [a]\n")
    with pytest.raises(ConfigError, match=r"already holds a run \(config.yaml\); continue it with --resume"):
        check_new_run(ws)


def test_temporaries_of_killed_writes_are_removed(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    stale = [tmp_path / "checkpoints" / ".last.ckpt.abc123.tmp", tmp_path / ".metrics.json.x1.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    kept = [tmp_path / "checkpoints" / "last.ckpt", tmp_path / "notes.tmp", tmp_path / ".lock"]
    for path in kept:
        path.write_bytes(b"keep")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert all(path.exists() for path in kept) and not any(path.exists() for path in stale)
