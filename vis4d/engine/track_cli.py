"""``vis4d track``: run a tracker of the kit over detection files, without a model, and write the tracks.

    vis4d track --detections FILE --tracker NAME --output DIR [--tracker-options k=v,...] [--images DIR]
                [--reid NAME] [--format F] [--gt FILE] [--categories a,b] [--score-range LO,HI]
                [--output_format scalabel,motchallenge,bdd100k,coco]

``--detections`` is any prediction file vis4d reads (:mod:`vis4d.data.detections`):
a MOTChallenge ``det.txt`` (or a MOTChallenge root, whose sequences' public
detections ``SEQ/det/det.txt`` are tracked), Scalabel / BDD100K JSON, or COCO
/ TAO results with ``--gt`` (the file their image ids refer to). The tracker
is one of the kit's (``--tracker``), configured as ``model.tracker`` is
(``--tracker-options`` takes the same names: ``track_high_thresh=0.6,...``).
Trackers that compensate camera motion read the frames' pixels
(``--images``); ``--reid NAME`` adds appearance from a re-identification
network, cropped from those frames; ``qdtrack`` matches by embeddings only, so
it needs ``--reid``. The tracks are written into ``--output`` in every format
of ``--output_format`` (default: the input's format where vis4d writes it,
else Scalabel): ``tracks.json`` (Scalabel), ``motchallenge/<video>.txt``,
``bdd100k/<video>.json``, ``tracks_coco.json``; ``vis4d eval`` scores them.

Options are checked before any file is read and before torch is imported,
so ``-h`` and a typo answer at once. Bad input is one line ``error: ...`` and
exit code 2; Ctrl-C leaves no partial file (exit code 130).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, DataError
from vis4d.common.parser import ArgumentParser, run_command

# The kit's trackers (vis4d.config.tracker_schema.TRACKER_CONFIGS; a test keeps the two equal) and the formats
# detections are read from (vis4d.data.detections.DETECTION_FORMATS) and written in: listed here so that -h
# imports nothing.
TRACKERS = ("bytetrack", "sort", "ocsort", "botsort", "deepocsort", "iou", "qdtrack")
DETECTION_FORMATS = ("motchallenge", "scalabel", "bdd100k", "coco", "tao")
OUTPUT_FORMATS = ("scalabel", "motchallenge", "bdd100k", "coco")
DATASET_NAME = "tracks"  # tracks.json, tracks_coco.json


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d track``."""
    parser = ArgumentParser(
        prog="vis4d track",
        description="Track detections from a file with a tracker of the kit (no model) and write the tracks.",
    )
    parser.add_argument(
        "--detections",
        required=True,
        type=Path,
        help="Detections: a MOTChallenge det.txt (or a "
        "MOTChallenge root: each SEQ/det/det.txt), Scalabel/BDD100K JSON, COCO/TAO results.",
    )
    parser.add_argument("--tracker", required=True, choices=TRACKERS, help="The tracker (docs/trackers.md).")
    parser.add_argument("--tracker-options", "--tracker_options", dest="tracker_options", metavar="KEY=VALUE,...",
                        help="Tracker settings as model.tracker takes them, e.g. track_high_thresh=0.6,track_buffer=60 "
                        "(docs/config.md lists each tracker's).")  # fmt: skip
    parser.add_argument("--output", required=True, type=Path, help="Folder the track files are written into.")
    parser.add_argument("--output_format", "--output-format", dest="output_format", metavar="FORMATS",
                        help=f"Comma list of {','.join(OUTPUT_FORMATS)} (default: the input's format, else "
                        "scalabel).")  # fmt: skip
    parser.add_argument("--images", type=Path, help="The frames, for trackers that read pixels (camera motion, "
                        "--reid): DIR/<video>/<frame>, DIR/<frame>, a MOTChallenge root, or a video file.")  # fmt: skip
    parser.add_argument("--reid", metavar="NAME", help="Appearance from this re-identification network (vis4d "
                        "weights list: osnet_x0_25_msmt17, ...; or a checkpoint path) for botsort, deepocsort, "
                        "qdtrack; needs --images.")  # fmt: skip
    parser.add_argument("--format", default="auto", choices=("auto", *DETECTION_FORMATS),
                        help="Format of --detections (default: recognised).")  # fmt: skip
    parser.add_argument("--gt", type=Path, help="COCO/TAO results: the instances (or video) file their image ids "
                        "refer to.")  # fmt: skip
    parser.add_argument("--categories", help="Comma list: track only these categories (default: all of the file's).")
    parser.add_argument("--score-range", "--score_range", dest="score_range", metavar="LO,HI",
                        help="Map scores from LO..HI linearly onto 0..1 (detectors that score outside [0, 1], "
                        "e.g. MOT17's DPM).")  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="Show tracebacks instead of one-line errors.")
    return parser


def _comma_list(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{option}: expected a comma list, got {text!r}")
    return items


def output_formats(args: argparse.Namespace) -> list[str] | None:
    """``--output_format`` checked (None: not given, the default is chosen once the input's format is known)."""
    formats = _comma_list(args.output_format, "--output_format")
    if formats is None:
        return None
    unknown = [name for name in formats if name not in OUTPUT_FORMATS]
    if unknown:
        expected = ", ".join(OUTPUT_FORMATS)
        raise ConfigError(f"--output_format: unknown format {unknown[0]!r}; expected one of {expected}")
    return list(dict.fromkeys(formats))


def score_range(text: str | None) -> tuple[float, float] | None:
    """``--score-range LO,HI`` as two numbers with LO < HI."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise ConfigError(f"--score-range: expected two numbers LO,HI, got {text!r}") from None
    if not low < high or not all(abs(v) < float("inf") for v in (low, high)):
        raise ConfigError(f"--score-range: expected finite numbers with LO < HI, got {text!r}")
    return low, high


def tracker_config(name: str, options: str | None, reid: str | None) -> tuple[Any, str | None]:
    """The tracker's config section from ``--tracker-options``, validated, and its re-identification network.

    The network is ``--reid`` or the ``reid`` option (qdtrack has no such
    option in a model, whose similarity head embeds; here it takes one).
    Errors name the option and the key.
    """
    from pydantic import ValidationError

    from vis4d.config.errors import show_value
    from vis4d.config.overrides import OPTION, parse_cfg_options, suggestion
    from vis4d.config.tracker_schema import TRACKER_CONFIGS

    model = TRACKER_CONFIGS[name]
    try:
        values: dict[str, Any] = dict(parse_cfg_options(options or ""))
    except ConfigError as bad:
        raise ConfigError(str(bad).replace(OPTION, "--tracker-options", 1)) from None
    takes_reid = "reid" in model.model_fields or name == "qdtrack"
    if reid is not None and not takes_reid:
        raise ConfigError(f"--reid: the {name} tracker uses no appearance; botsort, deepocsort and qdtrack do")
    reid = reid if reid is not None else (values.pop("reid", None) if name == "qdtrack" else values.get("reid"))
    if "reid" in model.model_fields:
        values["reid"] = reid
    try:
        cfg = model.model_validate({**values, "type": name})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "?"
        if first["type"] == "extra_forbidden":
            fields = [f for f in model.model_fields if f != "type"]
            hint = suggestion(key, fields) or f"; the {name} tracker takes {', '.join(fields)}"
            raise ConfigError(f"--tracker-options: unknown option {key!r} of the {name} tracker{hint}") from None
        message = str(first["msg"])
        message = message[:1].lower() + message[1:]
        raise ConfigError(f"--tracker-options: {key}: {message}, got {show_value(first.get('input'))}") from None
    if name == "qdtrack" and reid is None:
        raise ConfigError("--tracker qdtrack: it matches detections by appearance embeddings, which a detection "
                          "file does not hold; give --reid NAME (and --images), run a qdtrack model (vis4d "
                          "predict), or pick a motion tracker (bytetrack, sort, ocsort, iou)")  # fmt: skip
    return cfg, reid


def check_options(args: argparse.Namespace) -> tuple[Any, str | None]:
    """Everything that can be checked before a file is read: paths, formats, numbers, the tracker's settings."""
    from vis4d.common.paths import check_output_folder

    if not args.detections.exists():
        raise ConfigError(f"--detections: {args.detections} does not exist")
    if args.images is not None and not args.images.exists():
        raise ConfigError(f"--images: {args.images} does not exist")
    if args.gt is not None and not args.gt.is_file():
        raise ConfigError(f"--gt: {args.gt} is not a file")
    check_output_folder(args.output, "--output")
    output_formats(args)
    score_range(args.score_range)
    _comma_list(args.categories, "--categories")
    cfg, reid = tracker_config(args.tracker, args.tracker_options, args.reid)
    if reid is not None and args.images is None:
        raise ConfigError(f"--reid {reid}: appearance is cropped from the frames; give them with --images DIR")
    return cfg, reid


def run(args: argparse.Namespace) -> list[Path]:
    """Check, read, track, write; returns the files written."""
    cfg, reid = check_options(args)
    from vis4d.data.detections import DetectionRequest, detection_format, read_detections
    from vis4d.data.formats import WriterSettings, build_writers

    fmt = args.format if args.format != "auto" else detection_format(args.detections)
    request = DetectionRequest(args.detections, fmt, args.gt, args.images, _comma_list(args.categories,
                               "--categories"), score_range(args.score_range))  # fmt: skip
    store = read_detections(request)
    from vis4d.engine.track_files import build_tracker, close_writers, frame_image_paths, track_store

    tracker = build_tracker(cfg, reid)
    image_paths = None
    if tracker.needs_context:
        try:
            image_paths = frame_image_paths(store, args.images)
        except DataError as missing:
            why = "--reid crops them" if reid is not None else "cmc_method=none in --tracker-options turns that off"
            raise DataError(f"{missing}; {args.tracker} reads the frames' pixels ({why})") from None
    formats = output_formats(args) or [fmt if fmt in OUTPUT_FORMATS else "scalabel"]
    settings = WriterSettings(args.output, DATASET_NAME, store.categories, category_ids=store.category_ids.tolist(),
                              subfolder="")  # fmt: skip
    writers = build_writers(formats, settings)
    summary = track_store(store, tracker, writers, image_paths)
    written = close_writers(writers)
    print(summary.line(args.tracker))
    for path in written:
        print(f"tracks: {path}")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vis4d track``; returns the exit code (2 for bad input, 130 on Ctrl-C)."""
    return run_command(build_parser(), run, argv, interrupted="no track file written")


if __name__ == "__main__":
    sys.exit(main())
