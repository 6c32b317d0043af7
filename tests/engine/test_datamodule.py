from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.engine.conftest import write_tiny_config
from vis4d.common.errors import ConfigError
from vis4d.config.load import load_config
from vis4d.engine.datamodule import Vis4DDataModule


@pytest.fixture()
def datamodule(tmp_path: Path) -> Vis4DDataModule:
    config = load_config(write_tiny_config(tmp_path, "qdtrack"))
    return Vis4DDataModule(config, tmp_path / "cache")


def test_training_batches_carry_reference_views(datamodule: Vis4DDataModule) -> None:
    batch = next(iter(datamodule.train_dataloader()))
    assert batch.images.shape[:2] == (2, 3) and len(batch.refs) == 1
    assert [r.video_name for r in batch.refs[0].meta] == [m.video_name for m in batch.meta]


def test_evaluation_keeps_every_video_whole_and_in_order(datamodule: Vis4DDataModule) -> None:
    (loader,) = datamodule.test_dataloader()
    seen = [(m.video_name, m.frame_index) for batch in loader for m in batch.meta]
    ((_, store),) = datamodule.test_stores()
    assert len(seen) == store.num_frames
    videos = [video for video, _ in seen]
    assert sorted(set(videos), key=videos.index) == list(dict.fromkeys(videos))  # contiguous
    for video in set(videos):
        indices = [index for v, index in seen if v == video]
        assert indices == sorted(indices)
    assert datamodule.dataset_names() == ["tiny_test"]


def test_input_dir_replaces_the_test_sets(tmp_path: Path) -> None:
    import cv2

    folder = tmp_path / "my_clip"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), np.full((32, 48, 3), 100 + i, np.uint8))
    config = load_config(write_tiny_config(tmp_path, "detector"))
    module = Vis4DDataModule(config, tmp_path / "cache", input_dir=str(folder))
    ((name, store),) = module.test_stores()
    assert name == "my_clip" and store.num_frames == 2 and store.num_boxes == 0


def test_training_without_a_train_set_is_a_config_error(tmp_path: Path) -> None:
    config = load_config(write_tiny_config(tmp_path, "detector"))
    module = Vis4DDataModule(config.model_copy(update={"train": []}), tmp_path / "cache")
    with pytest.raises(ConfigError, match="train: the config lists no training dataset"):
        module.train_store()
