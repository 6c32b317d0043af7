from __future__ import annotations

from pathlib import Path

import pytest

from vis4d.common.errors import ConfigError
from vis4d.model.weights.sources import resolve_source


def test_torchvision_names_resolve_to_the_official_urls_and_the_hub_cache(torch_home: Path) -> None:
    source = resolve_source("torchvision://resnet18")
    assert source.url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert source.path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert source.hash_prefix == "f37072fd"
    assert resolve_source("torchvision://resnet50").url.endswith("resnet50-11ad3fa6.pth")  # type: ignore[union-attr]
    v1 = resolve_source("torchvision://ResNet50_Weights.IMAGENET1K_V1")
    assert v1.url == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    detector = resolve_source("torchvision://fasterrcnn_resnet50_fpn")
    assert detector.path.name == "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"


def test_model_zoo_prefixes(torch_home: Path) -> None:
    mmdet = resolve_source("mmdet://faster_rcnn/faster_rcnn_r50_fpn_1x_coco/x_20200130-047c8118.pth")
    assert mmdet.url == (
        "https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/"
        "x_20200130-047c8118.pth"
    )
    assert mmdet.hash_prefix == "047c8118"
    bdd = resolve_source("bdd100k://track/models/qdtrack.pth")
    assert bdd.url == "https://dl.cv.ethz.ch/bdd100k/track/models/qdtrack.pth"
    url = resolve_source("https://example.org/weights/model.pt")
    assert url.path == torch_home / "hub" / "checkpoints" / "model.pt" and url.hash_prefix is None


def test_local_paths_stay_local(tmp_path: Path) -> None:
    source = resolve_source(str(tmp_path / "w.pt"))
    assert source.url is None and source.path == tmp_path / "w.pt"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("torchvision://resnet5", "unknown torchvision weights 'resnet5'"),
        ("s3://bucket/w.pt", "unknown weights scheme 's3'"),
        ("https://example.org/", "names no file"),
    ],
)
def test_bad_names_are_one_line_errors_naming_the_option(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        resolve_source(name, "model.weights")
    assert str(info.value).startswith("model.weights: ") and "\n" not in str(info.value)


def test_the_hash_is_the_last_hex_run_before_the_extension() -> None:
    """mmdetection names hold '-0.384' before the real hash; torch.hub's first-match rule would read '0'."""
    name = "mmdet://faster_rcnn/x/faster_rcnn_r50_fpn_2x_coco_bbox_mAP-0.384_20200504_210434-a5d8aa15.pth"
    assert resolve_source(name).hash_prefix == "a5d8aa15"
    assert resolve_source("https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_bdd100k_456b1e.pt").hash_prefix is None


@pytest.mark.parametrize("env", [{"TORCH_HOME": "/a/torch"}, {"XDG_CACHE_HOME": "/b/cache"}, {}])
def test_the_cache_folder_is_torch_hubs_without_importing_torch(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line finds the cache without importing torch; it must be the folder torch.hub uses."""
    import os
    import subprocess
    import sys

    import torch.hub

    base = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    for key in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    script = "import sys; from vis4d.model.weights.sources import hub_checkpoint_dir; print(hub_checkpoint_dir());"
    script += "assert 'torch' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", script], env={**base, **env}, capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == os.path.join(torch.hub.get_dir(), "checkpoints")
