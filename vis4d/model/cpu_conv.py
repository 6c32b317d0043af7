"""Faster 3x3 convolutions for CPU inference on large feature maps, through NNPACK.

oneDNN, which PyTorch uses for CPU convolutions, computes a 3x3 convolution
directly on CPUs without AVX-512. NNPACK, also built into PyTorch, uses fast
(Winograd / FFT) algorithms that need about half the multiplications: on the
FPN's stride-4 level (256 channels, 96x160) a 3x3 convolution takes 33 ms
instead of 82 ms on two AVX2 cores. PyTorch itself only picks NNPACK for
batches of 16 or more, and on small maps it is slower (1.2-6x at 24x40 and
below), so :class:`CPUConv2d` picks it per call: CPU, float32, no gradient
needed (inference or validation), no tracing (an exported graph holds plain
convolutions), and an output of at least :data:`MIN_NNPACK_PIXELS` pixels.
Anything else runs the ordinary convolution. The fast algorithms round
differently: outputs differ from the direct convolution by ~1e-5 relative,
far below what TF32 (PyTorch's default for GPU convolutions) changes.
"""

from __future__ import annotations

from functools import cache

import torch
from torch import Tensor, nn

from vis4d.model.detect.box_coder import is_tracing

# Output pixels (H x W) from which NNPACK beats oneDNN here: 0.78x at 48x80 (3840), 1.15x at 24x40 (960).
MIN_NNPACK_PIXELS = 2048


@cache
def nnpack_ready() -> bool:
    """Whether this PyTorch has NNPACK; asking also initialises it, which its convolution needs first."""
    return bool(torch.backends.nnpack.is_available())  # type: ignore[no-untyped-call]


class CPUConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters and state dict) that runs NNPACK where it is faster, see the module doc."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002  (nn.Conv2d's argument name)
        """The convolution of ``input``; through NNPACK for large CPU inference inputs."""
        if not self._nnpack_pays(input):
            return super().forward(input)
        channels_last = input.is_contiguous(memory_format=torch.channels_last) and not input.is_contiguous()
        output: Tensor = torch._nnpack_spatial_convolution(
            input.contiguous(),
            self.weight.contiguous(),
            self.bias,
            [1, 1],  # the 'same' padding use_cpu_convs checked
        )
        return output.contiguous(memory_format=torch.channels_last) if channels_last else output

    def _nnpack_pays(self, input: Tensor) -> bool:
        return (
            input.device.type == "cpu"
            and input.dtype == torch.float32
            and input.dim() == 4
            and input.shape[-2] * input.shape[-1] >= MIN_NNPACK_PIXELS
            and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled("cpu")
            and not is_tracing()
            and nnpack_ready()
        )


def use_cpu_convs(module: nn.Module) -> int:
    """Turn every plain 3x3, stride-1, 'same'-padded convolution inside ``module`` into a :class:`CPUConv2d`.

    Only the class changes (parameters, state dict keys and training are
    untouched); returns how many were turned.
    """
    turned = 0
    for conv in module.modules():
        if type(conv) is nn.Conv2d and _nnpack_can_run(conv):
            conv.__class__ = CPUConv2d
            turned += 1
    return turned


def _nnpack_can_run(conv: nn.Conv2d) -> bool:
    """NNPACK's convolution: no stride, dilation or groups, zero padding smaller than the kernel."""
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding == (1, 1)
        and conv.padding_mode == "zeros"
    )
