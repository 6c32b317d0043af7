"""Sorting and grouping integer keys fast: radix sorts in 16-bit passes, flag arrays instead of sorts.

numpy's comparison sort of a million random int64 keys takes a tenth of a
second on a small machine; its stable sort of 16-bit integers is a radix
sort, five to ten times faster, and keys whose span is not much larger than
their count need no sort at all. Evaluation (grouping boxes into tracks,
track pairs) and loading (renumbering track ids) use these helpers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["combined_key", "group_index", "group_keys", "stable_argsort"]


def combined_key(keys: tuple[npt.NDArray[np.int64], ...]) -> tuple[npt.NDArray[np.int64], int] | None:
    """The key columns as one int64 in the same lexicographic order and its span, if they are non-negative and fit."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    span = 1
    for key in keys:
        low, high = int(key.min()), int(key.max())
        if low < 0 or span * (high + 1) >= 1 << 62:
            return None
        combined = combined * (high + 1) + key
        span *= high + 1
    return combined, span


_RADIX_BITS = 16  # numpy's stable sort is a radix sort for 16-bit integers: linear, and 5 to 10x a comparison sort
_RADIX_MAX_PASSES = 3  # beyond that, one comparison sort is as fast


def stable_argsort(keys: npt.NDArray[np.int64], span: int | None = None) -> npt.NDArray[np.int64]:
    """``np.argsort(keys, kind="stable")`` of non-negative integers below ``span``, as a radix sort where it pays.

    Least significant 16-bit digit first, each pass numpy's radix sort of a
    ``uint16`` column (stable, so the passes compose): two passes for keys
    below 2**32 cost about half of one comparison sort of random int64 keys.
    The result is the same permutation.
    """
    if span is None:
        span = int(keys.max()) + 1 if len(keys) else 1
    passes = max(1, ((span - 1).bit_length() + _RADIX_BITS - 1) // _RADIX_BITS)
    if passes > _RADIX_MAX_PASSES or len(keys) < 1 << 12:
        return np.argsort(keys, kind="stable").astype(np.int64)
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable").astype(np.int64)
    for shift in range(_RADIX_BITS, passes * _RADIX_BITS, _RADIX_BITS):
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


def group_index(*keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], int]:
    """Dense group id for each row of the given integer key columns (lexicographic order), and the group count."""
    ids, uniques = group_keys(*keys)
    return ids, len(uniques[0])


def group_keys(*keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], tuple[npt.NDArray[np.int64], ...]]:
    """Dense group id for each row of the key columns (lexicographic order), and each group's key values.

    Non-negative keys whose combined span is at most a few times the row
    count are numbered with a flag array (no sort); larger spans are sorted
    by :func:`stable_argsort`; only keys that do not fit one int64 take
    ``np.lexsort``. The groups' key values come from the sorted (or flagged)
    keys, not by scattering every row into them.
    """
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), tuple(np.zeros(0, dtype=np.int64) for _ in keys)
    packed = combined_key(keys)
    if packed is None:
        order = np.lexsort(keys[::-1])
        new = np.zeros(n, dtype=bool)
        new[0] = True
        for key in keys:
            sorted_key = key[order]
            new[1:] |= sorted_key[1:] != sorted_key[:-1]
        ids_sorted = np.cumsum(new) - 1
        ids = np.empty(n, dtype=np.int64)
        ids[order] = ids_sorted
        firsts = order[new]
        return ids, tuple(np.asarray(key, dtype=np.int64)[firsts] for key in keys)
    combined, span = packed
    if span <= 4 * n + 4096:
        present = np.zeros(span, dtype=bool)
        present[combined] = True
        rank = np.cumsum(present) - 1
        ids = rank[combined].astype(np.int64)
        unique_combined = np.flatnonzero(present).astype(np.int64)
    else:
        order = stable_argsort(combined, span)
        sorted_combined = combined[order]
        new = np.concatenate([[True], sorted_combined[1:] != sorted_combined[:-1]])
        ids = np.empty(n, dtype=np.int64)
        ids[order] = np.cumsum(new) - 1
        unique_combined = sorted_combined[new]
    values = []
    for key in keys[:0:-1]:  # undo the mixed radix of _combined_key, last key first
        base = int(key.max()) + 1
        unique_combined, value = np.divmod(unique_combined, base)
        values.append(value)
    values.append(unique_combined)
    return ids, tuple(values[::-1])
