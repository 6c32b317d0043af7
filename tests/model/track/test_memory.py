import torch

from vis4d.model.track.memory import TrackMemory


def observations(
    ids: list[int], dim: int = 2, value: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    n = len(ids)
    return (
        torch.tensor(ids, dtype=torch.int64),
        torch.arange(n * 4, dtype=torch.float32).reshape(n, 4),
        torch.full((n, dim), value),
        torch.zeros(n, dtype=torch.int64),
    )


def test_update_appends_new_and_blends_known():
    memory = TrackMemory.empty().update(*observations([0, 1]), frame_index=0)
    assert memory.ids.tolist() == [0, 1] and memory.embeddings.shape == (2, 2)
    ids, boxes, emb, cls = observations([1, 2], value=3.0)
    memory = memory.update(ids, boxes, emb, cls, frame_index=5, momentum=0.75)
    assert memory.ids.tolist() == [0, 1, 2]
    assert memory.embeddings[:, 0].tolist() == [1.0, 0.75 * 1.0 + 0.25 * 3.0, 3.0]
    assert memory.last_frame.tolist() == [0, 5, 5]
    assert memory.boxes[1].tolist() == boxes[0].tolist()


def test_prune_and_concat_with_empty():
    memory = TrackMemory.empty().update(*observations([0]), frame_index=0)
    memory = memory.update(*observations([1]), frame_index=3)
    assert memory.prune(frame_index=5, max_age=2).ids.tolist() == [1]
    assert memory.prune(frame_index=5, max_age=5).ids.tolist() == [0, 1]
    both = TrackMemory.concat([TrackMemory.empty(), memory])  # empty memory has embedding size 0
    assert both.ids.tolist() == [0, 1]


def test_update_with_only_known_ids_keeps_order_and_size():
    memory = TrackMemory.empty().update(*observations([0, 3, 7]), frame_index=0)
    ids, boxes, emb, cls = observations([7, 0], value=5.0)
    updated = memory.update(ids, boxes, emb, cls, frame_index=2, momentum=0.5)
    assert updated.ids.tolist() == [0, 3, 7]
    assert updated.embeddings[:, 0].tolist() == [3.0, 1.0, 3.0]
    assert updated.last_frame.tolist() == [2, 0, 2]
    assert updated.boxes[2].tolist() == boxes[0].tolist() and updated.boxes[0].tolist() == boxes[1].tolist()
    assert memory.last_frame.tolist() == [0, 0, 0], "update must not modify the original memory"


def test_update_keeps_memory_dtype_for_new_rows():
    memory = TrackMemory.empty().update(*observations([0]), frame_index=0)
    ids, boxes, emb, cls = observations([0, 1], value=2.0)
    updated = memory.update(ids, boxes, emb.double(), cls, frame_index=1, momentum=0.5)
    assert updated.embeddings.dtype == torch.float32
    assert updated.embeddings[:, 0].tolist() == [1.5, 2.0]


def test_select_by_mask_and_by_index_agree():
    memory = TrackMemory.empty().update(*observations([0, 1, 2, 3]), frame_index=0)
    mask = torch.tensor([True, False, True, True])
    by_mask, by_index = memory.select(mask), memory.select(torch.tensor([0, 2, 3]))
    assert by_mask.ids.tolist() == by_index.ids.tolist() == [0, 2, 3]
    assert torch.equal(by_mask.embeddings, by_index.embeddings) and torch.equal(by_mask.boxes, by_index.boxes)
