"""QDTrack's similarity (embedding) head: one embedding vector per box.

RoIAlign pools each box from the detector's feature levels (a two-stage
detector's: the levels and RoIAlign options its box head uses, so the two
heads see the same evidence), then
``num_convs`` 3x3 convs with GroupNorm + ReLU, ``num_fcs`` FC + ReLU and a
final linear layer produce a ``embedding_dim`` vector. The output is left
unnormalised: training uses dot products (and cosine for the auxiliary
loss), the tracker uses dot products inside its bi-directional softmax.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from vis4d.common.errors import ConfigError
from vis4d.config.schema import SimilarityHeadConfig
from vis4d.model.detect.base import RoIPooling
from vis4d.model.detect.pooler import RoIPooler


class SimilarityHead(nn.Module):
    """Boxes on FPN features -> (K, embedding_dim) embeddings, per image."""

    def __init__(
        self,
        cfg: SimilarityHeadConfig,
        in_channels: int,
        featmap_names: Sequence[str],
        pooling: RoIPooling | None = None,
    ) -> None:
        super().__init__()
        if cfg.norm_groups > 0 and cfg.num_convs > 0 and cfg.conv_channels % cfg.norm_groups != 0:
            raise ConfigError(
                f"model.similarity_head.norm_groups={cfg.norm_groups} must divide "
                f"model.similarity_head.conv_channels={cfg.conv_channels}"
            )
        if not featmap_names:
            raise ConfigError("SimilarityHead needs at least one feature map name to pool from")
        self.embedding_dim = cfg.embedding_dim
        # RoIAlign as the detector pools boxes (sampling, alignment, level mapping), at this head's output size.
        pooling = pooling or RoIPooling()
        self.roi_align = RoIPooler(
            featmap_names, cfg.pooler_size, pooling.sampling_ratio, pooling.aligned, pooling.level_mapping
        )
        convs: list[nn.Module] = []
        channels = in_channels
        for _ in range(cfg.num_convs):
            use_norm = cfg.norm_groups > 0
            convs.append(nn.Conv2d(channels, cfg.conv_channels, kernel_size=3, padding=1, bias=not use_norm))
            if use_norm:
                convs.append(nn.GroupNorm(cfg.norm_groups, cfg.conv_channels))
            convs.append(nn.ReLU(inplace=True))
            channels = cfg.conv_channels
        self.convs = nn.Sequential(*convs)
        fcs: list[nn.Module] = []
        features = channels * cfg.pooler_size * cfg.pooler_size
        for _ in range(cfg.num_fcs):
            fcs += [nn.Linear(features, cfg.fc_dim), nn.ReLU(inplace=True)]
            features = cfg.fc_dim
        self.fcs = nn.Sequential(*fcs)
        self.embed = nn.Linear(features, cfg.embedding_dim)
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming convs, Xavier FCs and a small-std embedding layer.

        The small final layer keeps initial dot products near zero, so the
        softmax-based contrastive loss starts in its well-behaved regime.
        """
        for module in self.convs.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for module in self.fcs.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.embed.weight, std=0.01)
        nn.init.zeros_(self.embed.bias)

    def forward(
        self, features: OrderedDict[str, Tensor], boxes: Sequence[Tensor], image_sizes: Sequence[tuple[int, int]]
    ) -> list[Tensor]:
        """Embed ``boxes[i]`` (K_i, 4) xyxy input pixels of image i; returns [(K_i, D)]."""
        counts = [len(b) for b in boxes]
        if sum(counts) == 0:
            reference = next(iter(features.values()))
            return [reference.new_zeros((0, self.embedding_dim)) for _ in counts]
        return list(torch.split(self.embed_boxes(features, boxes), counts))

    def embed_boxes(self, features: Mapping[str, Tensor], boxes: Sequence[Tensor]) -> Tensor:
        """The (sum K_i, D) embeddings of all images' boxes, in order (what an exported graph computes)."""
        pooled = self.roi_align(features, list(boxes))
        if pooled.device.type == "cpu":
            # oneDNN runs these small 3x3 convs markedly faster on NHWC input (docs/profiling.md);
            # the result is the same, and flatten() below still reads it in NCHW order.
            pooled = pooled.contiguous(memory_format=torch.channels_last)
        x = self.convs(pooled).flatten(start_dim=1)
        embeddings: Tensor = self.embed(self.fcs(x))
        return embeddings
