import numpy as np
import torch

from vis4d.model.track.memory import TrackMemory, detections_to_numpy


def observations(ids: list[int], frame: int = 0, dim: int = 2, value: float = 1.0) -> TrackMemory:
    n = len(ids)
    return TrackMemory(
        ids=np.array(ids, dtype=np.int64),
        boxes=np.arange(n * 4, dtype=np.float32).reshape(n, 4) + 100 * frame,
        embeddings=torch.full((n, dim), value),
        class_ids=np.zeros(n, dtype=np.int64),
        last_frame=np.full(n, frame, dtype=np.int64),
    )


def test_update_appends_new_and_blends_known():
    memory = TrackMemory.empty().update(observations([0, 1]))
    assert memory.ids.tolist() == [0, 1] and memory.embeddings.shape == (2, 2)
    observed = observations([1, 2], frame=5, value=3.0)
    memory = memory.update(observed, momentum=0.75)
    assert memory.ids.tolist() == [0, 1, 2]
    assert memory.embeddings[:, 0].tolist() == [1.0, 0.75 * 1.0 + 0.25 * 3.0, 3.0]
    assert memory.last_frame.tolist() == [0, 5, 5]
    assert memory.boxes[1].tolist() == observed.boxes[0].tolist()


def test_prune_and_concat_with_empty():
    memory = TrackMemory.empty().update(observations([0]))
    memory = memory.update(observations([1], frame=3))
    assert memory.prune(frame_index=5, max_age=2).ids.tolist() == [1]
    assert memory.prune(frame_index=5, max_age=5).ids.tolist() == [0, 1]
    both = TrackMemory.concat([TrackMemory.empty(), memory])  # empty memory has embedding size 0
    assert both.ids.tolist() == [0, 1]


def test_update_with_only_known_ids_keeps_order_and_size():
    memory = TrackMemory.empty().update(observations([0, 3, 7]))
    observed = observations([7, 0], frame=2, value=5.0)
    updated = memory.update(observed, momentum=0.5)
    assert updated.ids.tolist() == [0, 3, 7]
    assert updated.embeddings[:, 0].tolist() == [3.0, 1.0, 3.0]
    assert updated.last_frame.tolist() == [2, 0, 2]
    assert updated.boxes[2].tolist() == observed.boxes[0].tolist()
    assert updated.boxes[0].tolist() == observed.boxes[1].tolist()
    assert memory.last_frame.tolist() == [0, 0, 0], "update must not modify the original memory"
    assert memory.embeddings[:, 0].tolist() == [1.0, 1.0, 1.0]


def test_update_keeps_memory_dtype_for_new_rows():
    memory = TrackMemory.empty().update(observations([0]))
    observed = observations([0, 1], frame=1, value=2.0)
    observed.embeddings = observed.embeddings.double()
    updated = memory.update(observed, momentum=0.5)
    assert updated.embeddings.dtype == torch.float32
    assert updated.embeddings[:, 0].tolist() == [1.5, 2.0]


def test_select_by_mask_and_by_index_agree():
    memory = TrackMemory.empty().update(observations([0, 1, 2, 3]))
    by_mask = memory.select(np.array([True, False, True, True]))
    by_index = memory.select(np.array([0, 2, 3]))
    assert by_mask.ids.tolist() == by_index.ids.tolist() == [0, 2, 3]
    assert torch.equal(by_mask.embeddings, by_index.embeddings)
    np.testing.assert_array_equal(by_mask.boxes, by_index.boxes)


def test_detections_to_numpy_types():
    boxes, scores, classes = detections_to_numpy(
        torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, dtype=torch.float16), torch.arange(3, dtype=torch.int32)
    )
    assert (boxes.dtype, scores.dtype, classes.dtype) == (np.float32, np.float32, np.int64)
    assert boxes.shape == (3, 4) and classes.tolist() == [0, 1, 2]
