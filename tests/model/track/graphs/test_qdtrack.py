import torch

from vis4d.config.schema import QDTrackGraphConfig
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.graphs.qdtrack import QDTrackGraph

DIM = 8


def embed(*objects: int, noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Distinct appearance per object: a scaled one-hot vector (+ optional noise)."""
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(len(objects), DIM)
    out[torch.arange(len(objects)), torch.tensor(objects)] = 10.0
    return out + noise * torch.randn(len(objects), DIM, generator=gen)


def box(x: float, y: float, w: float = 20.0, h: float = 40.0) -> list[float]:
    return [x, y, x + w, y + h]


def step(graph, boxes, scores, classes, embeddings, frame):
    return graph(
        torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        torch.tensor(scores, dtype=torch.float32),
        torch.tensor(classes, dtype=torch.int64),
        embeddings,
        frame,
    ).tolist()


def test_build_graph_picks_qdtrack():
    assert isinstance(build_graph(QDTrackGraphConfig()), QDTrackGraph)


def test_identities_kept_through_a_crossing():
    graph = QDTrackGraph(QDTrackGraphConfig())
    history = []
    for frame in range(9):
        # A moves right, B moves left; they cross around frame 4 (vertically offset: IoU < 0.7)
        boxes = [box(10 + 10 * frame, 0), box(90 - 10 * frame, 20)]
        ids = step(graph, boxes, [0.95, 0.9], [0, 0], embed(0, 1, noise=0.5, seed=frame), frame)
        history.append(ids)
    assert history[0] == [0, 1]
    assert all(ids == [0, 1] for ids in history)


def test_detection_order_does_not_matter():
    graph = QDTrackGraph(QDTrackGraphConfig())
    # new ids are handed out in score order, results come back in input order
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.95], [0, 0], embed(0, 1), 0) == [1, 0]
    assert step(graph, [box(52, 0), box(1, 0)], [0.8, 0.95], [0, 0], embed(1, 0), 1) == [0, 1]


def test_short_occlusion_keeps_identity_and_new_objects_get_new_ids():
    graph = QDTrackGraph(QDTrackGraphConfig(memo_tracklet_frames=10))
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 0) == [0, 1]
    for frame in (1, 2, 3):  # object 1 occluded for 3 frames
        assert step(graph, [box(frame, 0)], [0.9], [0], embed(0), frame) == [0]
    ids = step(graph, [box(4, 0), box(50, 0), box(80, 0)], [0.9, 0.9, 0.9], [0, 0, 0], embed(0, 1, 2), 4)
    assert ids == [0, 1, 2]


def test_dead_track_id_is_never_reused():
    graph = QDTrackGraph(QDTrackGraphConfig(memo_tracklet_frames=2))
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 0) == [0, 1]
    for frame in (1, 2, 3):  # object 0 unseen for 3 frames (> 2): its track is gone
        assert step(graph, [box(50, 0)], [0.9], [0], embed(1), frame) == [1]
    assert graph.tracks.ids.tolist() == [1]
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 4) == [2, 1]
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 5) == [2, 1]


def test_reset_forgets_tracks_but_ids_keep_increasing():
    graph = QDTrackGraph(QDTrackGraphConfig())
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 0) == [0, 1]
    graph.reset()
    assert graph.empty
    # same appearance and place in the next video: no matching to the old video's tracks
    assert step(graph, [box(0, 0), box(50, 0)], [0.9, 0.9], [0, 0], embed(0, 1), 0) == [2, 3]


def test_class_aware_matching():
    graph = QDTrackGraph(QDTrackGraphConfig(with_cats=True))
    assert step(graph, [box(0, 0)], [0.9], [0], embed(0), 0) == [0]
    assert step(graph, [box(0, 0)], [0.9], [1], embed(0), 1) == [1]  # same embedding, other class
    agnostic = QDTrackGraph(QDTrackGraphConfig(with_cats=False))
    assert step(agnostic, [box(0, 0)], [0.9], [0], embed(0), 0) == [0]
    assert step(agnostic, [box(0, 0)], [0.9], [1], embed(0), 1) == [0]


def test_thresholds_duplicates_and_backdrops():
    graph = QDTrackGraph(QDTrackGraphConfig())
    # 0.95: starts a track; 0.93 duplicate (IoU 0.9, same class) removed; 0.7 < init: not output;
    # 0.3: low score -> backdrop, not output
    boxes = [box(0, 0), box(1, 0), box(100, 0), box(200, 0)]
    ids = step(graph, boxes, [0.95, 0.93, 0.7, 0.3], [0, 0, 0, 0], embed(0, 1, 2, 3), 0)
    assert ids == [0, -1, -1, -1]
    assert len(graph.tracks) == 1
    assert len(graph.backdrops) == 2  # the 0.7 and 0.3 detections (the duplicate is dropped)
    # a different class overlapping the track is no duplicate
    graph2 = QDTrackGraph(QDTrackGraphConfig())
    assert step(graph2, [box(0, 0), box(1, 0)], [0.95, 0.93], [0, 1], embed(0, 1), 0) == [0, 1]


def test_backdrops_expire_and_absorb_matches():
    graph = QDTrackGraph(QDTrackGraphConfig(memo_backdrop_frames=1))
    step(graph, [box(0, 0)], [0.3], [0], embed(3), 0)
    assert len(graph.backdrops) == 1 and len(graph.tracks) == 0
    # a detection that best matches a backdrop gets no id from it, but may start its own track
    assert step(graph, [box(0, 0)], [0.9], [0], embed(3), 1) == [0]
    assert len(graph.backdrops) == 0  # the frame-0 backdrop expired after one frame


def test_low_score_detection_matching_a_track_is_dropped():
    graph = QDTrackGraph(QDTrackGraphConfig())
    assert step(graph, [box(0, 0)], [0.9], [0], embed(0), 0) == [0]
    assert step(graph, [box(5, 0)], [0.4], [0], embed(0), 1) == [-1]
    assert int(graph.tracks.last_frame[0]) == 0  # the track was not updated
    assert len(graph.backdrops) == 0  # and the duplicate is no backdrop


def test_momentum_update_and_memory_state():
    graph = QDTrackGraph(QDTrackGraphConfig(memo_momentum=0.8))
    first, second = embed(0), embed(0, noise=1.0, seed=3)
    step(graph, [box(0, 0)], [0.9], [0], first, 0)
    step(graph, [box(3, 0)], [0.9], [0], second, 1)
    assert torch.allclose(graph.tracks.embeddings[0], 0.8 * first[0] + 0.2 * second[0])
    assert graph.tracks.boxes[0].tolist() == box(3, 0)
    assert int(graph.tracks.last_frame[0]) == 1


def test_each_track_matches_at_most_one_detection():
    graph = QDTrackGraph(QDTrackGraphConfig(init_score_thr=0.8))
    step(graph, [box(0, 0)], [0.9], [0], embed(0), 0)
    # two detections look like track 0; the higher-scored one takes it, the other starts a new track
    ids = step(graph, [box(0, 0), box(100, 0)], [0.85, 0.95], [0, 0], embed(0, 0), 1)
    assert ids == [1, 0]


def test_empty_frames():
    graph = QDTrackGraph(QDTrackGraphConfig(memo_tracklet_frames=1))
    assert step(graph, [], [], [], torch.zeros(0, DIM), 0) == []
    assert step(graph, [box(0, 0)], [0.9], [0], embed(0), 1) == [0]
    assert step(graph, [], [], [], torch.zeros(0, DIM), 2) == []
    assert step(graph, [], [], [], torch.zeros(0, DIM), 3) == []
    assert len(graph.tracks) == 0


def cluttered_frame(frame: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Six moving objects, each with jittered duplicates (some of another class) and low-score clutter."""
    rows_boxes, rows_scores, rows_classes, rows_embeds = [], [], [], []
    for obj in range(6):
        base = torch.tensor(box(10 + 60 * obj + 3 * frame, 10 + 5 * obj))
        for copy in range(3):
            jitter = torch.randn(4, generator=gen) * (0 if copy == 0 else 4)
            rows_boxes.append(base + jitter)
            rows_scores.append(
                float(torch.rand(1, generator=gen)) * (0.5 if copy else 0.3) + (0.65 if copy == 0 else 0.1)
            )
            rows_classes.append(obj % 2 if copy < 2 else 1 - obj % 2)
            rows_embeds.append(embed(obj, noise=1.0, seed=frame * 100 + obj * 3 + copy)[0])
    for _ in range(5):  # clutter anywhere
        corner = torch.rand(2, generator=gen) * 300
        rows_boxes.append(torch.cat([corner, corner + 25]))
        rows_scores.append(float(torch.rand(1, generator=gen)) * 0.4)
        rows_classes.append(0)
        rows_embeds.append(torch.randn(DIM, generator=gen) * 3)
    return torch.stack(rows_boxes), torch.tensor(rows_scores), torch.tensor(rows_classes), torch.stack(rows_embeds)


def test_candidates_alone_get_the_same_ids_as_all_detections():
    """The model embeds only ``candidates``; the graph must then behave exactly as with all detections."""
    gen = torch.Generator().manual_seed(0)
    with_all, with_candidates = QDTrackGraph(QDTrackGraphConfig()), QDTrackGraph(QDTrackGraphConfig())
    dropped = tracked = 0
    for frame in range(10):
        boxes, scores, classes, embeds = cluttered_frame(frame, gen)
        keep = with_candidates.candidates(boxes, scores, classes)
        ids_all = with_all(boxes, scores, classes, embeds, frame)
        ids_kept = with_candidates(boxes[keep], scores[keep], classes[keep], embeds[keep], frame)
        assert ids_all[keep].tolist() == ids_kept.tolist()
        assert (ids_all[~keep] == -1).all()
        dropped += int((~keep).sum())
        tracked += int((ids_kept >= 0).sum())
    assert dropped > 0 and tracked > 0, "the scene must exercise both duplicate removal and tracking"
    assert with_all.tracks.ids.tolist() == with_candidates.tracks.ids.tolist()
    torch.testing.assert_close(with_all.tracks.embeddings, with_candidates.tracks.embeddings)
    assert len(with_all.backdrops) > 0
    assert with_all.backdrops.boxes.tolist() == with_candidates.backdrops.boxes.tolist()
