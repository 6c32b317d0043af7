"""CPUConv2d: NNPACK where it pays (large CPU inference maps), the ordinary convolution everywhere else."""

import pytest
import torch
from torch import nn

from vis4d.model.cpu_conv import MIN_NNPACK_PIXELS, CPUConv2d, nnpack_ready, use_cpu_convs

pytestmark = pytest.mark.skipif(not nnpack_ready(), reason="this PyTorch build has no NNPACK")


def _pair(channels: int = 16) -> tuple[nn.Conv2d, nn.Conv2d]:
    torch.manual_seed(0)
    plain = nn.Conv2d(channels, channels, 3, padding=1)
    fast = nn.Conv2d(channels, channels, 3, padding=1)
    fast.load_state_dict(plain.state_dict())
    assert use_cpu_convs(fast) == 1 and isinstance(fast, CPUConv2d)
    return plain, fast


@pytest.fixture()
def nnpack_calls(monkeypatch):  # noqa: ANN201
    calls: list[tuple[int, ...]] = []
    original = torch._nnpack_spatial_convolution

    def spy(input, *args):  # noqa: A002, ANN001, ANN002, ANN202
        calls.append(tuple(input.shape))
        return original(input, *args)

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", spy)
    return calls


@pytest.mark.parametrize("channels_last", [False, True])
def test_large_inference_maps_run_nnpack_and_match(nnpack_calls, channels_last: bool) -> None:  # noqa: ANN001
    plain, fast = _pair()
    image = torch.randn(2, 16, 48, 64)  # 3072 pixels >= MIN_NNPACK_PIXELS
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected, output = plain(image), fast(image)
    assert nnpack_calls == [(2, 16, 48, 64)]
    assert output.is_contiguous(memory_format=torch.channels_last) == channels_last
    torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-4)  # fast algorithms round differently


def test_training_small_maps_and_other_convs_stay_ordinary(nnpack_calls) -> None:  # noqa: ANN001
    plain, fast = _pair()
    large = torch.randn(1, 16, 48, 64, requires_grad=True)
    torch.testing.assert_close(fast(large), plain(large), rtol=0, atol=0)  # gradients needed: oneDNN
    small = torch.randn(1, 16, 8, 8)
    assert small.shape[-1] * small.shape[-2] < MIN_NNPACK_PIXELS
    with torch.no_grad():
        torch.testing.assert_close(fast(small), plain(small), rtol=0, atol=0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast(large.detach())
    assert nnpack_calls == []
    strided = nn.Sequential(nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    assert use_cpu_convs(strided) == 1 and type(strided[2]) is CPUConv2d and type(strided[0]) is nn.Conv2d


def test_the_detector_uses_them_with_unchanged_state_dict_keys() -> None:
    from tests.model.detect.conftest import tiny_config
    from vis4d.model.detect.faster_rcnn import FasterRCNN

    model = FasterRCNN(tiny_config(), 2)
    turned = [name for name, m in model.named_modules() if isinstance(m, CPUConv2d)]
    assert "rpn.head.convs.0" in turned and any(name.startswith("backbone.fpn.layer_blocks") for name in turned)
    assert all(not k.endswith("_nnpack") for k in model.state_dict())
    model.eval()
    model.fold_batch_norm()  # folding keeps the class (it folds in place)
    assert [name for name, m in model.named_modules() if isinstance(m, CPUConv2d)] == turned
