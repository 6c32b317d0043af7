"""SORT, OC-SORT, BoT-SORT and Deep OC-SORT give their authors' boxes and track ids on the same detections.

The references ran outside the suite on the sequences of ``fixtures/sequences``
(real MOT and BDD100K boxes with seeded noise; real frames for camera motion);
``fixtures/references/README.md`` says how. Ids are compared as a partition:
the same detections carry one track in both, frame after frame (a linear
assignment tie between pairs that overlap nothing may order new ids
differently; see the README). Boxes to 1e-3 px.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from vis4d.config.schema import BoTSORTConfig, DeepOCSORTConfig, OCSORTConfig, SORTConfig
from vis4d.model.track.cmc import CameraMotion
from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs import build_graph

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = Path(__file__).parent / "fixtures"
DETECTIONS = json.loads((FIXTURES / "sequences" / "detections.json").read_text())
TRACKERS = ("sort", "ocsort", "botsort", "deepocsort")


@cache
def reference(tracker: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "references" / f"{tracker}.json").read_text())


@cache
def frames(name: str) -> list[np.ndarray] | None:
    """The sequence's frames as RGB arrays (the fixture's JPEGs, or windows cut from one)."""
    seq = next(s for s in DETECTIONS["sequences"] if s["name"] == name)
    spec = seq.get("images")
    if spec is None:
        return None
    if "files" in spec:
        return [np.ascontiguousarray(cv2.imread(str(ROOT / f))[:, :, ::-1]) for f in spec["files"]]
    base = cv2.imread(str(ROOT / spec["crop_of"]))[:, :, ::-1]
    height, width = seq["image_size"]
    return [np.ascontiguousarray(base[y : y + height, x : x + width]) for x, y in spec["offsets"]]


def config(tracker: str, p: dict[str, Any], has_images: bool) -> Any:
    """Our config for a reference parameter set (the references' names -> ours)."""
    if tracker == "sort":
        return SORTConfig(track_buffer=p["max_age"], min_hits=p["min_hits"], iou_thresh=p["iou_threshold"])
    if tracker == "ocsort":
        return OCSORTConfig(
            track_high_thresh=p["det_thresh"], track_buffer=p["max_age"], min_hits=p["min_hits"],
            iou_thresh=p["iou_threshold"], delta_t=p["delta_t"], asso_func=p["asso_func"], inertia=p["inertia"],
            use_byte=p["use_byte"],
        )  # fmt: skip
    if tracker == "botsort":
        return BoTSORTConfig(
            track_high_thresh=p["track_high_thresh"], track_low_thresh=p["track_low_thresh"],
            new_track_thresh=p["new_track_thresh"], track_buffer=p["track_buffer"], match_thresh=p["match_thresh"],
            fuse_score=not p["mot20"], proximity_thresh=p["proximity_thresh"],
            appearance_thresh=p["appearance_thresh"], cmc_method="sparse_flow" if has_images else "none",
        )  # fmt: skip
    return DeepOCSORTConfig(
        track_high_thresh=p["det_thresh"], track_buffer=p["max_age"], min_hits=p["min_hits"],
        iou_thresh=p["iou_threshold"], delta_t=p["delta_t"], inertia=p["inertia"],
        w_association_emb=p["w_association_emb"], embedding_momentum=p["alpha_fixed_emb"], aw_param=p["aw_param"],
        aw_off=p["aw_off"], cmc_method="none" if p["cmc_off"] or not has_images else "sparse_flow",
    )  # fmt: skip


def uses_embeddings(tracker: str, p: dict[str, Any]) -> bool:
    return (tracker == "botsort" and p["with_reid"]) or (tracker == "deepocsort" and not p["embedding_off"])


def cases() -> list[tuple[str, int]]:
    return [(t, i) for t in TRACKERS for i in range(len(reference(t)["param_sets"]))]


@pytest.mark.parametrize(("tracker", "index"), cases(), ids=lambda v: str(v))
def test_same_boxes_and_id_partition_as_the_authors(tracker: str, index: int) -> None:
    param_set = reference(tracker)["param_sets"][index]
    params = param_set["params"]
    compared = 0
    for seq, expected in zip(DETECTIONS["sequences"], param_set["sequences"], strict=True):
        images = frames(seq["name"])
        graph = build_graph(config(tracker, params, images is not None))
        ours_to_theirs: dict[int, int] = {}
        theirs_to_ours: dict[int, int] = {}
        for k, (frame, ref) in enumerate(zip(seq["frames"], expected["frames"], strict=True)):
            where = f"{tracker}/{params['name']}/{seq['name']} frame {k + 1}"
            boxes = torch.tensor(frame["boxes"], dtype=torch.float64).reshape(-1, 4)
            scores = torch.tensor(frame["scores"], dtype=torch.float64)
            embeds = torch.tensor(frame["embeddings"], dtype=torch.float64).reshape(-1, 8)
            context = FrameContext(frame_index=k, image=None if images is None else images[k])
            ids = graph(
                boxes, scores, torch.zeros(len(scores), dtype=torch.int64),
                embeds if uses_embeddings(tracker, params) else None, k, context,
            ).numpy()  # fmt: skip
            shown = np.flatnonzero(ids >= 0).tolist()
            assert sorted(shown) == sorted(ref["det_indices"]), where
            for det, track, box in zip(ref["det_indices"], ref["track_ids"], ref["boxes"], strict=True):
                assert ours_to_theirs.setdefault(int(ids[det]), track) == track, where
                assert theirs_to_ours.setdefault(track, int(ids[det])) == int(ids[det]), where
                assert graph.output_boxes is not None
                np.testing.assert_allclose(graph.output_boxes[det].numpy(), box, atol=1e-3, err_msg=where)
            compared += 1
    assert compared == sum(len(s["frames"]) for s in DETECTIONS["sequences"])


@pytest.mark.parametrize("name", [s["name"] for s in DETECTIONS["sequences"] if s.get("images")])
def test_camera_motion_is_botsorts_gmc(name: str) -> None:
    """Our sparse-flow estimate on the real frames is BoT-SORT's GMC on them (stored with Deep OC-SORT's fixture)."""
    expected = reference("deepocsort")["camera_motion"][name]
    camera = CameraMotion("sparse_flow")
    images = frames(name)
    assert images is not None
    for k, (image, affine) in enumerate(zip(images, expected, strict=True)):
        np.testing.assert_allclose(camera(image), affine, atol=1e-4, err_msg=f"{name} frame {k + 1}")
    moved = np.abs(np.asarray(expected)[1:, :, 2]).max()
    assert moved > 1.0, "the sequence should show camera motion"
