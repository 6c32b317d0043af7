from __future__ import annotations

from typing import Any

import pytest

from vis4d.common.errors import ConfigError
from vis4d.config.overrides import apply_overrides, close_keys, dotted_paths, parse_cfg_options, parse_value
from vis4d.config.schema import Config


def raw_qdtrack() -> dict[str, Any]:
    return {
        "categories": ["car"],
        "model": {"type": "qdtrack"},
        "train": [{"type": "coco", "name": "a", "annotations": "a.json", "image_root": "img"}],
        "train_handler": {"transforms": [{"type": "resize", "shape": [10, 20]}]},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("-3", -3),
        ("0.01", 0.01),
        ("1e-4", 1e-4),
        ("-2.5E3", -2500.0),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("none", None),
        ("Null", None),
        ("name", "name"),
        ("'quoted, with comma'", "quoted, with comma"),
        ('"12"', "12"),
        ("inf", "inf"),
        ("[1,2]", [1, 2]),
        ("[]", []),
        ("(1, 2.5)", [1, 2.5]),
        ("[[720,1280],[640,1280]]", [[720, 1280], [640, 1280]]),
        ("[a, 'b,c', true, none]", ["a", "b,c", True, None]),
    ],
)
def test_parse_value_types(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_parse_cfg_options_splits_only_top_level_commas() -> None:
    pairs = parse_cfg_options("a.b=1,c.d=0.01,e=[1,2],f=true,g=none,h=name,s=[[1,2],[3,4]],q='x,y',t=(1,2)")
    assert pairs == [
        ("a.b", 1),
        ("c.d", 0.01),
        ("e", [1, 2]),
        ("f", True),
        ("g", None),
        ("h", "name"),
        ("s", [[1, 2], [3, 4]]),
        ("q", "x,y"),
        ("t", [1, 2]),
    ]


def test_parse_cfg_options_value_may_contain_equals_and_spaces() -> None:
    assert parse_cfg_options(" a = x=y , b = 2 ,") == [("a", "x=y"), ("b", 2)]
    assert parse_cfg_options("") == []


def test_an_empty_value_is_the_empty_string() -> None:
    """``model.weights=`` turns weights off: the value is '' (the schema then reads it as no weights)."""
    assert parse_cfg_options("model.weights=,b=1") == [("model.weights", ""), ("b", 1)]
    assert parse_cfg_options("a=''") == [("a", "")]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a.b", "expected key=value, got 'a.b'"),
        ("=1", "expected key=value"),
        ("a..b=1", "invalid key 'a..b'"),
        ("a=[1,,2]", "missing value in 'a=[1,,2]'"),
        ("a=[1,2", "missing ']'"),
        ("a=1]", "unbalanced ']'"),
        ("a=[1,2)", "unbalanced ')'"),
        ("a='x", "unclosed quote"),
    ],
)
def test_parse_cfg_options_errors(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="--cfg-options") as info:
        parse_cfg_options(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_apply_overrides_sets_nested_keys_and_creates_sections() -> None:
    raw = raw_qdtrack()
    result = apply_overrides(
        raw, parse_cfg_options("model.lr_scheduler.warmup_steps=1000,model.optimizer.lr=0.01,trainer.max_epochs=3")
    )
    assert result["model"]["lr_scheduler"] == {"warmup_steps": 1000}
    assert result["model"]["optimizer"] == {"lr": 0.01}
    assert result["trainer"] == {"max_epochs": 3}
    assert "lr_scheduler" not in raw["model"], "the input must not be modified"
    config = Config.model_validate(result)
    assert config.model.optimizer.lr == 0.01
    assert config.model.lr_scheduler.warmup_steps == 1000


def test_apply_overrides_list_items_by_index() -> None:
    result = apply_overrides(
        raw_qdtrack(), [("train.0.name", "x"), ("train_handler.transforms.0.shape", [5, 6]), ("categories.0", "bus")]
    )
    assert result["train"][0]["name"] == "x"
    assert result["train_handler"]["transforms"][0]["shape"] == [5, 6]
    assert result["categories"] == ["bus"]


def test_apply_overrides_index_out_of_range() -> None:
    with pytest.raises(ConfigError, match=r"'train\.3': index out of range; 'train' has 1 item"):
        apply_overrides(raw_qdtrack(), [("train.3.name", "x")])
    with pytest.raises(ConfigError, match="'test' is not set in the config"):
        apply_overrides(raw_qdtrack(), [("test.0.name", "x")])


def test_apply_overrides_follows_the_chosen_type_variant() -> None:
    raw = raw_qdtrack()
    # The default tracker is qdtrack: 'matching' belongs to the iou tracker only.
    expected = "unknown key 'model.tracker.matching'; did you mean 'model.tracker.match_metric'"
    with pytest.raises(ConfigError, match=expected):
        apply_overrides(raw, [("model.tracker.matching", "greedy")])
    result = apply_overrides(raw, [("model.tracker.type", "iou"), ("model.tracker.matching", "greedy")])
    assert Config.model_validate(result).model.tracker.matching == "greedy"  # type: ignore[union-attr]
    # A detector model has no tracker at all: the error says which model type runs one over its detections.
    raw["model"]["type"] = "detector"
    raw["model"].pop("tracker", None)
    expected = r"model.tracker.type: a detector \(model.type = 'detector'\) has no tracker; model.type = 'bytetrack'"
    with pytest.raises(ConfigError, match=expected):
        apply_overrides(raw, [("model.tracker.type", "iou")])
    # ... and that switch keeps the detector, its weights and the optimizer (what every model type shares).
    detector = {"type": "faster_rcnn", "backbone": {"type": "resnet18"}}
    raw["model"].update(weights="detector.pt", detector=detector, similarity_head={"fc_dim": 8})
    switched = apply_overrides(raw, [("model.type", "bytetrack"), ("model.tracker.type", "ocsort")])
    assert switched["model"]["detector"] == raw["model"]["detector"] and switched["model"]["weights"] == "detector.pt"
    assert "similarity_head" not in switched["model"]  # QDTrack's, not ByteTrack's
    assert Config.model_validate(switched).model.tracker.type == "ocsort"  # type: ignore[union-attr]


def test_apply_overrides_new_union_section_keeps_default_type() -> None:
    result = apply_overrides(raw_qdtrack(), [("model.tracker.match_score_thresh", 0.6)])
    assert result["model"]["tracker"] == {"type": "qdtrack", "match_score_thresh": 0.6}
    assert Config.model_validate(result).model.tracker.match_score_thresh == 0.6  # type: ignore[union-attr]


def test_an_earlier_tracker_option_name_is_accepted_on_the_command_line() -> None:
    """``--cfg-options model.tracker.match_score_thr=0.6`` still works: validation reads it as the current name."""
    result = apply_overrides(raw_qdtrack(), [("model.tracker.match_score_thr", 0.6)])
    assert Config.model_validate(result).model.tracker.match_score_thresh == 0.6  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("model.optimiser.lr", "--cfg-options: unknown key 'model.optimiser.lr'; did you mean 'model.optimizer.lr'?"),
        ("modle.optimizer.lr", "--cfg-options: unknown key 'modle.optimizer.lr'; did you mean 'model.optimizer.lr'?"),
        ("launch.work_dri", "--cfg-options: unknown key 'launch.work_dri'; did you mean 'launch.work_dir'?"),
        ("train.0.nmae", "--cfg-options: unknown key 'train.0.nmae'; did you mean 'train.0.name'?"),
        ("zzz", "--cfg-options: unknown key 'zzz'"),
    ],
)
def test_apply_overrides_unknown_key_suggests_close_keys(key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(raw_qdtrack(), [(key, 1)])
    assert str(info.value) == message


def test_apply_overrides_rejects_keys_below_values_and_base() -> None:
    with pytest.raises(ConfigError, match="'model.optimizer.lr' is a value, not a section"):
        apply_overrides(raw_qdtrack(), [("model.optimizer.lr.x", 1)])
    with pytest.raises(ConfigError, match="'trainer.max_epochs' is a value, not a section"):
        apply_overrides({**raw_qdtrack(), "trainer": {"max_epochs": 3}}, [("trainer.max_epochs.x", 1)])
    with pytest.raises(ConfigError, match="'base' cannot be overridden"):
        apply_overrides(raw_qdtrack(), [("base", ["x.toml"])])


def test_dotted_paths_depend_on_the_raw_variant() -> None:
    raw = raw_qdtrack()
    paths = dotted_paths(Config, raw)
    assert "model.similarity_head.embedding_dim" in paths
    assert "train.0.annotations" in paths
    assert "train_handler.transforms.0.shape" in paths
    assert "model.tracker.embedding_momentum" in paths
    assert "model.tracker.matching" not in paths
    raw["model"]["type"] = "detector"
    assert not any(path.startswith("model.tracker") for path in dotted_paths(Config, raw))


def test_close_keys_prefers_the_one_clear_match() -> None:
    candidates = ["trainer.max_epochs", "trainer.min_epochs", "trainer.max_steps", "a.b.c"]
    assert close_keys("trainer.max_epoch", candidates) == ["trainer.max_epochs"]
    assert close_keys("nothing.like.it.at.all", candidates) == []


def test_switching_type_drops_the_old_types_fields() -> None:
    raw = {"model": {"type": "qdtrack", "tracker": {"type": "qdtrack", "new_track_thresh": 0.9}}}
    out = apply_overrides(raw, parse_cfg_options("model.tracker.type=iou,model.tracker.matching=greedy"))
    assert out["model"]["tracker"] == {"type": "iou", "matching": "greedy"}
    same = apply_overrides(raw, parse_cfg_options("model.tracker.type=qdtrack"))
    assert same["model"]["tracker"]["new_track_thresh"] == 0.9
