"""RoIAlign on a feature pyramid: each box pooled from the level its size maps to.

Two conventions for the level of a box of area ``A`` (``s = sqrt(A)``), as
frameworks differ and a converted model must compute what it computed where
it was trained:

* ``"torchvision"`` (the FPN paper, torchvision's ``MultiScaleRoIAlign``):
  ``k = floor(4 + log2(s / 224) + 1e-6)``, clamped to the pyramid;
* ``"mmdet"`` (mmdetection's ``SingleRoIExtractor``, finest scale 56):
  ``k = floor(log2(s / 56 + 1e-6))`` counted from the finest level;
* ``"vis4d"`` (Vis4D 1.0): ``k = floor(4 + log2(s / 224 + 1e-8))``, the area
  from widths and heights clamped at 0.

RoIAlign itself: ``aligned`` shifts sampling points by half a pixel
(mmdetection, Detectron2; torchvision's detector does not), and
``sampling_ratio`` 0 samples adaptively (``ceil(bin size)`` points per bin).

Speed: torchvision's CPU RoIAlign loops over the RoIs on one thread whatever
torch's thread count (1000 RoIs on a 96x160 map: ~0.25 s forward on one
core; its backward, a scatter into the feature map's gradient, took a quarter
of a Faster R-CNN R50-FPN training step). On a CPU the RoIs are therefore
split into one chunk per torch thread and pooled concurrently (the kernels
release the GIL); in backward each chunk scatters into its own gradient map
and the maps are summed. The pooled values are those of one call; the
gradient differs only by float summation order. Autocast keeps the single
call (worker threads do not inherit its state, and torchvision's autocast
wrapper pools in float32).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn
from torchvision.ops import box_area, roi_align

from vis4d.model.detect.box_coder import is_tracing

LevelMapping = Literal["torchvision", "mmdet", "vis4d"]
CANONICAL_SCALE, CANONICAL_LEVEL = 224, 4  # torchvision / FPN paper
FINEST_SCALE = 56  # mmdetection
EPS = 1e-6
# Below this many RoIs per thread, a thread's start-up costs more than its share of the pooling.
MIN_ROIS_PER_THREAD = 32


class RoIPooler(nn.Module):
    """Pool (output_size x output_size) features per box from the pyramid levels ``levels`` (``"p2"``...)."""

    def __init__(
        self,
        levels: Sequence[str],
        output_size: int,
        sampling_ratio: int,
        aligned: bool = False,
        level_mapping: LevelMapping = "torchvision",
    ) -> None:
        super().__init__()
        self.levels = list(levels)
        self.log2_strides = [int(level[1:]) for level in self.levels]
        self.output_size = (output_size, output_size)
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned
        self.level_mapping = level_mapping

    def level_of(self, boxes: Tensor) -> Tensor:
        """Index into ``levels`` of every box (N, 4) xyxy in input pixels."""
        if self.level_mapping == "vis4d":
            sizes = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0)
            scale = torch.sqrt(sizes[:, 0] * sizes[:, 1])
            level = torch.floor(CANONICAL_LEVEL + torch.log2(scale / CANONICAL_SCALE + 1e-8)) - self.log2_strides[0]
            return level.clamp(0, len(self.levels) - 1).to(torch.int64)
        scale = torch.sqrt(box_area(boxes))
        if self.level_mapping == "mmdet":
            level = torch.floor(torch.log2(scale / FINEST_SCALE + EPS))
        else:
            level = torch.floor(CANONICAL_LEVEL + torch.log2(scale / CANONICAL_SCALE) + EPS) - self.log2_strides[0]
        return level.clamp(0, len(self.levels) - 1).to(torch.int64)

    def forward(self, features: Mapping[str, Tensor], boxes: Sequence[Tensor]) -> Tensor:
        """Pooled features (sum of boxes, C, S, S) for the boxes of every image, in order."""
        maps = [features[level] for level in self.levels]
        rois = torch.cat(
            [torch.cat((torch.full_like(b[:, :1], i), b), dim=1) for i, b in enumerate(boxes)]
        ) if boxes else maps[0].new_zeros((0, 5))  # fmt: skip
        rois = rois.to(maps[0].dtype)
        if len(maps) == 1:
            return self._align(maps[0], rois, self.log2_strides[0])
        level = self.level_of(rois[:, 1:])
        result = maps[0].new_zeros((rois.shape[0], maps[0].shape[1], *self.output_size))
        tracing = is_tracing()  # an exported graph must not bake in which levels this example used
        for index, (feature, log2_stride) in enumerate(zip(maps, self.log2_strides, strict=True)):
            chosen = torch.where(level == index)[0]
            if tracing or len(chosen):
                # index_copy, not ``result[chosen] = ...``: traced with one RoI on a level, the exporter would turn
                # the latter into a reshape to that one RoI's shape, which fails on any other count.
                result = result.index_copy(0, chosen, self._align(feature, rois[chosen], log2_stride).to(result.dtype))
        return result

    def _align(self, feature: Tensor, rois: Tensor, log2_stride: int) -> Tensor:
        """RoIAlign of ``rois`` on one level; on a CPU, one chunk of RoIs per torch thread."""
        spatial_scale = math.ldexp(1.0, -log2_stride)
        chunks = min(torch.get_num_threads(), len(rois) // MIN_ROIS_PER_THREAD)
        concurrent = (
            chunks > 1 and feature.device.type == "cpu" and not torch.is_autocast_enabled("cpu") and not is_tracing()
        )
        if concurrent:
            options = _AlignOptions(self.output_size, spatial_scale, self.sampling_ratio, self.aligned, chunks)
            pooled: Tensor = _ConcurrentRoIAlign.apply(feature, rois, options)
        else:
            pooled = roi_align(
                feature, rois, self.output_size, spatial_scale=spatial_scale,
                sampling_ratio=self.sampling_ratio, aligned=self.aligned,
            )  # fmt: skip
        return pooled


class _AlignOptions(NamedTuple):
    output_size: tuple[int, int]
    spatial_scale: float
    sampling_ratio: int
    aligned: bool
    chunks: int


class _ConcurrentRoIAlign(torch.autograd.Function):
    """torchvision's RoIAlign (forward and backward kernels) with the RoIs split over CPU threads."""

    @staticmethod
    def forward(ctx: Any, feature: Tensor, rois: Tensor, options: _AlignOptions) -> Tensor:
        ctx.save_for_backward(rois)
        ctx.options, ctx.feature_shape = options, tuple(feature.shape)

        def pool(part: Tensor) -> Tensor:
            with torch.no_grad():  # worker threads start with grad mode on
                pooled: Tensor = roi_align(
                    feature, part, options.output_size, options.spatial_scale, options.sampling_ratio, options.aligned
                )
            return pooled

        return torch.cat(list(_cpu_threads(options.chunks).map(pool, rois.tensor_split(options.chunks))))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        (rois,) = ctx.saved_tensors
        options: _AlignOptions = ctx.options
        batch, channels, height, width = ctx.feature_shape

        def scatter(part: tuple[Tensor, Tensor]) -> Tensor:
            part_grad, part_rois = part
            feature_grad: Tensor = torch.ops.torchvision._roi_align_backward(
                part_grad.contiguous(), part_rois, options.spatial_scale, *options.output_size,
                batch, channels, height, width, options.sampling_ratio, options.aligned,
            )  # fmt: skip
            return feature_grad

        parts = zip(grad.tensor_split(options.chunks), rois.tensor_split(options.chunks), strict=True)
        grads = list(_cpu_threads(options.chunks).map(scatter, parts))
        total = grads[0]
        for other in grads[1:]:
            total.add_(other)
        return total, None, None


@cache
def _cpu_threads(count: int) -> ThreadPoolExecutor:
    """A pool of ``count`` threads for concurrent RoIAlign kernels, made once per count and kept."""
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="vis4d-roi-align")
