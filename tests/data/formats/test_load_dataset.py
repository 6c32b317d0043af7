from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from tests.data.datasets.loader_helpers import BDD_CONFIG, BDD_LABELS, COCO_INSTANCES, frame, label, write_json
from vis4d.common.errors import DataError
from vis4d.config.schema import DatasetConfig
from vis4d.data import cache as cache_module
from vis4d.data.formats import load_dataset
from vis4d.data.store import AnnotationStore

ADAPTER: TypeAdapter[Any] = TypeAdapter(DatasetConfig)
BDD_CATEGORIES = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]


def _cfg(**fields: Any) -> Any:
    return ADAPTER.validate_python(fields)


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wrap cached_load's build callable to count how often a dataset is really parsed."""
    calls: list[int] = []
    original = cache_module.cached_load

    def counting(key_parts: Any, sources: Any, build: Any, cache_dir: Any = None) -> AnnotationStore:
        def counted() -> AnnotationStore:
            calls.append(1)
            return build()

        return original(key_parts, sources, counted, cache_dir)

    monkeypatch.setattr("vis4d.data.formats.cached_load", counting)
    return calls


def test_bdd100k_type_uses_default_mapping_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _count_builds(monkeypatch)
    cfg = _cfg(type="bdd100k", name="bdd", annotations=str(BDD_LABELS), image_root=str(BDD_LABELS.parent / "images"))
    first = load_dataset(cfg, BDD_CATEGORIES, cache_dir=tmp_path)
    second = load_dataset(cfg, BDD_CATEGORIES, cache_dir=tmp_path)
    assert builds == [1]  # the second load came from the cache
    assert first.num_boxes == second.num_boxes == 254
    np.testing.assert_array_equal(first.boxes, second.boxes)
    np.testing.assert_array_equal(first.image_paths, second.image_paths)
    assert Path(second.image_paths[0]).is_absolute()
    # Other categories or options are a different cache entry.
    load_dataset(cfg, [*BDD_CATEGORIES, "extra"], cache_dir=tmp_path)
    cfg_skip = _cfg(**{**cfg.model_dump(), "skip_empty_frames": True})
    load_dataset(cfg_skip, BDD_CATEGORIES, cache_dir=tmp_path)
    assert builds == [1, 1, 1]
    # cache = false never touches the cache.
    load_dataset(_cfg(**{**cfg.model_dump(), "cache": False}), BDD_CATEGORIES, cache_dir=tmp_path / "off")
    assert not (tmp_path / "off").exists()


def test_scalabel_type_with_label_config_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, [label("1", "van", (0, 0, 1, 1))])])
    plain = _cfg(type="scalabel", name="s", annotations=str(path), image_root=str(tmp_path), cache=False)
    with pytest.raises(DataError, match="'van'"):
        load_dataset(plain, ["car"])
    with_config = _cfg(**{**plain.model_dump(), "label_config": str(BDD_CONFIG)})
    store = load_dataset(with_config, ["car"])
    assert store.categories == ("car",) and store.num_boxes == 1
    with_mapping = _cfg(**{**plain.model_dump(), "name_mapping": {"van": "car"}})
    assert load_dataset(with_mapping, ["car"]).num_boxes == 1


def test_coco_type_drops_unknown(tmp_path: Path) -> None:
    cfg = _cfg(
        type="coco", name="c", annotations=str(COCO_INSTANCES), image_root=str(tmp_path), unknown_categories="drop"
    )
    store = load_dataset(cfg, ["person", "bowl"], cache_dir=tmp_path / "cache")
    assert store.num_frames == 2 and store.num_boxes == 6  # 2 persons + 4 bowls of 33
    assert sorted(store.class_ids.tolist()) == [0, 0, 1, 1, 1, 1]


def test_motchallenge_type(tmp_path: Path) -> None:
    seq = tmp_path / "mot" / "S"
    (seq / "gt").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=S\nimDir=img1\nseqLength=2\nimExt=.jpg\n")
    (seq / "gt" / "gt.txt").write_text("1,1,0,0,5,5,1,1,1\n2,1,1,1,5,5,1,1,1\n")
    cfg = _cfg(type="motchallenge", name="m", root=str(tmp_path / "mot"))
    store = load_dataset(cfg, ["pedestrian"], cache_dir=tmp_path / "cache")
    assert store.num_frames == 2 and store.track_ids.tolist() == [1, 1]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    # Editing the gt (size changes) invalidates the cache.
    (seq / "gt" / "gt.txt").write_text("1,1,0,0,5,5,1,1,1\n")
    assert load_dataset(cfg, ["pedestrian"], cache_dir=tmp_path / "cache").num_boxes == 1


def test_synthetic_and_image_folder_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = write_json(tmp_path / "syn" / "labels.json", [frame("a.jpg", "v", 0, [label("7", "car", (0, 0, 3, 3))])])
    seen: dict[str, Any] = {}

    def ensure_synthetic(cfg: Any) -> tuple[Path, Path]:
        seen["synthetic"] = cfg
        return labels, tmp_path / "syn" / "images"

    def load_image_folder(cfg: Any, categories: Any) -> str:
        seen["folder"] = (cfg, list(categories))
        return "folder-store"

    monkeypatch.setitem(
        sys.modules, "vis4d.data.datasets.synthetic", types.SimpleNamespace(ensure_synthetic=ensure_synthetic)
    )
    monkeypatch.setitem(
        sys.modules, "vis4d.data.datasets.image_folder", types.SimpleNamespace(load_image_folder=load_image_folder)
    )
    store = load_dataset(_cfg(type="synthetic", name="syn", root=str(tmp_path / "syn")), ["car"], cache_dir=tmp_path)
    assert seen["synthetic"].root == str(tmp_path / "syn")
    assert store.num_boxes == 1 and store.image_paths[0] == str((tmp_path / "syn" / "images" / "v" / "a.jpg").resolve())
    folder_cfg = _cfg(type="image_folder", root=str(tmp_path))
    assert load_dataset(folder_cfg, ["car"]) == "folder-store"
    assert seen["folder"] == (folder_cfg, ["car"])
