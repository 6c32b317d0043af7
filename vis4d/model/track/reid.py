"""Re-identification by appearance: OSNet (Zhou et al., ICCV 2019) with its published weights, by name.

A tracker that compares appearance (BoT-SORT, Deep OC-SORT) gets embeddings
from the model's own head where it has one (QDTrack), or from a separate
re-identification network: ``model.tracker.reid``. :class:`OSNet` is the
omni-scale network as torchreid publishes it, with torchreid's parameter
names, so its model-zoo checkpoints load as they are: ``osnet_x1_0``
(channels 64/256/384/512, 2.2 M parameters) down to ``osnet_x0_25``
(16/64/96/128, 0.2 M), each ending in a 512-d embedding. Which width a
checkpoint holds is read from its tensors.

Its published weights (torchreid's model zoo, mirrored by boxmot under names
such as ``osnet_x0_25_msmt17.pt``) are on Google Drive pages, not at direct
URLs; ``reid://NAME`` names one (:mod:`vis4d.model.weights.sources`), and
until its file is in torch.hub's checkpoint folder the error, like
``vis4d weights download reid://NAME``, says where to get it and where to put it.

:class:`ReIDEmbedder` crops each box from the frame (clipped to it), resizes
it to 256 x 128 (bilinear), normalises it with ImageNet statistics and
returns unit-length embeddings.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vis4d.common.errors import ConfigError

WIDTHS = {"osnet_x1_0": (64, 256, 384, 512), "osnet_x0_75": (48, 192, 288, 384),
          "osnet_x0_5": (32, 128, 192, 256), "osnet_x0_25": (16, 64, 96, 128)}  # fmt: skip
CROP_HW = (256, 128)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ConvBN(nn.Module):
    """Convolution (no bias) + batch norm, optionally ReLU: torchreid's ``ConvLayer``/``Conv1x1``/``Conv1x1Linear``."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class LiteConv(nn.Module):
    """1x1 convolution, depthwise 3x3 convolution, batch norm, ReLU (``LightConv3x3``)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False, groups=cout)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv2(self.conv1(x))))


class ChannelGate(nn.Module):
    """The unified aggregation gate: per-channel weights from the pooled features (shared by the four streams)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        weights = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * weights


class OSBlock(nn.Module):
    """Omni-scale residual block: four streams of 1 to 4 lite 3x3 convolutions (receptive fields 3 to 9), gated."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = cout // 4
        self.conv1 = ConvBN(cin, mid)
        self.conv2a = LiteConv(mid, mid)
        self.conv2b = nn.Sequential(*(LiteConv(mid, mid) for _ in range(2)))
        self.conv2c = nn.Sequential(*(LiteConv(mid, mid) for _ in range(3)))
        self.conv2d = nn.Sequential(*(LiteConv(mid, mid) for _ in range(4)))
        self.gate = ChannelGate(mid)
        self.conv3 = ConvBN(mid, cout, relu=False)
        self.downsample = ConvBN(cin, cout, relu=False) if cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.conv1(x)
        streams = (self.conv2a(x1), self.conv2b(x1), self.conv2c(x1), self.conv2d(x1))
        out = self.conv3(sum((self.gate(s) for s in streams), torch.zeros_like(x1)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


def _stage(cin: int, cout: int, reduce: bool) -> nn.Sequential:
    """Two blocks, then (``reduce``) a 1x1 convolution and 2x2 average pooling."""
    layers: list[nn.Module] = [OSBlock(cin, cout), OSBlock(cout, cout)]
    if reduce:
        layers.append(nn.Sequential(ConvBN(cout, cout), nn.AvgPool2d(2, stride=2)))
    return nn.Sequential(*layers)


class OSNet(nn.Module):
    """OSNet with torchreid's module names; ``forward`` returns the 512-d embedding (before normalisation)."""

    def __init__(self, channels: tuple[int, int, int, int] = WIDTHS["osnet_x1_0"], feature_dim: int = 512) -> None:
        super().__init__()
        self.conv1 = ConvBN(3, channels[0], 7, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _stage(channels[0], channels[1], reduce=True)
        self.conv3 = _stage(channels[1], channels[2], reduce=True)
        self.conv4 = _stage(channels[2], channels[3], reduce=False)
        self.conv5 = ConvBN(channels[3], channels[3])
        self.fc = nn.Sequential(nn.Linear(channels[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.feature_dim = feature_dim

    def forward(self, images: Tensor) -> Tensor:
        x = self.conv5(self.conv4(self.conv3(self.conv2(self.maxpool(self.conv1(images))))))
        embedding: Tensor = self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
        return embedding


def osnet_state_dict(checkpoint: object, where: str) -> dict[str, Tensor]:
    """The OSNet tensors of a torchreid/boxmot checkpoint: ``state_dict`` unwrapped, no ``module.``, no classifier."""
    state = checkpoint
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or "conv1.conv.weight" not in {k.removeprefix("module.") for k in state}:
        raise ConfigError(f"{where}: not an OSNet checkpoint (no conv1.conv.weight)")
    tensors = {key.removeprefix("module."): value for key, value in state.items()}
    return {key: value for key, value in tensors.items() if not key.startswith("classifier.")}


def osnet_from_state_dict(state: Mapping[str, Tensor], where: str) -> OSNet:
    """An OSNet of the width the tensors have, loaded with them (strict: a missing or odd tensor is an error)."""
    channels = (
        int(state["conv1.conv.weight"].shape[0]), int(state["conv2.0.conv3.conv.weight"].shape[0]),
        int(state["conv3.0.conv3.conv.weight"].shape[0]), int(state["conv4.0.conv3.conv.weight"].shape[0]),
    )  # fmt: skip
    model = OSNet(channels, feature_dim=int(state["fc.0.weight"].shape[0]))
    missing, unexpected = model.load_state_dict(dict(state), strict=False)
    if missing or unexpected:
        raise ConfigError(f"{where}: OSNet checkpoint does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()


def reid_weights_path(name: str, where: str) -> Path:
    """The file of ``reid://NAME`` (or a bare published name) in torch.hub's cache, or a path; refused if absent."""
    from vis4d.model.weights.catalogue import REID_PAGES
    from vis4d.model.weights.download import fetch
    from vis4d.model.weights.sources import resolve_source

    if name.startswith("reid://") or name in REID_PAGES:  # placed by hand; the error says from where, to where
        return fetch(resolve_source(name if name.startswith("reid://") else f"reid://{name}", where))
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(f"{where}: re-identification weights not found: {name} (a path, or reid://NAME)")
    return path


class ReIDEmbedder(nn.Module):
    """Boxes of a frame -> unit appearance embeddings (see the module docstring)."""

    def __init__(self, network: OSNet) -> None:
        super().__init__()
        self.network = network
        self.mean: Tensor
        self.std: Tensor
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255, persistent=False)
        self.dim = network.feature_dim

    @classmethod
    def from_name(cls, name: str, where: str = "model.tracker.reid") -> ReIDEmbedder:
        """Load the published OSNet ``name`` (``reid://osnet_x0_25_msmt17``, a bare name, or a path)."""
        path = reid_weights_path(name, where)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
            raise ConfigError(f"{where}: cannot read {path} as a PyTorch checkpoint: {error}") from None
        return cls(osnet_from_state_dict(osnet_state_dict(checkpoint, f"{where}: {path}"), f"{where}: {path}"))

    @torch.no_grad()
    def forward(self, image: npt.NDArray[np.uint8], boxes: Tensor) -> Tensor:
        """(K, D) unit embeddings of ``boxes`` (K, 4 xyxy pixels) in ``image`` (H x W x 3 uint8 RGB)."""
        import cv2

        device = self.mean.device
        if len(boxes) == 0:
            return torch.zeros((0, self.dim), device=device)
        height, width = image.shape[:2]
        corners = boxes.detach().cpu().numpy().round().astype(np.int64)
        crops = []
        for x1, y1, x2, y2 in corners.tolist():
            x1, x2 = min(max(x1, 0), width - 1), min(max(x2, x1 + 1), width)
            y1, y2 = min(max(y1, 0), height - 1), min(max(y2, y1 + 1), height)
            crops.append(cv2.resize(image[y1:y2, x1:x2], (CROP_HW[1], CROP_HW[0]), interpolation=cv2.INTER_LINEAR))
        batch = torch.from_numpy(np.stack(crops)).to(device).permute(0, 3, 1, 2).float()
        embeddings = self.network((batch - self.mean) / self.std)
        return F.normalize(embeddings, dim=1)
