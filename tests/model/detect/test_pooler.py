"""RoIPooler: the concurrent CPU path pools exactly what one RoIAlign call pools."""

import threading

import pytest
import torch

from vis4d.model.detect import pooler as pooler_module
from vis4d.model.detect.pooler import MIN_ROIS_PER_THREAD, RoIPooler


@pytest.fixture()
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _inputs(count: int) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    features = {
        "p2": torch.randn(2, 8, 32, 48, generator=generator).contiguous(memory_format=torch.channels_last),
        "p3": torch.randn(2, 8, 16, 24, generator=generator),
    }
    boxes = []
    for _ in range(2):
        corners = torch.rand(count, 2, generator=generator) * torch.tensor([150.0, 90.0])
        sizes = torch.rand(count, 2, generator=generator) * 150 + 2  # both levels get RoIs
        boxes.append(torch.cat((corners, corners + sizes), dim=1))
    return features, boxes


def _pool_with_gradient(pooler: RoIPooler, features: dict[str, torch.Tensor], boxes: list[torch.Tensor]):  # noqa: ANN202
    leaves = {name: feature.detach().requires_grad_() for name, feature in features.items()}
    pooled = pooler(leaves, boxes)
    weights = torch.linspace(-1, 1, pooled.numel()).view_as(pooled)
    (pooled * weights).sum().backward()
    return pooled.detach(), {name: leaf.grad for name, leaf in leaves.items()}


def test_concurrent_pooling_and_its_gradient_equal_one_call(two_threads, monkeypatch) -> None:  # noqa: ANN001
    pooler = RoIPooler(["p2", "p3"], 7, 2, aligned=True)
    features, boxes = _inputs(4 * MIN_ROIS_PER_THREAD)
    torch.set_num_threads(1)  # one chunk: torchvision's RoIAlign as it is
    expected, expected_grads = _pool_with_gradient(pooler, features, boxes)
    torch.set_num_threads(2)
    threads: set[str] = set()
    align = pooler_module.roi_align

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        threads.add(threading.current_thread().name)
        return align(*args, **kwargs)

    monkeypatch.setattr(pooler_module, "roi_align", spy)
    with torch.no_grad():
        pooled = pooler(features, boxes)
    assert any(name.startswith("vis4d-roi-align") for name in threads)
    assert torch.equal(pooled, expected)
    threads.clear()
    pooled, grads = _pool_with_gradient(pooler, features, boxes)  # training: backward is split too
    assert any(name.startswith("vis4d-roi-align") for name in threads)
    assert torch.equal(pooled, expected)
    for name, grad in grads.items():
        assert grad is not None and grad.abs().sum() > 0
        torch.testing.assert_close(grad, expected_grads[name], rtol=1e-5, atol=1e-6)  # summation order only


def test_few_rois_pool_in_one_call(two_threads, monkeypatch) -> None:  # noqa: ANN001
    pooler = RoIPooler(["p2"], 7, 2)
    features, boxes = _inputs(MIN_ROIS_PER_THREAD // 2)
    calls: list[int] = []
    align = pooler_module.roi_align

    def spy(feature, rois, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(len(rois))
        return align(feature, rois, *args, **kwargs)

    monkeypatch.setattr(pooler_module, "roi_align", spy)
    with torch.no_grad():
        pooler(features, boxes)
    assert calls == [MIN_ROIS_PER_THREAD]  # both images' RoIs, one call
