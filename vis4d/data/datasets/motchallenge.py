"""MOTChallenge sequences (ground truth, public detections, tracker output) -> store.

Layout: ``<root>/<SEQ>/seqinfo.ini`` (``name, imDir, frameRate, seqLength,
imWidth, imHeight, imExt``), ``<SEQ>/<imDir>/000001.jpg ...``,
``<SEQ>/gt/gt.txt`` and ``<SEQ>/det/det.txt``. Text files hold one box per
line: ``frame, id, x, y, w, h, conf, class, visibility`` (frames 1-based,
boxes xywh). Every file is parsed whole with ``np.loadtxt``. A sequence without
``seqinfo.ini`` (motmetrics' TUD-Campus, with ``SEQ/gt.txt``) ends at its last
labelled frame, its image size unknown.

Ground truth follows the MOT17 evaluation rules: class 1 (pedestrian) with
conf (the "consider" flag) 1 is evaluated; classes 2 (person on vehicle),
7 (static person), 8 (distractor) and 12 (reflection) are ignore regions —
they map, through ``ignored_mapping``, to ``pedestrian`` with ``ignore=True``,
so predictions on them are neither true nor false positives; every other
class, and pedestrians with conf 0, are dropped. Files without a class column
(MOT15's: -1 there, or world coordinates, which are not whole numbers) count
every box as a pedestrian.

Public detections (``det/det.txt``) load as untracked pedestrians with their
conf as score (MOT17's DPM scores are not in [0, 1]; they are kept as given).
Tracker output ``<results_dir>/<SEQ>.txt`` loads with its ids and scores.

Inside the store frames are 0-based (``frame_index = frame - 1``), frame names
are image file names (``000001.jpg``); the writers add 1 back.
"""

from __future__ import annotations

import configparser
import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from vis4d.common.errors import DataError, MissingScoreError
from vis4d.data.datasets.columns import finalize
from vis4d.data.datasets.raw import MalformedFile, RawColumns, concat_raw
from vis4d.data.mapping import DEFAULT_LOAD_OPTIONS, CategoryMapper, LoadOptions
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore

PEDESTRIAN_CLASS = 1
MOT_CLASS_NAMES = {1: "pedestrian", 2: "person_on_vehicle", 7: "static_person", 8: "distractor", 12: "reflection"}
DISTRACTOR_CLASSES = (2, 7, 8, 12)
DEFAULT_IGNORED_MAPPING = {MOT_CLASS_NAMES[c]: "pedestrian" for c in DISTRACTOR_CLASSES}

Source = Literal["gt", "det", "results"]


@dataclasses.dataclass
class SequenceInfo:
    """The fields of a ``seqinfo.ini`` that loading needs."""

    name: str
    directory: Path
    image_dir: str
    length: int
    width: int
    height: int
    extension: str
    frame_rate: float


def read_seqinfo(sequence_dir: Path) -> SequenceInfo:
    """Parse ``<sequence_dir>/seqinfo.ini``; errors name the file and the missing key."""
    path = sequence_dir / "seqinfo.ini"
    if not path.is_file():
        raise DataError(f"{sequence_dir}: no seqinfo.ini (expected a MOTChallenge sequence folder)")
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        section = parser["Sequence"]
        return SequenceInfo(
            name=section.get("name", sequence_dir.name),
            directory=sequence_dir,
            image_dir=section.get("imDir", "img1"),
            length=int(section["seqLength"]),
            width=int(section.get("imWidth", "0")),
            height=int(section.get("imHeight", "0")),
            extension=section.get("imExt", ".jpg"),
            frame_rate=float(section.get("frameRate", "30")),
        )
    except (configparser.Error, KeyError, ValueError) as error:
        raise DataError(f"{path}: malformed seqinfo.ini ({error}); needs [Sequence] with seqLength") from None


def read_mot_txt(path: Path, min_columns: int = 6) -> npt.NDArray[np.float64]:
    """All rows of a MOTChallenge text file as an (N, C) float array, parsed in one ``np.loadtxt`` call."""
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise MalformedFile(f"{path}: not UTF-8 text ({error.reason})") from None
    if not text.strip():
        return np.zeros((0, max(min_columns, 10)), dtype=np.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise MalformedFile(f"{path}: {error}") from None
    if rows.shape[1] < min_columns:
        raise MalformedFile(f"{path}: expected at least {min_columns} comma-separated columns, got {rows.shape[1]}")
    return rows


def box_file(folder: Path, kind: Literal["gt", "det"]) -> Path:
    """``SEQ/gt/gt.txt`` (``SEQ/det/det.txt``), or ``SEQ/gt.txt`` where only that exists (``SEQ`` not ``gt/``)."""
    nested, flat = folder / kind / f"{kind}.txt", folder / f"{kind}.txt"
    flat_layout = flat.is_file() and not nested.is_file() and folder.name not in ("gt", "det")
    return flat if flat_layout else nested


def is_sequence(folder: Path) -> bool:
    """A folder with a ``seqinfo.ini``, ground truth or public detections."""
    return (folder / "seqinfo.ini").is_file() or box_file(folder, "gt").is_file() or box_file(folder, "det").is_file()


def sequence_info(folder: Path) -> SequenceInfo:
    """The folder's ``seqinfo.ini``; without one, frames 1 to the last of its ground truth (else detections)."""
    if (folder / "seqinfo.ini").is_file():
        return read_seqinfo(folder)
    kind: Literal["gt", "det"] = "gt" if box_file(folder, "gt").is_file() else "det"
    rows = read_mot_txt(box_file(folder, kind))
    length = int(rows[:, 0].max()) if len(rows) else 0
    return SequenceInfo(folder.name, folder, "img1", length, 0, 0, ".jpg", 30.0)


def find_sequences(root: Path, sequences: Sequence[str] | None = None) -> list[Path]:
    """Sequence folders under ``root`` (:func:`is_sequence`, sorted), or the named ones."""
    if not root.is_dir():
        raise DataError(f"MOTChallenge root not found: {root}")
    if sequences is not None:
        missing = [name for name in sequences if not (root / name).is_dir()]
        if missing:
            raise DataError(f"{root}: sequence folder(s) not found: {', '.join(missing)}")
        return [root / name for name in sequences]
    found = sorted(p for p in root.iterdir() if p.is_dir() and is_sequence(p))
    return found


def _sequence_columns(
    rows: npt.NDArray[np.float64],
    source: Source,
    path: Path,
    source_id: int,
    video: str,
    frame_numbers: npt.NDArray[np.int64],
    image_prefix: str,
    extension: str,
    width: int,
    height: int,
) -> RawColumns:
    """Columns of one sequence: ``frame_numbers`` (1-based) are its frames, ``rows`` its boxes."""
    line = np.arange(1, len(rows) + 1, dtype=np.int64)
    frame = rows[:, 0].astype(np.int64)
    if source == "gt":
        num_columns = rows.shape[1]
        consider = rows[:, 6] if num_columns > 6 else np.ones(len(rows))
        column = rows[:, 7] if num_columns > 7 else np.full(len(rows), -1.0)
        # MOT16 on: a class id; MOT15: world coordinates (x, y, z), or -1 for 2D-only sequences.
        classes = column.astype(np.int64)
        if (column == -1).all() or not (column == np.round(column)).all():
            classes = np.ones(len(rows), np.int64)
        keep = ((classes == PEDESTRIAN_CLASS) & (consider != 0)) | np.isin(classes, DISTRACTOR_CLASSES)
        rows, frame, line, classes = rows[keep], frame[keep], line[keep], classes[keep]
        class_name_table = np.array([MOT_CLASS_NAMES.get(c, "") for c in range(max(MOT_CLASS_NAMES) + 1)], np.str_)
        names = class_name_table[classes]
        scores = np.ones(len(rows), np.float32)
        track_ids = rows[:, 1].astype(np.int64)
    else:
        names = np.full(len(rows), MOT_CLASS_NAMES[PEDESTRIAN_CLASS])
        scores = (rows[:, 6] if rows.shape[1] > 6 else np.ones(len(rows))).astype(np.float32)
        track_ids = rows[:, 1].astype(np.int64) if source == "results" else np.full(len(rows), -1, np.int64)

    frame_row = np.searchsorted(frame_numbers, frame)
    last_row = np.minimum(frame_row, max(len(frame_numbers) - 1, 0))
    valid = (frame_row < len(frame_numbers)) & (frame_numbers[last_row] == frame if len(frame_numbers) else False)
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise MalformedFile(
            f"{path}: line {int(line[bad])}: frame {int(frame[bad])} is outside the sequence's frames "
            f"1..{int(frame_numbers[-1]) if len(frame_numbers) else 0}"
        )
    order = np.argsort(frame_row, kind="stable")
    boxes = rows[order, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    frame_names = np.char.add(np.char.zfill(frame_numbers.astype(np.str_), 6), extension)
    num_frames = len(frame_numbers)
    return RawColumns(
        sources=[],
        frame_sources=np.full(num_frames, source_id, dtype=np.int64),
        video_names=np.full(num_frames, video),
        frame_names=frame_names.astype(np.str_),
        frame_index=frame_numbers - 1,
        image_paths=np.char.add(image_prefix, frame_names).astype(np.str_),
        widths=np.full(num_frames, width, dtype=np.int32),
        heights=np.full(num_frames, height, dtype=np.int32),
        box_counts=np.bincount(frame_row, minlength=num_frames).astype(np.int64),
        boxes=boxes,
        category_names=names[order],
        track_ids=track_ids[order],
        scores=scores[order],
        crowd=np.zeros(len(rows), dtype=bool),
        ignore=np.zeros(len(rows), dtype=bool),
        occluded=np.zeros(len(rows), dtype=bool),
        truncated=np.zeros(len(rows), dtype=bool),
        label_index=line[order],
        location_kind="line",
    )


def motchallenge_source_files(
    root: str | Path,
    sequences: Sequence[str] | None = None,
    use_public_detections: bool = False,
    results_dir: str | Path | None = None,
) -> list[Path]:
    """Files a MOTChallenge load reads (seqinfo and box files), for the cache key."""
    folders = find_sequences(Path(root), sequences)
    if not folders:
        return sorted(Path(root).glob("*.txt"))
    files: list[Path] = []
    for folder in folders:
        files += [folder / "seqinfo.ini"] if (folder / "seqinfo.ini").is_file() else [box_file(folder, "gt")]
        if results_dir is not None:
            files.append(Path(results_dir) / f"{folder.name}.txt")
        else:
            files.append(box_file(folder, "det" if use_public_detections else "gt"))
    return files


def parse_motchallenge(
    root: str | Path,
    sequences: Sequence[str] | None = None,
    use_public_detections: bool = False,
    results_dir: str | Path | None = None,
    on_malformed: Literal["fail", "skip"] = "fail",
    assume_missing_scores: bool = False,
) -> RawColumns:
    """Raw columns of all sequences; a root without sequence folders is read as a folder of tracker outputs.

    Tracker output without the score column (7th) is a
    :class:`MissingScoreError` unless ``assume_missing_scores`` scores it 1.0.
    """
    root_path = Path(root)
    folders = find_sequences(root_path, sequences)
    source: Source = "results" if results_dir is not None else ("det" if use_public_detections else "gt")
    parts: list[RawColumns] = []
    sources: list[str] = []
    if not folders:
        # Tracker output without sequence infos: frames are those that have boxes.
        files = sorted(root_path.glob("*.txt"))
        if not files:
            raise DataError(f"{root_path}: no sequence folders with seqinfo.ini and no <SEQ>.txt result files")
        for file in files:
            sources.append(str(file))
            try:
                rows = _scored(read_mot_txt(file), file, assume_missing_scores)
                frames = np.unique(rows[:, 0].astype(np.int64))
                part = _sequence_columns(rows, "results", file, len(sources) - 1, file.stem, frames, "", ".jpg", 0, 0)
            except MalformedFile as error:
                _handle_malformed(error, on_malformed)
                continue
            parts.append(part)
        return concat_raw(parts, sources)

    if results_dir is not None:  # motmetrics' convention: sequences without a tracker file are not evaluated
        folders = _with_results(folders, Path(results_dir))
    for folder in folders:
        if results_dir is not None:
            file = Path(results_dir) / f"{folder.name}.txt"
        else:
            file = box_file(folder, "det" if use_public_detections else "gt")
        sources.append(str(file))
        try:
            info = sequence_info(folder)
            rows = read_mot_txt(file)
            if source == "results":
                rows = _scored(rows, file, assume_missing_scores)
            frames = np.arange(1, info.length + 1, dtype=np.int64)
            prefix = f"{(folder / info.image_dir).resolve()}/"
            part = _sequence_columns(
                rows, source, file, len(sources) - 1, folder.name, frames, prefix, info.extension, info.width,
                info.height,
            )  # fmt: skip
        except MalformedFile as error:
            _handle_malformed(error, on_malformed)
            continue
        parts.append(part)
    return concat_raw(parts, sources)


def _with_results(folders: list[Path], results_dir: Path) -> list[Path]:
    """The sequences that have a tracker file ``results_dir/SEQ.txt``; the others left out with one warning."""
    kept = [folder for folder in folders if (results_dir / f"{folder.name}.txt").is_file()]
    if not kept:
        raise DataError(f"{results_dir}: no tracker output <SEQ>.txt for any sequence ({folders[0].name}, ...)")
    if len(kept) < len(folders):
        missing = [folder.name for folder in folders if folder not in kept]
        warn(f"{results_dir} has no tracker output for {len(missing)} of {len(folders)} sequences, left out of "
             f"the evaluation: {', '.join(missing)}")  # fmt: skip
    return kept


def _scored(rows: npt.NDArray[np.float64], path: Path, assume_missing_scores: bool) -> npt.NDArray[np.float64]:
    """Tracker output rows, refused without a score column unless scores of 1.0 are assumed."""
    if len(rows) == 0 or rows.shape[1] > 6:
        return rows
    if not assume_missing_scores:
        raise MissingScoreError(f"{path}: line 1: tracker output without a score (column 7; the file has 6 columns)")
    return np.concatenate([rows, np.ones((len(rows), 1))], axis=1)


def _handle_malformed(error: MalformedFile, on_malformed: Literal["fail", "skip"]) -> None:
    if on_malformed == "fail":
        raise DataError(str(error)) from None
    warn(f"skipping malformed file: {error}")


def load_motchallenge(
    root: str | Path,
    categories: Sequence[str] | None = None,
    *,
    sequences: Sequence[str] | None = None,
    use_public_detections: bool = False,
    results_dir: str | Path | None = None,
    options: LoadOptions = DEFAULT_LOAD_OPTIONS,
) -> AnnotationStore:
    """Load MOTChallenge ground truth, public detections, or tracker output.

    * ``load_motchallenge(root)``: ``<root>/<SEQ>/gt/gt.txt`` of every sequence.
    * ``use_public_detections=True``: ``<SEQ>/det/det.txt`` instead.
    * ``results_dir=PRED``: ``PRED/<SEQ>.txt`` for every sequence of ``root``
      (frames and image sizes from the seqinfo files), for evaluation.
    * ``root`` holding only ``<SEQ>.txt`` files: tracker output on its own
      (frames are those with boxes, image names ``%06d.jpg``).

    ``categories=None`` gives ``("pedestrian",)`` (distractors are mapped to it
    as ignore regions). A config with another name for pedestrians maps it with
    ``name_mapping={"pedestrian": "person"}`` and the same in ``ignored_mapping``.
    """
    raw = parse_motchallenge(
        root, sequences, use_public_detections, results_dir, options.on_malformed, options.assume_missing_scores
    )
    return finalize(raw, _mapper(categories, options), options, renumber_tracks=False,
                    predictions=results_dir is not None)  # fmt: skip


def _mapper(categories: Sequence[str] | None, options: LoadOptions) -> CategoryMapper:
    """MOTChallenge's names onto ``categories``: the distractor classes are ignore regions of pedestrians."""
    ignored = dict(DEFAULT_IGNORED_MAPPING)
    if "pedestrian" in options.name_mapping:
        ignored = {name: options.name_mapping["pedestrian"] for name in ignored}
    ignored.update(options.ignored_mapping)
    return CategoryMapper(categories, options.name_mapping, ignored, options.unknown_categories)


def load_motchallenge_file(
    path: str | Path,
    video: str,
    info: SequenceInfo | None = None,
    categories: Sequence[str] | None = None,
    options: LoadOptions = DEFAULT_LOAD_OPTIONS,
    source: Source = "det",
    length: int | None = None,
) -> AnnotationStore:
    """One box file as the video ``video``: detections (``det.txt``), ground truth (``gt.txt``) or tracker output.

    Frames are ``info``'s (``seqinfo.ini``), else 1 to ``length``, else 1 to
    the last frame with a box (a tracker steps through frames without boxes
    too): ``vis4d track`` on a ``det.txt``, ``vis4d eval --gt SEQ/gt/gt.txt``.
    """
    file = Path(path)
    try:
        rows = read_mot_txt(file)
        if source == "results":
            rows = _scored(rows, file, options.assume_missing_scores)
        last = int(rows[:, 0].max()) if len(rows) else 0
        count = info.length if info is not None else (length if length is not None else last)
        frames = np.arange(1, count + 1, dtype=np.int64)
        if info is None:  # no image is known: image paths stay empty
            raw = _sequence_columns(rows, source, file, 0, video, frames, "", ".jpg", 0, 0)
            raw.image_paths = np.full(len(frames), "", dtype=np.str_)
        else:
            prefix = f"{(info.directory / info.image_dir).resolve()}/"
            raw = _sequence_columns(rows, source, file, 0, video, frames, prefix, info.extension, info.width,
                                    info.height)  # fmt: skip
    except MalformedFile as error:
        raise DataError(str(error)) from None
    raw.sources = [str(file)]
    return finalize(raw, _mapper(categories, options), options, renumber_tracks=False, predictions=source == "results")
