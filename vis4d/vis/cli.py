"""``vis4d vis``: draw predictions (and ground truth) on their images.

    vis4d vis --pred PRED [--gt GT] [--images DIR] --output OUT [--format F] [--config CFG] [--video] [--fps 10]

Formats (``--format``; ``auto`` picks ``scalabel`` without ``--gt`` and detects
the format of ``--gt`` otherwise, as ``vis4d eval`` does):

* ``scalabel`` / ``bdd100k``: ``--pred`` / ``--gt`` are Scalabel JSON: a list
  of frames, ``{"frames": [...]}``, or a folder of such files (one per video).
  Each frame's image is looked up as ``DIR/<videoName>/<name>`` and then
  ``DIR/<name>`` (``--images`` is required).
* ``motchallenge``: ``--gt`` is a MOTChallenge root, ``--pred`` a folder of ``SEQ.txt``
  tracker outputs; images come from the sequences' ``img1`` folders. Without
  ``--gt``, ``--images`` is what ``predict --input_dir`` ran on (a folder of
  images, of subfolders of images, or of video files, or one video file): it
  is numbered the same way, so frame N of ``<video>.txt`` is the N-th image of
  ``<video>``'s folder in natural name order (1-based, as MOTChallenge counts),
  and every frame of a predicted video is drawn. A ``--pred`` folder of
  ``.txt`` files is detected as ``motchallenge`` without ``--gt`` too.
* ``coco``: ``--gt`` is a COCO instances file, ``--pred`` a COCO results file;
  ``--images`` is the image folder the file names are relative to.

With ``--gt`` the ground truth is drawn on the left and the predictions on the
right, each under a title; frames that only one side has are drawn too (with
an empty other side). Pictures go to ``OUT/<videoName>/<frame>.jpg``;
``--video`` adds ``OUT/<videoName>.mp4`` per video.

Colours: frames of videos are coloured by track id (Scalabel label ``id``:
integer ids as they are, other strings by a CRC32 of the string, so colours
are stable across runs); frames without a video (detection, COCO) by
category. Crowd and ignored boxes are drawn as hatched ignore regions.

The Scalabel reader here is deliberately small (it only needs boxes for
drawing, no categories); MOTChallenge and COCO files go through the
validating loaders of their format entries (:mod:`vis4d.data.pairs`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.errors import ConfigError, DataError, Vis4DError, one_line
from vis4d.common.io import read_json
from vis4d.common.names import UniqueNames
from vis4d.common.parser import ArgumentParser
from vis4d.common.paths import check_output_folder
from vis4d.data.formats import LabelOptions, get_format
from vis4d.data.io import VIDEO_SUFFIXES, decode_image, is_video_frame, split_video_frame
from vis4d.data.pairs import FORMAT_CHOICES, load_gt_and_predictions, load_label_options, resolve_format
from vis4d.data.store import AnnotationStore
from vis4d.vis.draw import add_title, draw_predictions, side_by_side
from vis4d.vis.writer import FrameVisualizer


@dataclasses.dataclass
class DrawFrame:
    """The boxes of one Scalabel frame, as arrays ready for drawing."""

    name: str
    video_name: str
    frame_index: int
    boxes: np.ndarray  # (K, 4) float32 xyxy
    categories: list[str]
    track_ids: np.ndarray  # (K,) int64
    scores: np.ndarray | None  # (K,) float32, None when no label has a score
    ignore: np.ndarray  # (K,) bool: crowd regions
    image_path: str = ""  # known by the loaders of formats that locate their images (MOT, COCO)


def _track_id_number(label_id: object) -> int:
    """Integer for colouring: the id itself if numeric, else a CRC32 (stable across runs, unlike ``hash``)."""
    text = str(label_id)
    return int(text) if text.lstrip("-").isdigit() else zlib.crc32(text.encode("utf-8"))


def _parse_frame(frame: Any, source: Path, position: int) -> DrawFrame:
    if not isinstance(frame, dict) or "name" not in frame:
        raise DataError(f"{source}: frame {position} is not an object with a 'name'")
    labels = frame.get("labels") or []
    if not isinstance(labels, list):
        raise DataError(f"{source}: frame {frame['name']!r}: 'labels' must be a list")
    with_box = [lab for lab in labels if isinstance(lab, dict) and isinstance(lab.get("box2d"), dict)]
    try:
        boxes = np.array(
            [[float(lab["box2d"][k]) for k in ("x1", "y1", "x2", "y2")] for lab in with_box], dtype=np.float32
        ).reshape(-1, 4)
        scores_given = [lab.get("score") for lab in with_box]
        scores = (
            np.array(scores_given, dtype=np.float32) if with_box and all(s is not None for s in scores_given) else None
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(
            f"{source}: frame {frame['name']!r}: box2d needs numeric x1, y1, x2, y2 and score must be a number "
            f"({error})"
        ) from error
    not_finite = ~np.isfinite(boxes).all(axis=1)
    if not_finite.any():  # drawn, such a box would be a line across the picture from an undefined corner
        first = int(np.flatnonzero(not_finite)[0])
        raise DataError(
            f"{source}: frame {frame['name']!r} label {labels.index(with_box[first])}: box2d has a NaN or infinite "
            f"coordinate ({', '.join(f'{v:g}' for v in boxes[first])}); {int(not_finite.sum())} such box(es)"
        )
    return DrawFrame(
        name=str(frame["name"]),
        video_name=str(frame.get("videoName") or ""),
        frame_index=int(frame.get("frameIndex", position)),
        boxes=boxes,
        categories=[str(lab.get("category", "?")) for lab in with_box],
        track_ids=np.array([_track_id_number(lab.get("id", i)) for i, lab in enumerate(with_box)], dtype=np.int64),
        scores=scores,
        ignore=np.array([bool((lab.get("attributes") or {}).get("crowd", False)) for lab in with_box], dtype=bool),
    )


def read_scalabel_for_drawing(path: Path) -> list[DrawFrame]:
    """Frames of a Scalabel file, or of every ``*.json`` in a folder (sorted by file name)."""
    if not path.exists():
        raise DataError(f"Scalabel file not found: {path}")
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: folder holds no .json files")
    frames: list[DrawFrame] = []
    for file in files:
        data = read_json(file, "Scalabel JSON")
        if isinstance(data, dict) and isinstance(data.get("frames"), list):
            data = data["frames"]
        if not isinstance(data, list):
            raise DataError(f"{file}: expected a list of frames or an object with 'frames'")
        frames.extend(_parse_frame(frame, file, i) for i, frame in enumerate(data))
    if not frames:
        raise DataError(f"{path}: holds no frames; expected at least one frame to draw")
    return frames


def frames_from_store(store: AnnotationStore, with_videos: bool = True) -> list[DrawFrame]:
    """The frames of a store as drawing frames (``with_videos=False``: colour by category, flat output)."""
    video_of_frame = store.frame_video_ids()
    frames = []
    for row in range(store.num_frames):
        boxes = store.box_slice(row)
        frames.append(
            DrawFrame(
                name=str(store.frame_names[row]),
                video_name=str(store.video_names[video_of_frame[row]]) if with_videos else "",
                frame_index=int(store.frame_index[row]),
                boxes=store.boxes[boxes],
                categories=[store.categories[c] for c in store.class_ids[boxes].tolist()],
                track_ids=store.track_ids[boxes],
                scores=store.scores[boxes],
                ignore=store.ignore[boxes] | store.crowd[boxes],
                image_path=str(store.image_paths[row]),
            )
        )
    return frames


def find_image(images_dir: Path | None, frame: DrawFrame) -> Path:
    """The frame's own image path, else ``DIR/<videoName>/<name>``, else ``DIR/<name>``; DataError naming all."""
    if is_video_frame(frame.image_path) and Path(split_video_frame(frame.image_path)[0]).is_file():
        return Path(frame.image_path)  # a frame of a video file, decoded by index
    candidates = [Path(frame.image_path)] if frame.image_path else []
    if images_dir is not None:
        candidates += [images_dir / frame.video_name / frame.name] if frame.video_name else []
        candidates.append(images_dir / frame.name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not candidates:
        raise DataError(f"image of frame {frame.name!r} unknown; pass --images")
    raise DataError(f"image of frame {frame.name!r} not found; looked for " + " and ".join(str(c) for c in candidates))


def check_images_option(images_dir: Path | None) -> None:
    """``--images`` is a folder, or a video file (the input ``predict`` ran on, for MOTChallenge predictions)."""
    if images_dir is not None and not images_dir.exists():
        raise DataError(f"--images: image folder not found: {images_dir}")
    if images_dir is not None and images_dir.is_file() and images_dir.suffix.lower() not in VIDEO_SUFFIXES:
        raise DataError(f"--images: {images_dir} is a file; expected an image folder (or the video predict ran on)")


def _holds_mot_results(path: Path) -> bool:
    """A folder of ``<video>.txt`` files and no JSON: MOTChallenge tracker output as ``predict`` writes it."""
    return path.is_dir() and any(path.glob("*.txt")) and not any(path.glob("*.json"))


def mot_predictions_on_images(pred_path: Path, images: Path | None, labels: LabelOptions) -> list[DrawFrame]:
    """MOTChallenge ``<video>.txt`` files drawn on the frames ``predict --input_dir`` numbered (no ground truth).

    ``images`` is scanned exactly as ``predict --input_dir`` scans its input
    (:func:`~vis4d.data.datasets.image_folder.scan_input_dir`: natural name
    order, one video per folder or video file), and its video names are made
    file names as the writer makes them, so ``<video>.txt`` finds its frames
    by name and frame N is the N-th of them. Every frame of a predicted video
    is drawn, those without boxes too (a video's pictures stay complete).
    """
    from vis4d.data.datasets.image_folder import scan_input_dir
    from vis4d.data.datasets.motchallenge import load_motchallenge

    if images is None:
        raise DataError(
            "--images is required for motchallenge predictions without --gt: the images or videos predict ran on "
            "(frame N of <video>.txt is the N-th image of <video>'s folder, in name order)"
        )
    pred = load_motchallenge(pred_path, labels.categories, options=labels.load_options())
    source = scan_input_dir(images)
    file_names = UniqueNames()
    video_rows = {file_names(str(name)): v for v, name in enumerate(source.video_names)}
    pred_frames = frames_from_store(pred)
    frames: list[DrawFrame] = []
    for v, video in enumerate(pred.video_names.tolist()):
        if video not in video_rows:
            raise DataError(f"{pred_path / video}.txt: --images {images} has no video {video!r} (it has "
                            f"{sorted(video_rows)}); pass the folder predict --input_dir ran on")  # fmt: skip
        image_rows = source.frame_range(video_rows[video])
        predicted = {pred_frames[f].frame_index: pred_frames[f] for f in pred.frame_range(v)}
        last = max(predicted, default=-1)
        if last >= len(image_rows):
            raise DataError(f"{pred_path / video}.txt: frame {last + 1}, but {video!r} under --images {images} has "
                            f"{len(image_rows)} frames")  # fmt: skip
        for index, row in enumerate(image_rows):
            frame = predicted.get(index) or DrawFrame("", video, index, np.zeros((0, 4), np.float32), [],
                                                      np.zeros(0, np.int64), None, np.zeros(0, bool))  # fmt: skip
            frames.append(dataclasses.replace(frame, name=str(source.frame_names[row]),
                                              image_path=str(source.image_paths[row])))  # fmt: skip
    return frames


def read_for_drawing(
    fmt: str, pred_path: Path, gt_path: Path | None, images_dir: Path | None, config: str | None = None
) -> tuple[list[DrawFrame], list[DrawFrame] | None]:
    """Predictions and (with ``gt_path``) ground truth of ``fmt`` as drawing frames."""
    check_images_option(images_dir)
    labels = load_label_options(config)
    if fmt == "auto" and gt_path is None:
        fmt = "motchallenge" if _holds_mot_results(pred_path) else "scalabel"
    entry = resolve_format(fmt, gt_path, labels) if gt_path is not None else get_format(fmt)
    if entry.name in ("scalabel", "bdd100k"):  # drawn from the JSON as it is: no category list needed
        if images_dir is None:
            raise DataError(f"--images is required for {entry.name} predictions (the image folder)")
        preds = read_scalabel_for_drawing(pred_path)
        return preds, read_scalabel_for_drawing(gt_path) if gt_path is not None else None
    if gt_path is None and entry.name == "motchallenge":
        if not pred_path.exists():
            raise DataError(f"--pred: {pred_path} does not exist")
        return mot_predictions_on_images(pred_path, images_dir, labels), None
    if gt_path is None:
        raise DataError(f"--format {entry.name} needs --gt: the predictions refer to its frames and images")
    # Drawing needs no ground-truth category for a box: predicted categories the ground truth lacks are drawn too.
    gt, pred = load_gt_and_predictions(entry, gt_path, pred_path, labels, image_root=images_dir,
                                       unknown_predictions="keep")  # fmt: skip
    return frames_from_store(pred, entry.track_ids), frames_from_store(gt, entry.track_ids)


def _ordered_keys(*frame_lists: Sequence[DrawFrame]) -> list[tuple[str, str]]:
    """(video, name) of every frame, videos in first-seen order and frames by frame index within a video."""
    first_seen: dict[str, int] = {}
    index: dict[tuple[str, str], int] = {}
    for frames in frame_lists:
        for frame in frames:
            first_seen.setdefault(frame.video_name, len(first_seen))
            index.setdefault((frame.video_name, frame.name), frame.frame_index)
    return sorted(index, key=lambda key: (first_seen[key[0]], index[key], key[1]))


def _draw(image: np.ndarray, frame: DrawFrame | None, class_names: Sequence[str]) -> np.ndarray:
    if frame is None:
        return draw_predictions(image, np.zeros((0, 4)), class_names, np.zeros(0, np.int64))
    keep = ~frame.ignore
    class_index = {name: i for i, name in enumerate(class_names)}
    class_ids = np.array([class_index[c] for c in frame.categories], dtype=np.int64)
    return draw_predictions(
        image,
        frame.boxes[keep],
        class_names,
        class_ids[keep],
        None if frame.scores is None else frame.scores[keep],
        frame.track_ids[keep] if frame.video_name else None,
        ignore_boxes=frame.boxes[frame.ignore],
    )


def visualize(
    preds: Sequence[DrawFrame],
    gts: Sequence[DrawFrame] | None,
    images_dir: Path | None,
    output: Path,
    video: bool = False,
    fps: float = 10,
) -> tuple[int, list[Path]]:
    """Draw every frame (ground truth left, predictions right when ``gts``); returns pictures and videos written."""
    check_images_option(images_dir)
    class_names = sorted({c for frame in [*(gts or []), *preds] for c in frame.categories})
    pred_by_key = {(f.video_name, f.name): f for f in preds}
    gt_by_key = {(f.video_name, f.name): f for f in gts or []}
    visualizer = FrameVisualizer(output, class_names, write_images=True, write_video=video, fps=fps)
    count = 0
    try:
        for key in _ordered_keys(preds, gts or []):
            pred, gt = pred_by_key.get(key), gt_by_key.get(key)
            frame = pred if pred is not None else gt
            assert frame is not None
            # Decoded as training and inference decode (EXIF orientation applied), so boxes land where predicted.
            image = np.ascontiguousarray(decode_image(str(find_image(images_dir, frame))).permute(1, 2, 0).numpy())
            drawn = _draw(image, pred, class_names)
            if gts is not None:
                drawn = side_by_side(
                    add_title(_draw(image, gt, class_names), "ground truth"), add_title(drawn, "predictions")
                )
            visualizer.write_frame(drawn, frame.video_name, frame.name)
            count += 1
    except BaseException:
        visualizer.abort()
        raise
    return count, visualizer.close()


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d vis``."""
    parser = ArgumentParser(prog="vis4d vis", description="Draw predictions (and ground truth) on images.")
    parser.add_argument("--pred", required=True, type=Path, help="Predictions: Scalabel file/folder, MOT results "
                        "folder or COCO results file.")  # fmt: skip
    parser.add_argument("--gt", type=Path, help="Ground truth, drawn on the left (required for coco).")
    parser.add_argument("--images", type=Path, help="Image root: DIR/<videoName>/<name> or DIR/<name> (scalabel; "
                        "coco: the folder of the file names; motchallenge without --gt: what predict --input_dir "
                        "ran on).")  # fmt: skip
    parser.add_argument("--output", required=True, type=Path, help="Output folder.")
    parser.add_argument("--format", default="auto", choices=FORMAT_CHOICES, help="Input format (default: detect).")
    parser.add_argument("--config", help="A vis4d config or a label config (categories, mappings), for "
                        "motchallenge and coco.")  # fmt: skip
    parser.add_argument("--video", action="store_true", help="Also write one MP4 per video.")
    parser.add_argument("--fps", type=float, default=10.0, help="Frame rate of the MP4s (default 10).")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``vis4d vis``; errors in the input are one line on stderr and exit code 2."""
    try:
        args = build_parser().parse_args(argv)
        if not 0 < args.fps < float("inf"):
            raise ConfigError(f"--fps: expected a positive frame rate, got {args.fps:g}")
        check_output_folder(args.output, "--output")
        preds, gts = read_for_drawing(args.format, args.pred, args.gt, args.images, args.config)
        count, videos = visualize(preds, gts, args.images, args.output, args.video, args.fps)
    except Vis4DError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    print(f"wrote {count} pictures" + (f" and {len(videos)} videos" if args.video else "") + f" to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
