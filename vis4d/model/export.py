"""A model's network as one graph for ONNX or TorchScript: image in; boxes, scores, classes, embeddings out.

What is in the graph: the detector as its :meth:`Detector.detect
<vis4d.model.detect.base.Detector.detect>` computes it (Faster R-CNN: the
backbone and FPN, the RPN with anchors, top-k and NMS, the RoI box head with
decoding, clipping, score threshold and per-class NMS) and, for QDTrack, the
similarity head on every detection. What stays in Python:
the tracker graph (which detections are candidates, association, track
memory), which runs on the graph's outputs exactly as in
:meth:`QDTrack.predict <vis4d.model.track.qdtrack.QDTrack.predict>`. The
similarity head embeds every box independently, so embedding all detections
in the graph and taking the candidates' rows afterwards gives the numbers
``predict`` computes for the candidates alone.

The graph is built from the model's own modules (no second implementation of
the detector). Their sizes and counts are computed from tensor shapes while
tracing, so one exported file takes any image size: ``image`` is one
normalised, padded image (1, 3, H, W) as the data handler makes it and
``image_size`` its unpadded (h, w) (int64), used for clipping as
``batch.image_sizes`` is.

The exported file carries :func:`export_metadata` (vis4d version, model
type, categories, embedding size, the config's model section), which
:mod:`vis4d.model.exported` checks against the config it runs with.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Iterator, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from vis4d.common.errors import ConfigError
from vis4d.common.io import atomic_open
from vis4d.model.base import Vis4DModel
from vis4d.model.detect.base import Detector
from vis4d.model.track.qdtrack import QDTrack

# Names of the graph's inputs and outputs (an embeddings output only for models with a similarity head).
INPUT_NAMES = ("image", "image_size")
DETECTION_OUTPUTS = ("boxes", "scores", "class_ids")
EMBEDDING_OUTPUT = "embeddings"
ExportFormat = Literal["onnx", "torchscript"]
FORMATS: tuple[ExportFormat, ...] = ("onnx", "torchscript")
# ONNX opset: 16 is the first whose RoiAlign has half-pixel (``aligned``) sampling.
OPSET = 17
# The example image traced: any size works (the graph is dynamic); divisible by every FPN stride.
EXAMPLE_SIZE = (256, 384)
# TorchScript files keep the metadata as an extra file of this name (vis4d.model.exported reads it).
TORCHSCRIPT_METADATA = "vis4d.json"
# Version of the file contract (inputs, outputs, metadata keys); raised when any of them changes.
EXPORT_FORMAT_VERSION = 1
# Sections of the model config that do not change the exported graph: the tracker runs in Python, the rest is
# training (the initial weights are already in the graph). A config may differ from the exported one in these.
NOT_IN_GRAPH = ("name", "weights", "optimizer", "lr_scheduler", "tracker", "track_sampler", "track_loss")


class ExportableDetector(nn.Module):
    """One image through a vis4d model's detector and (QDTrack) similarity head: the graph that is exported."""

    def __init__(self, model: Vis4DModel) -> None:
        super().__init__()
        detector = getattr(model, "detector", None)
        if not isinstance(detector, Detector):
            raise ConfigError(f"vis4d export: model type {type(model).__name__} has no detector to export")
        self.detector = detector
        self.similarity_head = model.similarity_head if isinstance(model, QDTrack) else None

    @property
    def output_names(self) -> tuple[str, ...]:
        """The graph's outputs, in order."""
        return (*DETECTION_OUTPUTS, EMBEDDING_OUTPUT) if self.similarity_head is not None else DETECTION_OUTPUTS

    def forward(self, image: Tensor, image_size: Tensor) -> tuple[Tensor, ...]:
        """Boxes (N, 4) xyxy input pixels, scores (N,), class ids (N,) int64 [, embeddings (N, D)] of one image."""
        sizes = image_size.reshape(1, 2)
        features = self.detector.extract_features(image)
        det = self.detector.detect(features, sizes)[0]  # type: ignore[arg-type]  # a (1, 2) tensor while tracing
        if self.similarity_head is None:
            return det.boxes, det.scores, det.class_ids
        # One extra box, whose row is dropped: ONNX Runtime cannot run GroupNorm's export on zero boxes (a
        # frame without detections), and every box is embedded on its own, so the others' rows do not change.
        boxes = torch.cat((det.boxes, det.boxes.new_zeros((1, 4))))
        return det.boxes, det.scores, det.class_ids, self.similarity_head.embed_boxes(features, [boxes])[:-1]


def vis4d_version() -> str:
    """The installed vis4d's version (``unknown`` when run from a source tree that is not installed)."""
    try:
        return importlib_metadata.version("vis4d")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def graph_config(model_config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a model config (``model_dump``) that the exported graph depends on."""
    return {key: value for key, value in model_config.items() if key not in NOT_IN_GRAPH}


def export_metadata(
    wrapper: ExportableDetector, model_config: dict[str, Any], categories: Sequence[str]
) -> dict[str, str]:
    """What an exported file says about itself: string keys and values (ONNX ``metadata_props``)."""
    head = wrapper.similarity_head
    return {
        "vis4d_format": str(EXPORT_FORMAT_VERSION),
        "vis4d_version": vis4d_version(),
        "model_type": str(model_config["type"]),
        "categories": json.dumps(list(categories)),
        "num_classes": str(len(categories)),
        "embedding_dim": str(head.embedding_dim if head is not None else 0),
        "inputs": json.dumps(list(INPUT_NAMES)),
        "outputs": json.dumps(list(wrapper.output_names)),
        "model_config": json.dumps(model_config, sort_keys=True),
    }


def example_inputs(height: int, width: int) -> tuple[Tensor, Tensor]:
    """An input pair to trace with: a random normalised image (1, 3, H, W) and its size.

    Random values suffice: the traced graph does not depend on the example's
    values or on how many boxes it yields.
    """
    generator = torch.Generator().manual_seed(0)
    return torch.randn((1, 3, height, width), generator=generator), torch.tensor([height, width], dtype=torch.int64)


@contextlib.contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence the tracer's generic warnings: the code it traces keeps sizes as tensors on purpose (tests check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", ".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", ".*torch.jit.script.* is deprecated.*")
        warnings.filterwarnings("ignore", ".*advanced indexing.*")
        warnings.filterwarnings("ignore", ".*torch.jit.(trace|save).* is deprecated.*")
        yield


def export_model(wrapper: ExportableDetector, meta: dict[str, str], path: str | Path, fmt: ExportFormat) -> None:
    """Write ``wrapper``'s graph with ``meta`` to ``path`` (atomically) as ONNX or TorchScript.

    ONNX goes through torch's TorchScript-based exporter (``dynamo=False``):
    it traces the model's own code, torchvision registers its NMS and RoIAlign
    for it, and the image's height and width stay dynamic axes.
    """
    wrapper = wrapper.eval()
    example = example_inputs(*EXAMPLE_SIZE)
    detections = {name: {0: "detections"} for name in wrapper.output_names}
    with torch.no_grad(), _quiet_tracing(), atomic_open(path, "wb") as handle:
        if fmt == "torchscript":
            traced = torch.jit.trace(wrapper, example, check_trace=False)  # type: ignore[no-untyped-call]
            torch.jit.save(traced, handle, _extra_files={TORCHSCRIPT_METADATA: json.dumps(meta)})
            return
        import onnx

        buffer = io.BytesIO()
        torch.onnx.export(
            wrapper,
            example,
            buffer,  # type: ignore[arg-type]  # a file object works; torch's hint names paths only
            input_names=list(INPUT_NAMES),
            output_names=list(wrapper.output_names),
            dynamic_axes={"image": {2: "height", 3: "width"}, **detections},
            opset_version=OPSET,
            dynamo=False,
        )
        proto = onnx.load_from_string(buffer.getvalue())
        for key, value in meta.items():
            proto.metadata_props.add(key=key, value=value)
        handle.write(proto.SerializeToString())
