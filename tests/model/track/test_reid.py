"""OSNet: torchreid's key layout and outputs; published weights by name from torch.hub's cache (never downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vis4d.common.errors import ConfigError
from vis4d.model.track.reid import OSNet, ReIDEmbedder, osnet_from_state_dict, osnet_state_dict
from vis4d.model.weights.catalogue import REID_PAGES, known_weights, reid_page

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "osnet_x0_25_boxmot.json").read_text())


def fixture_tensors(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The fixture's weights: numpy's default_rng over the sorted names (see its README)."""
    rng = np.random.default_rng(FIXTURE["seed"])
    out = {}
    for name in sorted(shapes):
        if name.endswith("num_batches_tracked"):
            out[name] = torch.zeros((), dtype=torch.int64)
        elif name.endswith("running_var"):
            out[name] = torch.from_numpy(rng.uniform(0.5, 1.5, shapes[name]).astype(np.float32))
        else:
            out[name] = torch.from_numpy(rng.normal(0.0, 0.1, shapes[name]).astype(np.float32))
    return out


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def test_same_parameter_names_and_shapes_as_torchreid() -> None:
    ours = {k: list(v.shape) for k, v in OSNet((16, 64, 96, 128)).state_dict().items()}
    theirs = {k: v for k, v in FIXTURE["parameters"].items() if not k.startswith("classifier.")}
    assert ours == theirs


def test_published_checkpoint_by_name_gives_boxmots_embeddings(torch_home: Path) -> None:
    """A torchreid-style file (``module.`` prefix, classifier) under the official name in the cache."""
    tensors = fixture_tensors(FIXTURE["parameters"])
    path = torch_home / "hub" / "checkpoints" / "osnet_x0_25_msmt17.pt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in tensors.items()}, "epoch": 150}, path)
    embedder = ReIDEmbedder.from_name("reid://osnet_x0_25_msmt17")
    images = np.random.default_rng(FIXTURE["input_seed"]).uniform(-2, 2, (2, 3, 256, 128)).astype(np.float32)
    with torch.no_grad():
        embeddings = embedder.network(torch.from_numpy(images))
    np.testing.assert_allclose(embeddings.numpy(), FIXTURE["embeddings"], rtol=1e-4, atol=1e-5)


def test_embedder_crops_boxes_and_returns_unit_vectors() -> None:
    network = osnet_from_state_dict(osnet_state_dict(OSNet((16, 64, 96, 128)).state_dict(), "test"), "test")
    embedder = ReIDEmbedder(network)
    image = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    boxes = torch.tensor([[10.0, 10.0, 60.0, 110.0], [-5.0, 50.0, 30.0, 130.0], [150.0, 0.0, 150.4, 3.0]])
    out = embedder(image, boxes)
    assert out.shape == (3, 512)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    assert embedder(image, boxes[:0]).shape == (0, 512)
    same = embedder(image, boxes[:1])
    torch.testing.assert_close(same[0], out[0], rtol=1e-4, atol=1e-5)  # crops are embedded one by one


def test_missing_published_file_says_where_to_get_it(torch_home: Path) -> None:
    with pytest.raises(ConfigError, match=r"behind a web page.*drive.google.com.*place it at .*osnet_x1_0_msmt17.pt"):
        ReIDEmbedder.from_name("reid://osnet_x1_0_msmt17")
    with pytest.raises(ConfigError, match="no published file 'osnet_x9.pt' is known"):
        ReIDEmbedder.from_name("reid://osnet_x9")
    with pytest.raises(ConfigError, match="not an OSNet checkpoint"):
        osnet_state_dict({"state_dict": {"backbone.weight": torch.zeros(1)}}, "model.tracker.reid")


def test_weights_list_names_every_reid_model_with_its_page() -> None:
    listed = {entry.name: entry for entry in known_weights()}
    for name in REID_PAGES:
        assert str(reid_page(name)) in listed[f"reid://{name}"].trained_on
