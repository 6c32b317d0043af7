"""Running an exported model (``vis4d export``): the graph in onnxruntime or TorchScript, the tracker in Python.

:class:`ExportedModel` is a :class:`~vis4d.model.base.Vis4DModel`, so
``test``/``predict --backend onnxruntime|torchscript --model FILE`` run the
same data pipeline, writers and evaluators as the PyTorch model. Per image it
feeds the padded, normalised image and its unpadded size to the graph, then
hands the detections (and, for QDTrack, the candidates' rows of the
embeddings) to the tracker graph of the config's ``model.tracker``, as
:meth:`QDTrack.predict <vis4d.model.track.qdtrack.QDTrack.predict>` does.

An exported file says what it is (:func:`vis4d.model.export.export_metadata`);
:func:`check_config` refuses a config whose categories or network differ
from the exported ones (the tracker section may differ: it is not in the
graph). A file that is not an export of this kind is refused with one line.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import Batch, FrameMeta, FramePrediction
from vis4d.model.base import Vis4DModel
from vis4d.model.export import EXPORT_FORMAT_VERSION, TORCHSCRIPT_METADATA, graph_config
from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.video import VideoTracker, with_detections

Backend = Literal["onnxruntime", "torchscript"]
BACKENDS: tuple[Backend, ...] = ("onnxruntime", "torchscript")
# One image (1, 3, H, W) and its (h, w) -> boxes, scores, class ids [, embeddings].
Runner = Callable[[Tensor, Tensor], list[Tensor]]


def _onnx_runner(path: Path, option: str) -> tuple[Runner, dict[str, str]]:
    """An onnxruntime session of ``path`` on the CPU, and the file's metadata."""
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError(f"{option}: onnxruntime is not installed; pip install 'vis4d[export]'") from None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own classes (InvalidProtobuf, Fail, ...) for a bad file
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{option}: {path} is not an ONNX model onnxruntime can load ({reason}); "
                          "make one with vis4d export --format onnx") from None  # fmt: skip
    names = [output.name for output in session.get_outputs()]

    def run(image: Tensor, image_size: Tensor) -> list[Tensor]:
        feeds = {"image": image.detach().float().cpu().numpy(), "image_size": image_size.cpu().numpy()}
        return [torch.from_numpy(array) for array in session.run(names, feeds)]

    return run, dict(session.get_modelmeta().custom_metadata_map)


def _torchscript_runner(path: Path, option: str) -> tuple[Runner, dict[str, str]]:
    """The TorchScript module of ``path`` on the CPU (it was traced there), and the file's metadata."""
    extra = {TORCHSCRIPT_METADATA: ""}
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export; it still loads
            warnings.filterwarnings("ignore", ".*torch.jit.load.* is deprecated.*")
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)  # type: ignore[no-untyped-call]
    except Exception as error:  # torch raises RuntimeError / ValueError variants for files that are not TorchScript
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{option}: {path} is not a TorchScript model ({reason}); "
                          "make one with vis4d export --format torchscript") from None  # fmt: skip
    module.eval()
    try:
        meta = json.loads(extra[TORCHSCRIPT_METADATA] or "{}")
    except json.JSONDecodeError:
        meta = {}

    def run(image: Tensor, image_size: Tensor) -> list[Tensor]:
        return list(module(image.detach().float().cpu(), image_size.cpu()))

    return run, meta if isinstance(meta, dict) else {}


def open_exported(path: str | Path, backend: Backend, option: str = "--model") -> tuple[Runner, dict[str, str]]:
    """Load an exported file for ``backend``: a function running its graph, and its vis4d metadata.

    Raises :class:`ConfigError` (``option`` names the file's option) when the
    file is missing, is not of the backend's format, or was not written by
    ``vis4d export``.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{option}: file not found: {path}")
    runner, meta = _onnx_runner(file, option) if backend == "onnxruntime" else _torchscript_runner(file, option)
    if "vis4d_format" not in meta:
        raise ConfigError(f"{option}: {path} has no vis4d metadata: it was not written by vis4d export")
    if meta["vis4d_format"] != str(EXPORT_FORMAT_VERSION):
        raise ConfigError(f"{option}: {path} is export format {meta['vis4d_format']}, this vis4d reads "
                          f"{EXPORT_FORMAT_VERSION}; export it again with this version")  # fmt: skip
    return runner, meta


def _first_difference(exported: Any, configured: Any, prefix: str) -> str | None:
    """The dotted path of the first value that differs between two config dicts (None if equal)."""
    if isinstance(exported, dict) and isinstance(configured, dict):
        for key in sorted(set(exported) | set(configured)):
            found = _first_difference(exported.get(key), configured.get(key), f"{prefix}.{key}")
            if found:
                return found
        return None
    return None if exported == configured else prefix


def check_config(meta: dict[str, str], model_config: dict[str, Any], categories: Sequence[str], where: str) -> None:
    """Refuse a config (``where`` names it) whose model is not the one the file was exported from."""
    hint = "pass the config it was exported with, or export again with this one"
    if meta.get("model_type") != model_config["type"]:
        raise ConfigError(f"{where}: model.type is {model_config['type']!r}, but the exported model is a "
                          f"{meta.get('model_type')!r}; {hint}")  # fmt: skip
    exported_categories = json.loads(meta.get("categories", "[]"))
    if exported_categories != list(categories):
        raise ConfigError(f"{where}: categories {list(categories)} differ from the exported model's "
                          f"{exported_categories}; {hint}")  # fmt: skip
    exported = graph_config(json.loads(meta.get("model_config", "{}")))
    configured = graph_config(model_config)
    path = _first_difference(exported, configured, "model")
    if path is not None:
        keys = path.split(".")[1:]
        values: list[Any] = [exported, configured]
        for key in keys:
            values = [v.get(key) if isinstance(v, dict) else None for v in values]
        raise ConfigError(f"{where}: {path} = {values[1]!r}, but the model was exported with {values[0]!r}; {hint}")


class ExportedModel(Vis4DModel):
    """An exported graph plus the config's tracker graph: the inference half of a vis4d model."""

    def __init__(self, runner: Runner, meta: dict[str, str], model_config: Any) -> None:
        super().__init__()
        self.runner = runner
        self.meta = meta
        tracker_config = getattr(model_config, "tracker", None)
        reid = getattr(tracker_config, "reid", None)
        self.tracker = VideoTracker(build_graph(tracker_config), reid) if tracker_config is not None else None

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Exported graphs hold no training code: refused."""
        raise ConfigError("an exported model (--backend onnxruntime/torchscript) can only test and predict")

    @torch.no_grad()
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Each image through the graph (unpadded size as an input), then through the tracker, in order."""
        predictions = []
        contexts = self.tracker.contexts(batch) if self.tracker is not None else [None] * len(batch)
        for index, (meta, context) in enumerate(zip(batch.meta, contexts, strict=True)):
            size = torch.tensor(meta.input_hw, dtype=torch.int64)
            outputs = [out.to(batch.images.device) for out in self.runner(batch.images[index : index + 1], size)]
            detections = FramePrediction(outputs[0], outputs[1], outputs[2].to(torch.int64))
            predictions.append(self._track(meta, detections, outputs[3] if len(outputs) > 3 else None, context))
        return predictions

    def _track(
        self, meta: FrameMeta, detections: FramePrediction, embeddings: Tensor | None, context: FrameContext | None
    ) -> FramePrediction:
        """The tracker's output on the graph's candidates, as the PyTorch model computes it (detectors: as is)."""
        if self.tracker is None:
            return detections
        tracker = self.tracker
        keep = tracker.graph.candidates(detections.boxes, detections.scores, detections.class_ids)
        candidates = detections.select(keep)
        if tracker.reid_name is not None:
            embeddings = tracker.appearance(candidates, context)
        elif embeddings is not None and tracker.uses_embeddings:
            embeddings = embeddings[keep]
        else:
            embeddings = None
        return with_detections(tracker(meta, candidates, embeddings, context), detections)

    def reset_tracking(self) -> None:
        """Forget all tracker state."""
        if self.tracker is not None:
            self.tracker.reset()


def load_exported(
    path: str | Path, backend: Backend, model_config: Any, categories: Sequence[str], where: str
) -> ExportedModel:
    """The exported model in ``path``, checked against the config (``where`` names it in errors)."""
    runner, meta = open_exported(path, backend)
    check_config(meta, model_config.model_dump(mode="json"), categories, where)
    return ExportedModel(runner, meta, model_config)
