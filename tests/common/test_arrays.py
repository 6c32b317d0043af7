"""The radix sort and grouping helpers equal numpy's own sorts on random and adversarial keys."""

from __future__ import annotations

import numpy as np
import pytest

from vis4d.common.arrays import combined_key, group_index, group_keys, stable_argsort


@pytest.mark.parametrize("bits", [1, 8, 16, 17, 32, 40, 48, 60])
@pytest.mark.parametrize("n", [0, 1, 5000, 20000])
def test_stable_argsort_is_numpys_stable_argsort(bits: int, n: int) -> None:
    rng = np.random.default_rng(bits * 31 + n)
    keys = rng.integers(0, 1 << bits, n, dtype=np.int64)
    keys[: n // 3] = keys[0] if n else 0  # many ties: stability matters
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    assert np.array_equal(stable_argsort(keys, 1 << bits), np.argsort(keys, kind="stable"))


def _reference_groups(*keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    stacked = np.stack(keys, axis=1)
    uniques, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1), [uniques[:, i] for i in range(len(keys))]


@pytest.mark.parametrize(
    "spans",
    [(3,), (50_000,), (7, 11), (200, 1 << 20), (1 << 40, 5), (2, 3, 4), (1 << 31, 1 << 31, 3)],
)
def test_group_keys_is_numpys_unique(spans: tuple[int, ...]) -> None:
    """Small spans take the flag array, larger ones the radix sort, overflowing ones lexsort: all the same groups."""
    rng = np.random.default_rng(len(spans) + spans[0] % 97)
    keys = [rng.integers(0, span, 30_000, dtype=np.int64) for span in spans]
    ids, values = group_keys(*keys)
    expected_ids, expected_values = _reference_groups(*keys)
    assert np.array_equal(ids, expected_ids)
    for got, want in zip(values, expected_values, strict=True):
        assert np.array_equal(got, want)
    assert group_index(*keys)[1] == len(expected_values[0])


def test_group_keys_with_negative_keys_and_no_rows() -> None:
    keys = np.array([3, -1, 3, -5, -1]), np.array([0, 2, 0, 1, 2])
    ids, (a, b) = group_keys(*keys)
    assert ids.tolist() == [2, 1, 2, 0, 1] and a.tolist() == [-5, -1, 3] and b.tolist() == [1, 2, 0]
    empty = np.zeros(0, np.int64)
    ids, values = group_keys(empty, empty)
    assert len(ids) == 0 and all(len(v) == 0 for v in values)


def test_combined_key_refuses_negative_and_overflowing_keys() -> None:
    assert combined_key((np.array([0, -1]),)) is None
    assert combined_key((np.array([1 << 40]), np.array([1 << 30]))) is None
    packed = combined_key((np.array([1, 0]), np.array([2, 5])))
    assert packed is not None and packed[0].tolist() == [8, 5] and packed[1] == 12
