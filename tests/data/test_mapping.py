from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.data.datasets.loader_helpers import BDD_CONFIG, frame, label, write_json
from vis4d.common.errors import ConfigError, DataError
from vis4d.data.datasets import bdd100k_track_label_config, load_scalabel
from vis4d.data.mapping import CategoryMapper, LabelConfig, load_label_config, unique_strings


def test_bdd_label_config_file() -> None:
    config = load_label_config(BDD_CONFIG)
    assert config.categories == ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
    assert config.super_categories == {
        "human": ["pedestrian", "rider"],
        "vehicle": ["car", "truck", "bus", "train"],
        "bike": ["motorcycle", "bicycle"],
    }
    assert config.name_mapping["person"] == "pedestrian" and config.name_mapping["van"] == "car"
    assert config.ignored_mapping == {"other person": "pedestrian", "other vehicle": "car", "trailer": "truck"}
    assert config.remove_ignored is False and config.ignored_as_class is False
    assert config.image_size == (720, 1280)
    # The built-in default is BDD100K's tracking config, i.e. the same as the file.
    assert bdd100k_track_label_config() == config


def test_json_and_yaml_label_configs(tmp_path: Path) -> None:
    raw = {
        "categories": [{"name": "vehicle", "subcategories": [{"name": "car"}, {"name": "bus"}]}, {"name": "person"}],
        "name_mapping": {"van": "car"},
        "remove_ignored": True,
    }
    json_config = load_label_config(write_json(tmp_path / "c.json", raw))
    (tmp_path / "c.yaml").write_text(
        "categories:\n  - name: vehicle\n    subcategories: [{name: car}, {name: bus}]\n"
        "  - person\nname_mapping: {van: car}\nremove_ignored: true\n"
    )
    yaml_config = load_label_config(tmp_path / "c.yaml")
    assert json_config == yaml_config
    assert json_config.categories == ["car", "bus", "person"]
    assert json_config.super_categories == {"vehicle": ["car", "bus"]}
    assert json_config.remove_ignored


def test_label_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="label config not found"):
        load_label_config(tmp_path / "nope.toml")
    (tmp_path / "bad.json").write_text('{"categories": [')
    with pytest.raises(ConfigError, match=r"bad\.json:1:\d+: malformed JSON"):
        load_label_config(tmp_path / "bad.json")
    (tmp_path / "bad.toml").write_text("categories = [\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: malformed TOML"):
        load_label_config(tmp_path / "bad.toml")
    write_json(tmp_path / "nocat.json", {"name_mapping": {}})
    with pytest.raises(ConfigError, match="no 'categories'"):
        load_label_config(tmp_path / "nocat.json")
    write_json(tmp_path / "flag.json", {"categories": ["a"], "remove_ignored": "yes"})
    with pytest.raises(ConfigError, match="remove_ignored: expected true or false"):
        load_label_config(tmp_path / "flag.json")
    write_json(tmp_path / "dup.json", {"categories": ["a", {"name": "b", "subcategories": ["a"]}]})
    with pytest.raises(ConfigError, match="leaf names must be unique"):
        load_label_config(tmp_path / "dup.json")


def test_resolve_rules() -> None:
    mapper = CategoryMapper(["car", "pedestrian"], {"van": "car", "bike": "bicycle"}, {"trailer": "car"})
    assert mapper.resolve("car") == ("car", False, True)
    assert mapper.resolve("van") == ("car", False, True)
    assert mapper.resolve("trailer") == ("car", True, True)
    assert mapper.resolve("bike") == (None, False, False)  # mapped to a name the config does not have
    assert mapper.resolve("boat") == (None, False, False)
    discover = CategoryMapper(None, {"van": "car"}, {"trailer": "truck"})
    assert discover.resolve("van") == ("car", False, True)
    assert discover.resolve("boat") == ("boat", False, True)
    targets = np.array(["truck", "car", "boat", "car"])
    categories, ids = discover.class_ids(targets)
    assert categories == ("boat", "car", "truck") and ids.tolist() == [2, 1, 0, 1]


def test_remove_ignored_and_ignored_as_class(tmp_path: Path) -> None:
    labels = [label("1", "car", (0, 0, 1, 1)), label("2", "trailer", (0, 0, 2, 2))]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, labels)])
    ignored = {"trailer": "car"}
    removed = load_scalabel(
        path, ["car"], label_config=LabelConfig(["car"], ignored_mapping=ignored, remove_ignored=True)
    )
    assert removed.num_boxes == 1 and not removed.ignore.any()
    as_class = load_scalabel(
        path, ["car", "ignored"], label_config=LabelConfig(["car"], ignored_mapping=ignored, ignored_as_class=True)
    )
    assert [as_class.categories[c] for c in as_class.class_ids] == ["car", "ignored"]
    assert not as_class.ignore.any()
    with pytest.raises(ConfigError, match="'ignored'"):
        load_scalabel(path, ["car"], label_config=LabelConfig(["car"], ignored_mapping=ignored, ignored_as_class=True))


def test_unknown_error_names_every_unknown(tmp_path: Path) -> None:
    labels = [label(str(i), n, (0, 0, 1, 1)) for i, n in enumerate(["x", "y", "y", "car"])]
    path = write_json(tmp_path / "l.json", [frame("f.jpg", "v", 0, labels)])
    with pytest.raises(DataError) as info:
        load_scalabel(path, ["car"])
    assert "'x' (1 box), 'y' (2 boxes)" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("distinct", [1, 5, 80])
def test_unique_strings_is_numpys_unique(distinct: int) -> None:
    """Few distinct names are peeled off one by one, many go to np.unique: the same uniques and inverse."""
    rng = np.random.default_rng(distinct)
    names = np.array([f"name{i}" for i in range(distinct)] + ["", "b\\u00e9", "zz"])
    values = names[rng.integers(0, len(names), 5000)]
    uniques, inverse = unique_strings(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    assert np.array_equal(uniques, expected) and np.array_equal(inverse, expected_inverse)
    empty, no_rows = unique_strings(values[:0])
    assert len(empty) == len(no_rows) == 0
