"""Every tracker runs inside the models: pixels reach camera motion, appearance comes from ReID or the head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.model.detect.conftest import tiny_config
from vis4d.common.structures import Batch, FrameMeta
from vis4d.config.schema import TRACKER_CONFIGS, ByteTrackModelConfig, QDTrackConfig
from vis4d.model.build import build_model
from vis4d.model.track.cmc import CameraMotion
from vis4d.model.track.context import FrameContext, Normalization, denormalize
from vis4d.model.track.reid import OSNet

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def frames(count: int, shift: int = 3) -> list[Batch]:
    """A textured image panning right ``shift`` px per frame, normalised as the data handler does."""
    rng = np.random.default_rng(0)
    scene = (rng.random((72, 160, 3)) * 255).astype(np.uint8)
    scene[20:50, 40:70] = 255
    out = []
    for i in range(count):
        crop = scene[4:68, i * shift : i * shift + 96].astype(np.float32)
        image = (torch.from_numpy(crop) - torch.tensor(MEAN)) / torch.tensor(STD)
        meta = FrameMeta(f"v-{i}", "v", i, "", (64, 96), (64, 96))
        out.append(Batch(image.permute(2, 0, 1)[None].contiguous(), [], [meta]))
    return out


def confident(model: torch.nn.Module) -> None:
    """Make an untrained detector's scores spread enough that tracks start."""
    with torch.no_grad():
        model.detector.roi_heads.cls_score.weight.normal_(std=0.5)  # type: ignore[union-attr, operator]


def model_config(tracker: str, **options: object) -> ByteTrackModelConfig:
    thresholds = {"track_high_thresh": 0.02, "new_track_thresh": 0.03} if tracker in ("bytetrack", "botsort") else {}
    if tracker in ("ocsort", "deepocsort"):
        thresholds = {"track_high_thresh": 0.02, "track_low_thresh": 0.01, "min_hits": 1}
    graph = TRACKER_CONFIGS[tracker].model_validate({"type": tracker, **thresholds, **options})
    return ByteTrackModelConfig(detector=tiny_config(score_thresh=0.0), tracker=graph)


@pytest.mark.parametrize("tracker", ["bytetrack", "sort", "ocsort", "botsort", "deepocsort", "iou"])
def test_every_motion_tracker_tracks_a_detectors_output(tracker: str) -> None:
    torch.manual_seed(0)
    model = build_model(model_config(tracker), 3).eval()
    confident(model)
    outputs = [model.predict(batch)[0] for batch in frames(4)]
    assert all(o.track_ids is not None for o in outputs)
    assert sum(len(o.boxes) for o in outputs) > 0
    ids = [set(o.track_ids.tolist()) for o in outputs]  # type: ignore[union-attr]
    assert ids[-1] & ids[-2], "a panning view keeps some tracks"


def test_camera_motion_sees_the_images_pixels() -> None:
    """The context made from the normalised input is the original uint8 image; the tracker measures the pan."""
    batch = frames(2)[1]
    pixels = denormalize(batch.images[0], Normalization(MEAN, STD), batch.meta[0])
    original = frames(2, shift=3)[1].images[0].permute(1, 2, 0) * torch.tensor(STD) + torch.tensor(MEAN)
    np.testing.assert_array_equal(pixels, original.round().clamp(0, 255).to(torch.uint8).numpy())
    model = build_model(model_config("botsort"), 3).eval()
    model.set_input_normalization(MEAN, STD, "RGB")
    seen: list[np.ndarray] = []
    camera = model.tracker.graph.camera  # type: ignore[union-attr]
    original_call = type(camera).__call__
    type(camera).__call__ = lambda self, image: seen.append(image) or original_call(self, image)  # type: ignore[method-assign]
    try:
        for batch in frames(3):
            model.predict(batch)
    finally:
        type(camera).__call__ = original_call  # type: ignore[method-assign]
    assert len(seen) == 3 and seen[0].shape == (64, 96, 3) and seen[0].dtype == np.uint8
    fresh = CameraMotion("sparse_flow")
    fresh(seen[0])
    assert abs(fresh(seen[1])[0, 2] + 3) < 0.5  # the view moved 3 px right: the scene 3 px left


def test_a_needed_image_missing_is_a_clear_error() -> None:
    graph = build_model(model_config("botsort"), 3).tracker.graph  # type: ignore[union-attr]
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0]])
    with pytest.raises(ValueError, match="needs the frame's image"):
        graph(boxes, torch.tensor([0.9]), torch.zeros(1, dtype=torch.int64), None, 0, FrameContext())


def test_reid_by_name_gives_the_tracker_embeddings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    path = home / "hub" / "checkpoints" / "osnet_x0_25_msmt17.pt"
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(OSNet((16, 64, 96, 128)).state_dict(), path)
    model = build_model(model_config("deepocsort", reid="reid://osnet_x0_25_msmt17", cmc_method="none"), 3).eval()
    confident(model)
    for batch in frames(2):
        model.predict(batch)
    store = model.tracker.graph.store  # type: ignore[union-attr]
    assert len(store) > 0 and store["embedding"].shape[1] == 512
    np.testing.assert_allclose(np.linalg.norm(store["embedding"], axis=1), 1.0, rtol=1e-6)


def test_qdtrack_feeds_its_embedding_head_to_botsort() -> None:
    graph = TRACKER_CONFIGS["botsort"].model_validate({"type": "botsort", "track_high_thresh": 0.02,
                                                       "new_track_thresh": 0.03, "cmc_method": "none"})  # fmt: skip
    cfg = QDTrackConfig(detector=tiny_config(score_thresh=0.0), tracker=graph)
    torch.manual_seed(0)
    model = build_model(cfg, 3).eval()
    confident(model)
    for batch in frames(2):
        model.predict(batch)
    store = model.tracker.graph.store  # type: ignore[union-attr]
    assert len(store) > 0 and store["embedding"].shape[1] == cfg.similarity_head.embedding_dim
