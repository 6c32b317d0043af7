"""The tracker kit's track store: every track a row, every property a numpy column.

A motion tracker's step touches all tracks at once: predict every Kalman
state, compare every track with every detection, update the matched rows.
With columns (ids (T,), Kalman means (T, 8), covariances (T, 8, 8), states,
counters, embeddings (T, D)) those are a few array operations whatever the
number of tracks, where per-track objects cost a Python call each (the
difference is the speed of ``docs/speed.md``).

A tracker declares its columns once (:class:`Column`: trailing shape, dtype,
the value a new row gets unless given); rows are added with
:meth:`TrackStore.append`, selected or reordered with
:meth:`TrackStore.select`, and columns read and written as arrays
(``store["mean"][rows] = ...``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


@dataclasses.dataclass(frozen=True)
class Column:
    """One property of a track: its shape beyond the track axis, dtype and default value.

    A ``-1`` in ``shape`` is a width fixed by the first rows added (appearance
    embeddings, whose length depends on the model); rows added without a value
    for it make it 0 wide.
    """

    shape: tuple[int, ...] = ()
    dtype: type | np.dtype[Any] = np.float64
    default: float | int | bool = 0


class TrackStore:
    """Rows of tracks in columns of equal length (see the module docstring)."""

    def __init__(self, schema: Mapping[str, Column], columns: dict[str, Array] | None = None) -> None:
        self.schema = dict(schema)
        self._columns = columns if columns is not None else self._empty_columns()

    def _empty_columns(self) -> dict[str, Array]:
        schema = self.schema.items()
        return {name: np.zeros((0, *(max(n, 0) for n in col.shape)), dtype=col.dtype) for name, col in schema}

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def __getitem__(self, name: str) -> Array:
        return self._columns[name]

    def __setitem__(self, name: str, value: Array) -> None:
        if name not in self.schema:
            raise KeyError(f"the track store has no column {name!r}")
        self._columns[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def select(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> TrackStore:
        """The rows a boolean mask or an index array selects, in that order (a copy)."""
        return TrackStore(self.schema, {name: column[rows] for name, column in self._columns.items()})

    def keep(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> None:
        """Keep only ``rows`` (mask or indices, in the given order), in place."""
        self._columns = {name: column[rows] for name, column in self._columns.items()}

    def append(self, count: int, **values: Array | float | int | bool) -> npt.NDArray[np.int64]:
        """Add ``count`` rows; unnamed columns take their default. Returns the new rows' indices."""
        unknown = set(values) - set(self.schema)
        if unknown:
            raise KeyError(f"the track store has no column(s) {sorted(unknown)}")
        start = len(self)
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        for name, col in self.schema.items():
            value = values.get(name, col.default)
            shape = self._columns[name].shape[1:]
            if start == 0 and -1 in col.shape:  # a free width: the given rows decide
                shape = np.shape(value)[1:] if np.ndim(value) == 1 + len(col.shape) else shape
            new = np.empty((count, *shape), dtype=col.dtype)
            new[...] = value
            self._columns[name] = new if start == 0 else np.concatenate([self._columns[name], new])
        return np.arange(start, start + count, dtype=np.int64)

    def clear(self) -> None:
        """Remove every row (free widths are free again)."""
        self._columns = self._empty_columns()
