from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.model.weights.conftest import cache_dir
from vis4d.common.errors import ConfigError
from vis4d.model.weights import fetch, resolve_source


def _published(folder: Path, stem: str, payload: bytes = b"") -> Path:
    """A file named like torchvision's (``stem-<sha256 prefix>.pth``) in a folder that plays the web server."""
    data = payload or os.urandom(2048)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    path.write_bytes(data)
    return path


def test_download_goes_into_torch_hub_cache_once(tmp_path: Path, torch_home: Path) -> None:
    published = _published(tmp_path / "server", "weights")
    source = resolve_source(published.as_uri())
    assert source.hash_prefix == published.name.split("-")[1].split(".")[0]
    path = fetch(source, progress=False)
    assert path == torch_home / "hub" / "checkpoints" / published.name
    assert path.read_bytes() == published.read_bytes()
    published.unlink()  # the cache answers from now on
    assert fetch(resolve_source(published.as_uri()), progress=False) == path


def test_a_hash_mismatch_keeps_nothing_and_says_where_to_put_the_file(tmp_path: Path, torch_home: Path) -> None:
    good = _published(tmp_path / "server", "weights")
    bad = good.with_name("weights-00000000.pth")
    good.rename(bad)
    with pytest.raises(ConfigError) as info:
        fetch(resolve_source(bad.as_uri()), progress=False)
    message = str(info.value)
    assert bad.as_uri() in message and str(torch_home / "hub" / "checkpoints" / bad.name) in message
    assert not (torch_home / "hub" / "checkpoints" / bad.name).exists()
    assert list((torch_home / "hub" / "checkpoints").iterdir()) == [] or all(
        p.name.startswith(".") for p in (torch_home / "hub" / "checkpoints").iterdir()
    )


def test_offline_is_one_line_naming_the_url_and_the_cache_path(tmp_path: Path, torch_home: Path) -> None:
    missing = (tmp_path / "server" / "resnet18-f37072fd.pth").as_uri()  # nothing serves it
    with pytest.raises(ConfigError) as info:
        fetch(resolve_source(missing, "model.detector.backbone.weights"), progress=False)
    message = str(info.value)
    assert message.startswith(f"model.detector.backbone.weights: cannot download {missing}")
    assert message.endswith(f"place the file by hand at {torch_home / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth'}")
    assert "\n" not in message


def test_official_file_names_in_the_cache_are_used_without_download(torch_home: Path) -> None:
    from torchvision import models

    from vis4d.config.schema import BackboneConfig
    from vis4d.model.backbones import build_backbone
    from vis4d.model.weights.loading import load_backbone_weights

    reference = models.resnet18(weights=None)
    torch.save(reference.state_dict(), cache_dir(torch_home) / "resnet18-f37072fd.pth")
    backbone = build_backbone(BackboneConfig(type="resnet18", fpn_channels=16, weights="torchvision://resnet18"))
    load_backbone_weights(backbone, "torchvision://resnet18")
    assert torch.equal(backbone.body.layer3[0].conv1.weight, reference.layer3[0].conv1.weight)
    assert not backbone.body.conv1.weight.requires_grad  # frozen stem: weights were loaded


FETCH = "import sys; from vis4d.model.weights import fetch, resolve_source; print(fetch(resolve_source(sys.argv[1])))"


def test_a_process_waits_for_the_one_downloading_and_uses_its_file(tmp_path: Path, torch_home: Path) -> None:
    """The lock: while another process holds it, fetch waits; afterwards it finds the file and downloads nothing."""
    import fcntl

    published = _published(tmp_path / "server", "weights")
    target = cache_dir(torch_home) / published.name
    with open(target.with_name(f".{target.name}.lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        env = {**os.environ, "TORCH_HOME": str(torch_home)}
        waiting = subprocess.Popen([sys.executable, "-c", FETCH, published.as_uri()], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=2)  # imports take well under a second (no torch); then it blocks on the lock
        target.write_bytes(published.read_bytes())  # "the other process" finishes its download
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0 and out.strip() == str(target)
    assert "downloading" not in err


def test_concurrent_processes_download_once(tmp_path: Path, torch_home: Path) -> None:
    """Like the ranks of a DDP run: three processes ask at once, one downloads, all get the file."""
    published = _published(tmp_path / "server", "big", os.urandom(8 << 20))
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    workers = [
        subprocess.Popen([sys.executable, "-c", FETCH, published.as_uri()], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    assert {out.strip() for out, _ in outputs} == {str(torch_home / "hub" / "checkpoints" / published.name)}
    assert sum(err.count("downloading ") for _, err in outputs) == 1


def _checkpoint_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({"w": torch.arange(5000, dtype=torch.float32)}, buffer)
    return buffer.getvalue()


def test_a_cut_short_cached_file_is_removed_and_fetched_again(tmp_path: Path, torch_home: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    published = _published(tmp_path / "server", "weights", _checkpoint_bytes())
    cached = cache_dir(torch_home) / published.name
    cached.write_bytes(published.read_bytes()[:-700])  # what an interrupted copy leaves
    assert fetch(resolve_source(published.as_uri()), progress=False) == cached
    assert cached.read_bytes() == published.read_bytes()
    err = capsys.readouterr().err
    assert f"the cached {cached} is not a whole checkpoint archive" in err and "fetching it again" in err
    published.unlink()  # offline now: a damaged copy is named in the one-line error
    cached.write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(ConfigError, match=f"place the file by hand at {cached}"):
        fetch(resolve_source(published.as_uri()), progress=False)
    assert not cached.exists()


def test_a_whole_file_placed_by_hand_is_used_even_if_its_hash_differs(
    torch_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cached = cache_dir(torch_home) / "weights-0123abcd.pth"
    cached.write_bytes(_checkpoint_bytes())
    source = resolve_source("https://example.invalid/weights-0123abcd.pth")
    assert fetch(source, progress=False) == cached
    assert "does not start with 0123abcd" in capsys.readouterr().err
    assert fetch(source, progress=False) == cached  # checked once: the second use says nothing
    assert capsys.readouterr().err == ""


def test_offline_says_nothing_but_the_error(tmp_path: Path, torch_home: Path) -> None:
    """No 'downloading ...' line before the connection works: offline, stderr is the one error line."""
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    missing = (tmp_path / "server" / "weights-0123abcd.pth").as_uri()
    result = subprocess.run([sys.executable, "-c", FETCH, missing], env=env, capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode != 0 and "downloading" not in result.stderr
