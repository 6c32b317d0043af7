"""The checks :func:`vis4d.data.datasets.columns.finalize` runs on parsed columns, each vectorised.

Every format's bad input is reported here the same way, one line naming the
file, frame and label: boxes that are degenerate or outside their image,
predicted scores that cannot be ranked, a track id used twice in a frame, a
frame listed twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vis4d.common.errors import DataError
from vis4d.data.datasets.raw import RawColumns
from vis4d.data.mapping import BadInputPolicy
from vis4d.data.notes import warn


def sources_text(sources: Sequence[str]) -> str:
    """The files of a dataset for a message: the first few, and how many more."""
    if not sources:
        return "dataset"
    shown = ", ".join(sources[:2])
    return shown if len(sources) <= 2 else f"{shown} (and {len(sources) - 2} more files)"


def handle_bad_boxes(
    raw: RawColumns, frame_of_box: npt.NDArray[np.int64], bad: npt.NDArray[np.bool_], policy: BadInputPolicy, kind: str
) -> None:
    """Fail on the ``bad`` boxes, or warn once with their count (the caller drops them).

    ``kind``: ``degenerate`` (x2 <= x1, y2 <= y1, NaN or infinite coordinates)
    or ``outside`` (no pixel of the box is in its image).
    """
    if not bad.any():
        return
    first, count = int(np.flatnonzero(bad)[0]), int(bad.sum())
    x1, y1, x2, y2 = (float(v) for v in raw.boxes[first])
    box = f"x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g}"
    if kind == "degenerate" and not np.isfinite(raw.boxes[first]).all():
        what = f"box has {box} (coordinates must be finite numbers)"
    elif kind == "degenerate":
        what = f"box has {box} (need x1 < x2, y1 < y2: a box of zero width or height matches nothing)"
    else:
        frame = int(frame_of_box[first])
        what = f"box {box} lies entirely outside its {int(raw.widths[frame])}x{int(raw.heights[frame])} image"
    where = raw.describe_box(first, frame_of_box)
    if policy == "fail":
        raise DataError(f"{where}: {what}; {count} such box(es) in total (on_degenerate_box = 'fail')")
    label = "degenerate box(es)" if kind == "degenerate" else "box(es) entirely outside their image"
    warn(f"skipped {count} {label}; first at {where}: {what}")


def check_scores(raw: RawColumns, frame_of_box: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]) -> None:
    """Predicted scores rank the boxes: a NaN cannot be ranked (error); outside [0, 1] is ranked, with a warning.

    Score thresholds (a tracker's, a visualisation's) assume confidences in
    [0, 1]; ranking metrics (AP, HOTA) do not care. A file of logits or
    percentages therefore still evaluates, but says so once.
    """
    scores = raw.scores
    not_finite = keep & ~np.isfinite(scores)
    if not_finite.any():
        first = int(np.flatnonzero(not_finite)[0])
        raise DataError(
            f"{raw.describe_box(first, frame_of_box)}: score is {float(scores[first])}; expected a finite number "
            f"({int(not_finite.sum())} such box(es) in total)"
        )
    outside = keep & ((scores < 0) | (scores > 1))
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        warn(
            f"{int(outside.sum())} predicted box(es) have a score outside [0, 1], first at "
            f"{raw.describe_box(first, frame_of_box)}: score {float(scores[first]):g}; they are ranked as given, "
            "but score thresholds assume confidences in [0, 1]"
        )


def drop_files_with_duplicate_track_ids(raw: RawColumns, on_malformed: BadInputPolicy) -> RawColumns:
    """Fail on (or skip the files with) a track id used twice in one frame: such a file is malformed."""
    frame_of_box = raw.box_frames()
    with_id = np.flatnonzero(raw.track_ids >= 0)
    if len(with_id) < 2:
        return raw
    box_frame, box_track = frame_of_box[with_id], raw.track_ids[with_id]
    # Boxes come frame by frame: a merge sort of one (frame, track) key is nearly linear on them and says whether
    # any pair repeats; only then is the first repeat located.
    if int(box_frame.max()) * (int(box_track.max()) + 1) < 1 << 62:
        keys = np.sort(box_frame * (int(box_track.max()) + 1) + box_track, kind="stable")
        if not (keys[1:] == keys[:-1]).any():
            return raw
    # Sort by (frame, track, row): a repeated pair shows up as equal neighbours, the later one a reuse.
    order = np.lexsort((with_id, box_track, box_frame))
    same = (np.diff(box_frame[order]) == 0) & (np.diff(box_track[order]) == 0)
    if not same.any():
        return raw
    bad_boxes = np.sort(with_id[order[1:][same]])
    first_bad = int(bad_boxes[0])
    message = f"{raw.describe_box(first_bad, frame_of_box)}: track id used twice in one frame"
    if on_malformed == "fail":
        raise DataError(message)
    bad_sources = np.unique(raw.frame_sources[frame_of_box[bad_boxes]])
    for source in bad_sources:
        warn(f"skipping malformed file {raw.sources[int(source)]} ({message})")
    return raw.select(~np.isin(raw.frame_sources, bad_sources), np.ones(len(raw.boxes), dtype=bool))


def check_duplicate_frames(raw: RawColumns) -> None:
    """Frames are matched by (video, name) in evaluation: the same pair twice is an error."""
    if raw.num_frames < 2:
        return
    keys = np.char.add(np.char.add(raw.video_names.astype(np.str_), "\x00"), raw.frame_names.astype(np.str_))
    _, first_index, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup_first = int(first_index[np.flatnonzero(counts > 1)[0]])
        dup_rows = np.flatnonzero(keys == keys[dup_first])
        files = sorted({raw.sources[int(raw.frame_sources[r])] for r in dup_rows})
        raise DataError(
            f"{', '.join(files)}: frame '{raw.frame_names[dup_first]}' of video '{raw.video_names[dup_first]}' "
            f"appears {len(dup_rows)} times; frame names must be unique per video"
        )
