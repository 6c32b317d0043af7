import numpy as np
import pytest
import torch

from vis4d.config.schema import IoUGraphConfig
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.graphs.iou import IoUGraph, greedy_max_iou


def box(x: float, y: float = 0.0, w: float = 20.0, h: float = 40.0) -> list[float]:
    return [x, y, x + w, y + h]


def step(graph, boxes, scores, classes, frame):
    return graph(
        torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        torch.tensor(scores, dtype=torch.float32),
        torch.tensor(classes, dtype=torch.int64),
        None,
        frame,
    ).tolist()


def test_build_graph_picks_iou():
    assert isinstance(build_graph(IoUGraphConfig()), IoUGraph)


def test_greedy_max_iou_takes_best_pairs_first():
    iou = np.array([[0.9, 0.6], [0.6, 0.1]])
    rows, cols = greedy_max_iou(iou, 0.3)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0)]  # (1, 1) is below the threshold


def test_hungarian_and_greedy_differ_on_conflicts():
    iou = np.array([[0.9, 0.6], [0.6, 0.1]], dtype=np.float32)
    hungarian = IoUGraph(IoUGraphConfig(matching="hungarian"))._match(iou, 0.3)
    greedy = IoUGraph(IoUGraphConfig(matching="greedy"))._match(iou, 0.3)
    assert sorted(zip(*(a.tolist() for a in hungarian), strict=True)) == [(0, 1), (1, 0)]
    assert list(zip(*(a.tolist() for a in greedy), strict=True)) == [(0, 0)]


@pytest.mark.parametrize("matching", ["hungarian", "greedy"])
def test_moving_objects_keep_ids(matching):
    graph = IoUGraph(IoUGraphConfig(matching=matching))
    for frame in range(6):
        ids = step(graph, [box(100 - 3 * frame), box(3 * frame)], [0.9, 0.8], [0, 0], frame)
        assert ids == [0, 1]


def test_second_stage_recovers_low_score_detections():
    graph = IoUGraph(IoUGraphConfig(high_score_thr=0.5, low_score_thr=0.1, second_match_iou_thr=0.5))
    assert step(graph, [box(0), box(100)], [0.9, 0.9], [0, 0], 0) == [0, 1]
    # object 0's score drops to 0.3: matched in stage 2; a low-score detection far from tracks: no id
    ids = step(graph, [box(2), box(100), box(200)], [0.3, 0.9, 0.3], [0, 0, 0], 1)
    assert ids == [0, 1, -1]
    # below low_score_thr: ignored altogether, the track is not updated
    assert step(graph, [box(4)], [0.05], [0], 2) == [-1]
    assert graph.tracks.last_frame.tolist() == [1, 1]


def test_low_score_detection_never_starts_a_track():
    graph = IoUGraph(IoUGraphConfig(init_score_thr=0.6))
    assert step(graph, [box(0), box(100)], [0.3, 0.55], [0, 0], 0) == [-1, -1]
    assert len(graph.tracks) == 0
    assert step(graph, [box(0)], [0.7], [0], 1) == [0]


def test_class_aware_and_expiry():
    graph = IoUGraph(IoUGraphConfig(with_cats=True, memo_frames=2))
    assert step(graph, [box(0)], [0.9], [0], 0) == [0]
    assert step(graph, [box(0)], [0.9], [1], 1) == [1]  # other class: no match
    assert step(graph, [box(0)], [0.9], [1], 2) == [1]
    assert step(graph, [box(0)], [0.9], [0], 4) == [2]  # track 0 unseen for 4 frames: removed, new id


def test_reset_keeps_ids_increasing():
    graph = IoUGraph(IoUGraphConfig())
    assert step(graph, [box(0)], [0.9], [0], 0) == [0]
    graph.reset()
    assert step(graph, [box(0)], [0.9], [0], 0) == [1]


def test_candidates_are_the_detections_above_the_low_threshold():
    graph = IoUGraph(IoUGraphConfig(low_score_thr=0.1))
    scores = torch.tensor([0.05, 0.1, 0.5, 0.95])
    keep = graph.candidates(torch.zeros(4, 4), scores, torch.zeros(4, dtype=torch.int64))
    assert keep.tolist() == [False, True, True, True]
    boxes = torch.tensor([box(0), box(30), box(60), box(90)])
    classes = torch.zeros(4, dtype=torch.int64)
    other = IoUGraph(IoUGraphConfig(low_score_thr=0.1))
    for frame in range(3):
        ids_all = graph(boxes + frame, scores, classes, None, frame)
        ids_kept = other(boxes[keep] + frame, scores[keep], classes[keep], None, frame)
        assert ids_all[keep].tolist() == ids_kept.tolist() and ids_all[0] == -1
