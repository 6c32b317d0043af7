"""ByteTrack gives the reference tracker's ids and boxes on the same detections (fixture made outside the suite)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vis4d.config.schema import ByteTrackConfig
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.graphs.bytetrack import ByteTrackGraph, assign

FIXTURES = Path(__file__).parent / "fixtures" / "bytetrack"
DETECTIONS = json.loads((FIXTURES / "detections.json").read_text())
REFERENCE = json.loads((FIXTURES / "reference_tracks.json").read_text())


def _config(params: dict) -> ByteTrackConfig:
    return ByteTrackConfig(
        track_thresh=params["track_thresh"],
        track_buffer=params["track_buffer"],
        match_thresh=params["match_thresh"],
        fuse_score=not params["mot20"],
        frame_rate=params["frame_rate"],
    )


@pytest.mark.parametrize("param_set", REFERENCE["param_sets"], ids=lambda p: p["params"]["name"])
def test_same_ids_boxes_and_scores_as_the_reference(param_set: dict) -> None:
    compared = 0
    for sequence, expected in zip(DETECTIONS["sequences"], param_set["sequences"], strict=True):
        graph = build_graph(_config(param_set["params"]))
        assert isinstance(graph, ByteTrackGraph)
        first_id = graph.next_id  # the reference's counter starts at 1 per sequence, ours keeps counting
        for index, (frame, reference) in enumerate(zip(sequence["frames"], expected["frames"], strict=True)):
            boxes = torch.tensor(frame["boxes"], dtype=torch.float64).reshape(-1, 4)
            scores = torch.tensor(frame["scores"], dtype=torch.float64)  # the reference's float64 scores
            ids = graph(boxes, scores, torch.zeros(len(scores), dtype=torch.int64), None, index).numpy()
            assert graph.output_boxes is not None
            output = {int(det): int(ids[det]) - first_id + 1 for det in np.flatnonzero(ids >= 0)}
            where = f"{expected['name']} frame {reference['frame_id']}"
            assert output == dict(zip(reference["det_indices"], reference["track_ids"], strict=True)), where
            for det, box, score in zip(reference["det_indices"], reference["boxes"], reference["scores"], strict=True):
                np.testing.assert_allclose(graph.output_boxes[det].numpy(), box, atol=1e-3, err_msg=where)
                assert scores[det].item() == score
            compared += 1
    assert compared == 180


def test_assignment_is_the_thresholded_global_optimum() -> None:
    """Hungarian then filtering would match (0,0) at 0.79 and leave row 1; the extended matrix prefers two matches."""
    cost = np.array([[0.79, 0.30], [0.30, 0.95]])
    matches, free_rows, free_cols = assign(cost, 0.8)
    assert matches == [(0, 1), (1, 0)] and free_rows == [] and free_cols == []
    matches, free_rows, free_cols = assign(np.array([[0.9, 0.85]]), 0.8)
    assert matches == [] and free_rows == [0] and free_cols == [0, 1]
    assert assign(np.zeros((0, 3)), 0.5) == ([], [], [0, 1, 2])


def test_low_detections_never_start_tracks_and_new_tracks_show_from_their_second_frame() -> None:
    graph = ByteTrackGraph(ByteTrackConfig())
    box = torch.tensor([[100.0, 100.0, 150.0, 200.0]])
    no_class = torch.zeros(1, dtype=torch.int64)
    assert graph(box, torch.tensor([0.4]), no_class, None, 0).tolist() == [-1]  # low: nothing
    assert graph(box, torch.tensor([0.9]), no_class, None, 1).tolist() == [-1]  # new, unconfirmed
    assert graph(box + 2, torch.tensor([0.9]), no_class, None, 2).tolist() == [0]  # confirmed in its second frame
    assert graph.candidates(box.repeat(3, 1), torch.tensor([0.05, 0.1, 0.2]), no_class.repeat(3)).tolist() == [
        False, False, True,
    ]  # fmt: skip
