"""QDTrack under autocast: low-precision convolutions, float32 boxes, losses and tracker memory.

Lightning's ``--precision 16-mixed`` / ``bf16-mixed`` run the model inside
``torch.autocast``; these tests run the same code path on the CPU (both
dtypes are supported there) and check that our own ops (box coding, RoIAlign
paths, losses, the tracker's memory) take the low-precision activations
without dtype errors.
"""

import math

import pytest
import torch

from tests.model.track.test_qdtrack import make_batch, tiny_cfg
from vis4d.config.schema import QDTrackGraphConfig, RoIHeadConfig
from vis4d.model.track.qdtrack import QDTrack

DTYPES = [torch.bfloat16, torch.float16]


def _record_conv_dtypes(model: torch.nn.Module) -> list[torch.dtype]:
    """Output dtypes of every convolution call (proves autocast reached the model)."""
    seen: list[torch.dtype] = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


@pytest.mark.parametrize("dtype", DTYPES, ids=["bf16", "fp16"])
def test_qdtrack_trains_under_autocast(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = QDTrack(tiny_cfg(), num_classes=2).train()
    conv_dtypes = _record_conv_dtypes(model)
    batch = make_batch(2)
    batch.refs = [make_batch(2, frame=1, shift=2.0, seed=1)]
    with torch.autocast("cpu", dtype=dtype):
        losses = model.loss(batch)
    assert dtype in conv_dtypes
    assert {"track_loss", "track_aux_loss", "rpn_cls_loss", "roi_box_loss"} <= set(losses)
    # Losses are computed in float32 from the low-precision activations.
    assert all(v.dtype == torch.float32 and math.isfinite(v.item()) for v in losses.values())
    torch.stack(list(losses.values())).sum().backward()
    grad = model.similarity_head.embed.weight.grad
    assert grad is not None and grad.dtype == torch.float32 and torch.isfinite(grad).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["bf16", "fp16"])
def test_qdtrack_tracks_under_autocast(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    # An untrained detector scores everything low: thresholds at 0 so the graph has tracks to keep.
    graph = QDTrackGraphConfig(new_track_thresh=0.0, track_high_thresh=0.0, match_score_thresh=0.0)
    cfg = tiny_cfg(tracker=graph)
    cfg = cfg.model_copy(
        update={"detector": cfg.detector.model_copy(update={"roi_head": RoIHeadConfig(fc_dim=64, score_thresh=0.0)})}
    )
    model = QDTrack(cfg, num_classes=2).eval()
    conv_dtypes = _record_conv_dtypes(model)
    outputs = []
    with torch.autocast("cpu", dtype=dtype):
        for frame in range(3):
            (pred,) = model.predict(make_batch(1, frame=frame, seed=0))
            outputs.append(pred)
    assert dtype in conv_dtypes
    assert all(len(p.boxes) > 0 for p in outputs)
    for pred in outputs:
        assert pred.boxes.dtype == torch.float32 and pred.scores.dtype == torch.float32
        assert pred.track_ids is not None and len(pred.track_ids) == len(pred.boxes)
    # The same frame three times: the tracker matches (at least some) boxes to the first frame's ids.
    first_ids = set(outputs[0].track_ids.tolist())
    assert first_ids & set(outputs[2].track_ids.tolist())
    # The tracker's memory blends embeddings over frames: it stays float32.
    assert model.graph.tracks.embeddings.dtype == torch.float32 and len(model.graph.tracks) > 0
