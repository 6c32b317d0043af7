"""Where a weights name points: a local file, or a URL and the file it is cached as.

Accepted wherever vis4d takes weights (``--weights``, ``model.weights``,
``model.detector.backbone.weights``):

* a local path;
* ``http(s)://...`` (or ``file://...``, for a mirror on a shared disk);
* ``torchvision://NAME``: a torchvision model builder name meaning its
  default weights (``torchvision://resnet50``), or a weights enum member
  (``torchvision://ResNet50_Weights.IMAGENET1K_V2``);
* ``mmdet://PATH``: a checkpoint of mmdetection's v2.0 model zoo, under
  ``https://download.openmmlab.com/mmdetection/v2.0/`` (as Vis4D 1.0 and
  mmcv resolve it);
* ``bdd100k://PATH``: a checkpoint of the BDD100K model zoo, under
  ``https://dl.cv.ethz.ch/bdd100k/``;
* ``bytetrack://FILE``: one of ByteTrack's published YOLOX checkpoints
  (``bytetrack_x_mot17.pth.tar``, ...). They are on Google Drive behind a web
  page, not at a direct URL: the file is placed in the cache by hand, and
  until it is there the error says which page to download it from and the
  exact path to put it at;
* ``reid://NAME``: a re-identification network for the trackers
  (``model.tracker.reid``, e.g. ``reid://osnet_x0_25_msmt17``), torchreid's
  published OSNet weights, also on Google Drive pages only, placed the same
  way as ``NAME.pt``.

Downloaded files live in torch.hub's cache, ``$TORCH_HOME/hub/checkpoints/``
(``~/.cache/torch`` by default), under the URL's file name, exactly where
``torch.hub.load_state_dict_from_url`` puts them: a file placed there by hand
is used without any download.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from vis4d.common.errors import ConfigError

MMDET_URL = "https://download.openmmlab.com/mmdetection/v2.0/"
BDD100K_URL = "https://dl.cv.ethz.ch/bdd100k/"
URL_SCHEMES = ("http://", "https://", "file://")
NAME_SCHEMES = ("torchvision://", "mmdet://", "bdd100k://", "bytetrack://", "reid://")
# A file name ending in "-<hex>.ext" carries the first hex digits of its SHA-256 (torchvision's and mmdetection's
# files). torch.hub's own rule takes the *first* "-<hex>." anywhere in the name, which misreads mmdetection names
# such as "..._bbox_mAP-0.384_..._210434-a5d8aa15.pth" as hash "0"; anchored at the end, with at least six digits,
# it reads "a5d8aa15".
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.[A-Za-z]+$")


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """A weights name resolved: the file to read and, for remote weights, where it comes from."""

    name: str  # as the user wrote it
    path: Path  # the local file (for remote weights: its place in the cache)
    url: str | None = None  # None for local files
    option: str = "--weights"  # the setting that named it, for messages
    page: str | None = None  # files published behind a web page: where to download them by hand

    @property
    def hash_prefix(self) -> str | None:
        """The SHA-256 prefix the file name carries (torchvision's and torch.hub's convention), if any."""
        if self.url is None:
            return None
        match = HASH_IN_NAME.search(self.path.name)
        return match.group(1) if match and match.group(1) else None


def hub_checkpoint_dir() -> Path:
    """torch.hub's checkpoint cache: ``$TORCH_HOME/hub/checkpoints`` (``TORCH_HOME`` honoured at every call).

    When torch is already imported its own answer counts (a program may have
    called ``torch.hub.set_dir``); otherwise the same rule is applied without
    importing torch (seconds), so the command line resolves weights names fast.
    """
    hub = sys.modules.get("torch.hub")
    if hub is not None:
        return Path(hub.get_dir()) / "checkpoints"
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(torch_home) / "hub" / "checkpoints"


def torchvision_url(name: str, option: str) -> str:
    """URL of ``torchvision://NAME``: a builder's default weights or a weights enum member."""
    from torchvision import models

    try:
        if "." in name:
            return str(models.get_weight(name).url)
        return str(models.get_model_weights(name).DEFAULT.url)
    except (ValueError, KeyError, AttributeError):
        known = ", ".join(sorted({"resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large"}))
        raise ConfigError(
            f"{option}: unknown torchvision weights {name!r}; give a builder name ({known}, "
            "fasterrcnn_resnet50_fpn, ...) or an enum member such as ResNet50_Weights.IMAGENET1K_V2"
        ) from None


def resolve_source(name: str, option: str = "--weights") -> WeightsSource:
    """Resolve a weights name (see the module docstring); ``option`` names the setting in error messages."""
    if name.startswith("torchvision://"):
        return _remote(name, torchvision_url(name.removeprefix("torchvision://"), option), option)
    if name.startswith("mmdet://"):
        return _remote(name, MMDET_URL + name.removeprefix("mmdet://").lstrip("/"), option)
    if name.startswith("bdd100k://"):
        return _remote(name, BDD100K_URL + name.removeprefix("bdd100k://").lstrip("/"), option)
    if name.startswith(("bytetrack://", "reid://")):
        return _by_hand(name, option)
    if name.startswith(URL_SCHEMES):
        return _remote(name, name, option)
    if "://" in name:
        scheme = name.split("://", 1)[0]
        schemes = ", ".join(s.removesuffix("//") for s in (*NAME_SCHEMES, *URL_SCHEMES))
        raise ConfigError(f"{option}: unknown weights scheme {scheme!r}:// in {name!r}; expected a path or {schemes}")
    return WeightsSource(name, Path(os.path.expanduser(name)), option=option)


def _remote(name: str, url: str, option: str) -> WeightsSource:
    file_name = os.path.basename(urlparse(url).path)
    if not file_name:
        raise ConfigError(f"{option}: {name}: the URL {url} names no file")
    return WeightsSource(name, hub_checkpoint_dir() / file_name, url, option)


def check_checkpoint_file(path: Path, option: str) -> None:
    """A checkpoint is what ``torch.save`` writes: a zip archive, or (before torch 1.6) a pickle.

    Checked on the file's first bytes, before a model is built, so a config
    or a text file given as weights is one line naming it, not a failed load.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as error:
        raise ConfigError(f"{option}: cannot read {path}: {error.strerror or error}") from None
    if not head:
        raise ConfigError(f"{option}: {path} is empty (0 bytes), expected a PyTorch checkpoint")
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return
    try:
        head.decode("utf-8")
        kind = "a text file"
    except UnicodeDecodeError:
        kind = "not a PyTorch checkpoint"
    raise ConfigError(f"{option}: {path} is {kind}, expected a PyTorch checkpoint (.ckpt or .pth from torch.save)")


def _by_hand(name: str, option: str) -> WeightsSource:
    """A checkpoint published behind a web page (ByteTrack's, the ReID networks'): its place in the cache, its page."""
    from vis4d.model.weights.catalogue import by_hand

    file_name, page, known = by_hand(name)
    if page is None:
        raise ConfigError(f"{option}: {name}: no published file {file_name!r} is known; known: {', '.join(known)}")
    return WeightsSource(name, hub_checkpoint_dir() / file_name, option=option, page=page)
