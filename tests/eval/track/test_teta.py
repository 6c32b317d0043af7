"""TETA equals SysCV's ``teta`` package (fixtures made by ``tests/eval/fixtures/teta/make_fixtures.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.eval.reference import BDD_CLASSES, random_tracking
from tests.eval.track.cases import A, B, C, video_stores
from vis4d.data.formats import get_format
from vis4d.data.pairs import load_gt_and_predictions, load_label_options, resolve_format
from vis4d.data.store import AnnotationStore
from vis4d.eval.conventions import format_conventions
from vis4d.eval.track import evaluate_tracking
from vis4d.eval.track import teta as teta_module

FIXTURES = Path(__file__).parents[1] / "fixtures" / "teta"
FIELDS = {"TETA": "TETA", "LocA": "TETA_LocA", "AssocA": "TETA_AssocA", "ClsA": "TETA_ClsA", "LocRe": "TETA_LocRe",
          "LocPr": "TETA_LocPr", "AssocRe": "TETA_AssocRe", "AssocPr": "TETA_AssocPr", "ClsRe": "TETA_ClsRe",
          "ClsPr": "TETA_ClsPr"}  # fmt: skip


def assert_equal_reference(ours: dict[str, Any], ref: dict[str, float], where: str) -> None:
    for ref_key, key in FIELDS.items():
        assert ours[key] == pytest.approx(ref[ref_key], abs=1e-6), f"{where} {ref_key}"


def bdd100k_case(folder: Path) -> tuple[AnnotationStore, AnnotationStore]:
    labels = load_label_options(None)
    fmt = resolve_format("bdd100k", folder / "gt", labels)
    return load_gt_and_predictions(fmt, folder / "gt", folder / "pred.json", labels)


def tao_case(folder: Path) -> tuple[AnnotationStore, AnnotationStore]:
    labels = load_label_options(None)
    fmt = resolve_format("auto", folder / "gt.json", labels)
    assert fmt.name == "tao"
    return load_gt_and_predictions(fmt, folder / "gt.json", folder / "pred.json", labels)


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.glob("bdd100k_*")))
def test_teta_matches_reference_bdd100k(case: str) -> None:
    """Crowd and distractor ignore regions, frames without ground truth, eight classes, exhaustive labels."""
    gt, pred = bdd100k_case(FIXTURES / case)
    assert gt.ignore.any() and gt.crowd.any()
    expected = json.loads((FIXTURES / case / "expected.json").read_text())
    supers = {name: expected[name] for name in ("human", "vehicle", "bike")}
    ours = evaluate_tracking(gt, pred, metrics=["teta"], super_categories={
        "human": ["pedestrian", "rider"], "vehicle": ["car", "truck", "bus", "train"], "bike": ["motorcycle", "bicycle"]
    })  # fmt: skip
    for name, values in ours["per_class"].items():
        assert_equal_reference(values, expected[name], name)
    for name, ref in supers.items():
        assert_equal_reference(ours["super_categories"][name], ref, name)
    assert_equal_reference(ours["mean"], expected["mean"], "mean")
    assert_equal_reference(ours["overall"], expected["overall"], "overall")


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.glob("tao_*")))
def test_teta_matches_reference_tao(case: str) -> None:
    """TAO: labels not exhaustive, images without annotations not evaluated."""
    gt, pred = tao_case(FIXTURES / case)
    expected = json.loads((FIXTURES / case / "expected.json").read_text())
    conventions = format_conventions(get_format("tao"), None)
    assert not conventions.exhaustive_labels and conventions.skip_frames_without_gt
    ours = evaluate_tracking(gt, pred, metrics=["teta"], **conventions.as_kwargs())
    for name in expected:
        if name != "mean":
            assert_equal_reference(ours["per_class"][name], expected[name], name)
    assert_equal_reference(ours["mean"], expected["mean"], "mean")


def test_teta_hand_computed() -> None:
    # frame 0: gt {1: A, 2: B}, pred {10: A, 20: B}; frame 1: gt {1: A, 2: B}, pred {10: A, 40: C};
    # frame 2: gt {1: A}, pred {30: A}. Track 40 never overlaps a box: it is in no cluster and takes no part in
    # localisation or association.
    gt, pred = video_stores([{1: A, 2: B}, {1: A, 2: B}, {1: A}], [{10: A, 20: B}, {10: A, 40: C}, {30: A}])
    m = evaluate_tracking(gt, pred, metrics=["teta"])["per_class"]["car"]
    # Every cluster match has IoU 1, at every threshold: 4 TP, 1 FN (B in frame 1), no FP. LocA = 4/5.
    assert m["TETA_LocA"] == pytest.approx(4 / 5)
    # Association as HOTA's: (1,10) twice with 2/(3+2-2), (2,20) once with 1/(2+1-1), (1,30) once with 1/(3+1-1).
    assert m["TETA_AssocA"] == pytest.approx(13 / 24)
    # Labels are exhaustive by default: C is labelled "car" where no car is, a classification FP. ClsA = 4/5.
    assert m["TETA_ClsA"] == pytest.approx(4 / 5)
    assert m["TETA"] == pytest.approx((4 / 5 + 13 / 24 + 4 / 5) / 3)
    # Without exhaustive labels (TAO) only the matched pairs' labels count.
    tao = evaluate_tracking(gt, pred, metrics=["teta"], exhaustive_labels=False)["per_class"]["car"]
    assert tao["TETA_ClsA"] == pytest.approx(1.0) and tao["TETA_LocA"] == pytest.approx(4 / 5)


def test_teta_wrong_label_is_charged_to_the_predicted_class() -> None:
    # A car box tracked as "bus" in both frames: localisation and association are perfect for "car" (class-agnostic
    # clusters), classification is wrong: a FN of car and a FP of bus.
    gt, pred = video_stores([{1: A}, {1: A}], [{5: A}, {5: A}], categories=("car", "bus"))
    pred.class_ids[:] = 1
    r = evaluate_tracking(gt, pred, metrics=["teta"])["per_class"]
    assert r["car"]["TETA_LocA"] == pytest.approx(1.0) and r["car"]["TETA_AssocA"] == pytest.approx(1.0)
    assert r["car"]["TETA_ClsA"] == 0.0 and r["car"]["TETA_ClsRe"] == 0.0
    assert r["bus"]["TETA_ClsPr"] == 0.0 and r["bus"]["TETA_LocA"] == 0.0


@pytest.mark.parametrize("rule", ["bdd100k", "motchallenge"])
def test_views_built_together_give_the_same_numbers(rule: str) -> None:
    """With both views, one set of frame pairs serves them: every metric as when computed alone."""
    gt, pred = random_tracking(3, categories=BDD_CLASSES, num_tracks=40, ignore_rate=0.1, crowd_rate=0.5)
    together = evaluate_tracking(gt, pred, metrics=["clear", "identity", "hota", "teta"], ignore_rule=rule)
    alone = {**evaluate_tracking(gt, pred, ignore_rule=rule)["overall"],
             **evaluate_tracking(gt, pred, metrics=["teta"], ignore_rule=rule)["overall"]}  # fmt: skip
    assert {k: v for k, v in together["overall"].items() if not k.startswith("num_")} == {
        k: v for k, v in alone.items() if not k.startswith("num_")
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_agnostic_matching_in_contested_frames_only(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Step 1 solved only where a prediction overlaps two classes gives what solving every frame gives."""
    gt, pred = random_tracking(seed, categories=BDD_CLASSES, num_tracks=60, extent=120.0, ignore_rate=0.1,
                               crowd_rate=0.5)  # fmt: skip
    seen: list[np.ndarray] = []
    contested = teta_module._contested_frames

    def spy(*args: Any) -> np.ndarray:
        seen.append(contested(*args))
        return seen[-1]

    monkeypatch.setattr(teta_module, "_contested_frames", spy)
    restricted = evaluate_tracking(gt, pred, metrics=["teta"], per_video=True)
    assert 0 < seen[0].sum() < len(seen[0])  # some frames contested, not all
    monkeypatch.setattr(teta_module, "_contested_frames", lambda data, *rest: np.ones(len(data.frame_video), bool))
    assert evaluate_tracking(gt, pred, metrics=["teta"], per_video=True) == restricted
