"""The track store: aligned columns, defaults for new rows, free-width columns, selection in place."""

from __future__ import annotations

import numpy as np
import pytest

from vis4d.model.track.store import Column, TrackStore

SCHEMA = {
    "id": Column(dtype=np.int64),
    "mean": Column((3,)),
    "alive": Column(dtype=np.bool_, default=True),
    "embedding": Column((-1,)),
}


def test_rows_take_given_values_or_defaults() -> None:
    store = TrackStore(SCHEMA)
    rows = store.append(2, id=np.array([4, 5]), mean=np.ones((2, 3)))
    assert rows.tolist() == [0, 1] and len(store) == 2
    assert store["alive"].tolist() == [True, True] and store["embedding"].shape == (2, 0)
    store.append(1, id=6, alive=False)
    assert store["id"].tolist() == [4, 5, 6] and store["mean"][2].tolist() == [0, 0, 0]
    store.keep(np.array([2, 0]))
    assert store["id"].tolist() == [6, 4] and store["alive"].tolist() == [False, True]
    chosen = store.select(store["alive"])
    assert chosen["id"].tolist() == [4] and len(store) == 2


def test_a_free_width_is_fixed_by_the_first_rows_and_freed_by_clear() -> None:
    store = TrackStore(SCHEMA)
    store.append(2, id=np.arange(2), embedding=np.ones((2, 5)))
    assert store["embedding"].shape == (2, 5)
    store.append(1, id=2, embedding=np.zeros((1, 5)))
    assert store["embedding"].shape == (3, 5)
    store.clear()
    store.append(1, id=3, embedding=np.ones((1, 7)))
    assert store["embedding"].shape == (1, 7)


def test_unknown_columns_are_refused() -> None:
    store = TrackStore(SCHEMA)
    with pytest.raises(KeyError, match="no column"):
        store.append(1, speed=1.0)
    with pytest.raises(KeyError, match="no column"):
        store["speed"] = np.zeros(0)
