from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vis4d.data.datasets.columns import first_seen_codes, renumber_tracks_per_video


def test_first_seen_codes() -> None:
    codes, uniques = first_seen_codes(np.array(["b", "a", "b", "c", "a"]))
    assert codes.tolist() == [0, 1, 0, 2, 1]
    assert uniques.tolist() == ["b", "a", "c"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 6)), max_size=60))
def test_renumber_matches_python_reference(pairs: list[tuple[int, int]]) -> None:
    pairs = sorted(pairs, key=lambda p: p[0])  # boxes grouped by video, as in a store
    videos = np.array([v for v, _ in pairs], dtype=np.int64)
    codes = np.array([c for _, c in pairs], dtype=np.int64)
    tables: dict[int, dict[int, int]] = {}
    expected = []
    for video, code in pairs:
        table = tables.setdefault(video, {})
        expected.append(-1 if code < 0 else table.setdefault(code, len(table)))
    assert renumber_tracks_per_video(videos, codes).tolist() == expected
