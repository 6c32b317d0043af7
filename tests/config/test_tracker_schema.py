"""Tracker sections: one vocabulary, earlier names read with one warning line, every tracker where it fits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from vis4d.common.errors import ConfigError
from vis4d.config.load import load_config
from vis4d.config.schema import TRACKER_CONFIGS, ByteTrackModelConfig, QDTrackConfig

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*(ROOT / "configs" / "experiments").rglob("*.toml"), *(ROOT / "zoo").glob("*/config*.yaml")])
LOGGER = "vis4d.config.tracker_schema"


@pytest.mark.parametrize(
    ("tracker", "old", "new"),
    [(name, old, new) for name, cls in TRACKER_CONFIGS.items() for old, new in cls.RENAMED.items()],
)
def test_an_earlier_name_is_read_with_one_warning_naming_the_new_key(
    tracker: str, old: str, new: str, caplog: pytest.LogCaptureFixture
) -> None:
    cls = TRACKER_CONFIGS[tracker]
    value = "sparse_flow" if new == "cmc_method" else 7 if "buffer" in new else 0.35
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = cls.model_validate({"type": tracker, old: value})
    assert getattr(cfg, new) == value
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines == [f"tracker {tracker}: option '{old}' is now '{new}' (the old name still works)"]


def test_old_and_new_name_together_is_an_error() -> None:
    with pytest.raises(ValidationError, match="'track_thresh' is the earlier name of 'track_high_thresh'"):
        TRACKER_CONFIGS["bytetrack"].model_validate({"track_thresh": 0.5, "track_high_thresh": 0.6})


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_uses_the_current_names(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_config(path)
    assert not [r for r in caplog.records if r.name == LOGGER]


def test_an_old_config_file_still_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "old.toml"
    path.write_text(
        'categories = ["car"]\n[model]\ntype = "qdtrack"\n[model.tracker]\ntype = "qdtrack"\n'
        "init_score_thr = 0.7\nobj_score_thr = 0.4\nmemo_momentum = 0.2\n"
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = load_config(path, "model.tracker.match_score_thr=0.6")
    tracker = cfg.model.tracker  # type: ignore[union-attr]
    assert (tracker.new_track_thresh, tracker.track_high_thresh, tracker.embedding_momentum) == (0.7, 0.4, 0.2)
    assert tracker.match_score_thresh == 0.6
    assert len([r for r in caplog.records if r.name == LOGGER]) == 4


@pytest.mark.parametrize("name", sorted(TRACKER_CONFIGS))
def test_every_tracker_runs_in_qdtrack_and_the_motion_ones_over_any_detector(name: str) -> None:
    assert QDTrackConfig.model_validate({"tracker": {"type": name}}).tracker.type == name
    if name == "qdtrack":  # needs the learned embedding head
        with pytest.raises(ValidationError, match="bytetrack.*iou"):
            ByteTrackModelConfig.model_validate({"tracker": {"type": name}})
    else:
        assert ByteTrackModelConfig.model_validate({"tracker": {"type": name}}).tracker.type == name


def test_a_bad_tracker_value_names_the_option(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('categories = ["car"]\n[model]\ntype = "bytetrack"\n[model.tracker]\ntype = "botsort"\n')
    with pytest.raises(ConfigError, match="model.tracker.cmc_method"):
        load_config(path, "model.tracker.cmc_method=orb")
    with pytest.raises(ConfigError, match="model.tracker.track_low_thresh"):
        load_config(path, "model.tracker.track_low_thresh=0.9")
