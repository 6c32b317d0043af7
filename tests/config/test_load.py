from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vis4d.common.errors import ConfigError, Vis4DError
from vis4d.config import dump_config, load_config, load_raw_config, validate_config, validate_trainer_options
from vis4d.config.schema import Config, LaunchConfig, QDTrackConfig

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "experiments"

TOML = """
categories = ["car", "pedestrian"]

[model]
type = "qdtrack"
name = "tiny"

[model.optimizer]
lr = 0.005

[model.tracker]
type = "iou"
matching = "greedy"

[[train]]
type = "coco"
name = "coco_train"
annotations = "ann.json"
image_root = "images/"

[train_handler]
batch_size = 4
transforms = [{ type = "resize", shape = [96, 160] }, { type = "flip", prob = 0.25 }]

[trainer]
max_epochs = 2
"""

YAML = """
categories: [car, pedestrian]
model:
  type: qdtrack
  name: tiny
  optimizer: {lr: 0.005}
  tracker: {type: iou, matching: greedy}
train:
  - type: coco
    name: coco_train
    annotations: ann.json
    image_root: images/
train_handler:
  batch_size: 4
  transforms:
    - {type: resize, shape: [96, 160]}
    - {type: flip, prob: 0.25}
trainer:
  max_epochs: 2
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def message(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(exc.value)
    assert "\n" not in text, "config errors are one line"
    return text


def test_toml_and_yaml_give_the_same_config(tmp_path: Path) -> None:
    from_toml = load_config(write(tmp_path / "c.toml", TOML))
    from_yaml = load_config(write(tmp_path / "c.yaml", YAML))
    from_yml = load_config(write(tmp_path / "c.yml", YAML))
    assert from_toml == from_yaml == from_yml
    assert isinstance(from_toml.model, QDTrackConfig)
    assert from_toml.model.tracker.type == "iou"
    assert from_toml.model.optimizer.lr == 0.005
    assert from_toml.train_handler.transforms[0].shape == (96, 160)  # type: ignore[union-attr]
    assert from_toml.trainer == {"max_epochs": 2}


def test_nested_bases_merge_in_order_with_relative_paths(tmp_path: Path) -> None:
    model_text = '[model]\ntype = "detector"\n[model.optimizer]\nlr = 0.1\nmomentum = 0.5\n'
    write(tmp_path / "_base_/models/model.toml", model_text)
    write(
        tmp_path / "_base_/data.yaml",
        "categories: [car]\ntrain_handler:\n  batch_size: 8\n  transforms: [{type: flip}]\n",
    )
    # An intermediate base that itself has a base (relative to its own folder).
    write(
        tmp_path / "_base_/default.toml",
        'base = ["models/model.toml", "data.yaml"]\ncategories = ["bus"]\n[model.optimizer]\nlr = 0.2\n',
    )
    write(
        tmp_path / "exp/deep/exp.toml",
        'base = "../../_base_/default.toml"\n[model]\ntype = "qdtrack"\n[train_handler]\ntransforms = []\n',
    )
    raw = load_raw_config(tmp_path / "exp/deep/exp.toml")
    assert "base" not in raw
    config = load_config(tmp_path / "exp/deep/exp.toml")
    assert config.model.type == "qdtrack"  # the including file wins over its bases
    assert config.model.optimizer.lr == 0.2  # a later file wins over an earlier one ...
    assert config.model.optimizer.momentum == 0.5  # ... but tables merge key by key
    assert config.categories == ["bus"]
    assert config.train_handler.batch_size == 8
    assert config.train_handler.transforms == []  # lists replace, they do not append
    assert config.base == []


def test_later_base_overrides_earlier_base(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'categories = ["a"]\n[launch]\nseed = 1\nwork_dir = "A"\n')
    write(tmp_path / "b.toml", 'categories = ["b"]\n[launch]\nseed = 2\n')
    write(tmp_path / "c.toml", 'base = ["a.toml", "b.toml"]\n[model]\ntype = "detector"\n')
    config = load_config(tmp_path / "c.toml")
    assert (config.categories, config.launch.seed, config.launch.work_dir) == (["b"], 2, "A")


def test_overrides_apply_after_bases_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML)
    config = load_config(path, "model.optimizer.lr=0.1,trainer.max_epochs=5")
    assert config.model.optimizer.lr == 0.1
    assert config.trainer == {"max_epochs": 5}
    # A list of option texts is applied in order: the last one wins.
    config = load_config(path, ["model.optimizer.lr=0.1", "model.optimizer.lr=0.3,launch.seed=7"])
    assert (config.model.optimizer.lr, config.launch.seed) == (0.3, 7)


def test_spec_example_overrides_every_repository_experiment() -> None:
    experiments = sorted(REPO_CONFIGS.rglob("*.toml"))
    assert experiments, "the repository ships experiment configs"
    for path in experiments:
        config = load_config(path, "model.lr_scheduler.warmup_steps=1000,model.optimizer.lr=0.01")
        assert config.model.lr_scheduler.warmup_steps == 1000
        assert config.model.optimizer.lr == 0.01


def test_base_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'base = ["sub/b.toml"]\ncategories = ["a"]\n')
    write(tmp_path / "sub/b.toml", 'base = ["../a.toml"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "a.toml")
    assert "cycle" in message(info)
    assert "a.toml" in message(info) and "b.toml" in message(info)


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'base = "a.toml"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_raw_config(tmp_path / "a.toml")


def test_missing_file_and_missing_base(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert message(info) == f"config file not found: {tmp_path / 'nope.toml'}"
    write(tmp_path / "c.toml", 'base = ["gone.yaml"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.toml")
    assert message(info) == f"config file not found: {tmp_path / 'gone.yaml'} (base of {tmp_path / 'c.toml'})"


def test_bad_base_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="base: expected a file path or a list of file paths"):
        load_config(write(tmp_path / "c.toml", "base = 3\n"))


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported config format '.json'"):
        load_config(write(tmp_path / "c.json", "{}"))


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'categories = ["car"]\n[model]\ntype = \n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info).startswith(f"{path}: invalid TOML:")
    assert "line 3" in message(info)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "categories: [car]\nmodel:\n  type: qdtrack\n  optimizer: {lr: [1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info).startswith(f"{path}: invalid YAML:")
    assert "line 5" in message(info)


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping of sections at the top level, got list"):
        load_config(write(tmp_path / "c.yaml", "- a\n- b\n"))


def test_wrong_type_names_field_path(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML)
    with pytest.raises(ConfigError) as info:
        load_config(path, "model.optimizer.lr=abc")
    assert message(info) == f"{path}: model.optimizer.lr: expected a number, got 'abc'"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.optimizer.momentum=[1]", "model.optimizer.momentum: expected a number, got [1]"),
        ("train_handler.batch_size=1.5", "train_handler.batch_size: expected an integer, got 1.5"),
        ("train_handler.shuffle=maybe", "train_handler.shuffle: expected true or false, got 'maybe'"),
        ("launch.version=12", "launch.version: expected a string, got 12 (quote it to make it a string)"),
        ("model.optimizer.type=sgdd", "model.optimizer.type: expected 'sgd', 'adam' or 'adamw', got 'sgdd'"),
        ("model.optimizer.lr=-1", "model.optimizer.lr: input should be greater than 0, got -1"),
        ("train.0.image_root=none", "train.0.image_root: expected a string, got none"),
        ("train_handler.transforms.0.shape=[1,2,3]", "train_handler.transforms.0.shape: tuple should have at most 2"),
        ("train_handler.mean=[1,2]", "train_handler.mean: too few items, got [1, 2]"),
        ("categories=[car,car]", "categories must be unique"),
    ],
)
def test_validation_errors_are_one_line_with_path(tmp_path: Path, override: str, expected: str) -> None:
    path = write(tmp_path / "c.toml", TOML)
    with pytest.raises(ConfigError) as info:
        load_config(path, override)
    assert message(info).startswith(f"{path}: {expected}")


def test_several_errors_are_joined(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML)
    with pytest.raises(ConfigError) as info:
        load_config(path, "model.optimizer.lr=abc,launch.seed=x")
    assert message(info) == (
        f"{path}: model.optimizer.lr: expected a number, got 'abc'; launch.seed: expected an integer, got 'x'"
    )


def test_unknown_key_in_file_suggests_close_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'categories = ["car"]\n[model]\ntype = "qdtrack"\n[model.optimiser]\nlr = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info) == f"{path}: unknown key 'model.optimiser'; did you mean 'model.optimizer'?"


def test_unknown_key_in_chosen_union_variant(tmp_path: Path) -> None:
    text = TOML.replace('matching = "greedy"', 'matching = "greedy"\ntrack_bufer = 3')
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    expected = "unknown key 'model.tracker.track_bufer'; did you mean 'model.tracker.track_buffer'?"
    assert message(info) == f"{path}: {expected}"


def test_unknown_model_type(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'categories = ["car"]\n[model]\ntype = "fooo"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (
        message(info) == f"{path}: model.type: unknown type 'fooo'; expected one of 'detector', 'qdtrack', 'bytetrack'"
    )


def test_unknown_dataset_type(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML.replace('type = "coco"', 'type = "cocoo"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info).startswith(f"{path}: train.0.type: unknown type 'cocoo'; expected one of 'scalabel', ")


def test_missing_type_and_missing_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'categories = ["car"]\n[model]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info) == f"{path}: model.type: missing; expected one of 'detector', 'qdtrack', 'bytetrack'"
    path = write(tmp_path / "d.toml", '[model]\ntype = "qdtrack"\n[[test]]\ntype = "motchallenge"\nname = "m"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info) == f"{path}: categories: missing required field; test.0.root: missing required field"


def test_trainer_options_are_checked_against_lightning(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML.replace("max_epochs = 2", "max_epoch = 2"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message(info).startswith(f"{path}: unknown key 'trainer.max_epoch'; did you mean 'trainer.max_epochs'?")
    with pytest.raises(ConfigError, match="unknown key 'trainer.gpus'"):
        validate_trainer_options({"max_epochs": 1, "gpus": 2}, "cli")
    validate_trainer_options({"max_epochs": 1, "gradient_clip_val": 35.0, "accelerator": "cpu", "devices": 1}, "x")
    validate_trainer_options({}, "x")


def test_validate_config_names_source() -> None:
    with pytest.raises(ConfigError, match=r"^my source: categories must list at least one category$"):
        validate_config({"categories": [], "model": {"type": "detector"}}, "my source")
    config = validate_config({"categories": ["car"], "model": {"type": "detector"}}, "x")
    assert config.model_name == "FasterRCNN"


def test_config_errors_are_vis4d_errors(tmp_path: Path) -> None:
    with pytest.raises(Vis4DError):
        load_config(tmp_path / "nope.yaml")


def test_dump_round_trip(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "c.toml", TOML), "launch.seed=3,model.track_loss.aux_neg_margin=1e-10")
    out = tmp_path / "run" / "config.yaml"
    dump_config(config, out)
    assert yaml.safe_load(out.read_text())["model"]["tracker"]["type"] == "iou"
    reloaded = load_config(out)
    assert reloaded == config
    assert reloaded.model.track_loss.aux_neg_margin == 1e-10  # type: ignore[union-attr]
    assert list(out.parent.iterdir()) == [out], "no temporary files left behind"


def test_dump_round_trip_of_repository_experiments(tmp_path: Path) -> None:
    for index, path in enumerate(sorted(REPO_CONFIGS.rglob("*.toml"))):
        config = load_config(path)
        dump_config(config, tmp_path / f"{index}.yaml")
        assert load_config(tmp_path / f"{index}.yaml") == config


def test_dump_leaves_previous_file_when_it_fails(tmp_path: Path) -> None:
    out = write(tmp_path / "config.yaml", "previous: true\n")
    config = Config.model_validate({"categories": ["car"], "model": {"type": "detector"}})
    config.trainer["callback"] = object()  # not representable in YAML
    with pytest.raises(yaml.YAMLError):
        dump_config(config, out)
    assert out.read_text() == "previous: true\n"


@pytest.mark.parametrize("off", ["", "none", "None", " NULL "])
def test_empty_and_none_mean_no_weights_in_every_weights_field(tmp_path: Path, off: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'categories = ["car"]\n[model]\ntype = "detector"\nweights = "torchvision://fasterrcnn_resnet50_fpn"\n'
        '[model.detector]\ntype = "faster_rcnn"\n[model.detector.backbone]\nweights = "torchvision://resnet50"\n'
    )
    config = load_config(path, f"model.weights='{off}',model.detector.backbone.weights='{off}'")
    assert config.model.weights is None and config.model.detector.backbone.weights is None
    # --weights none asks for no weights at all, unlike not asking (None: the run's best, else model.weights).
    assert LaunchConfig(weights=off).weights == "none" and LaunchConfig().weights is None
    unset = load_config(path, "model.weights=,model.detector.backbone.weights=")  # --cfg-options' bare empty value
    assert unset.model.weights is None and unset.model.detector.backbone.weights is None
    assert unset.launch.weights is None
