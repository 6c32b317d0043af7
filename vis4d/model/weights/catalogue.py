"""The weights vis4d knows by name: what ``vis4d weights list`` shows and ``vis4d weights download`` fetches.

torchvision's entries come from torchvision itself (URL, file size, the
metric its documentation reports), so they cannot drift from the installed
version. Other zoos are listed with the figures their authors publish.
"""

from __future__ import annotations

import dataclasses

# torchvision builders whose default weights vis4d runs exactly: ImageNet backbones and the detector.
TORCHVISION_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large")
TORCHVISION_DETECTORS = ("fasterrcnn_resnet50_fpn",)


@dataclasses.dataclass(frozen=True)
class KnownWeights:
    """One named checkpoint: its name, the size of its file and what it was trained on (with a metric)."""

    name: str
    size_mb: float | None
    trained_on: str
    use: str  # what it initialises in vis4d


def _torchvision_entries() -> list[KnownWeights]:
    from torchvision import models

    entries = []
    for builder in (*TORCHVISION_BACKBONES, *TORCHVISION_DETECTORS):
        enum = models.get_model_weights(builder)
        for weights in enum:
            metrics = weights.meta.get("_metrics", {})
            dataset, values = next(iter(metrics.items()), ("", {}))
            metric = ", ".join(f"{key} {value}" for key, value in values.items())
            default = weights == enum.DEFAULT
            name = f"torchvision://{builder}" if default else f"torchvision://{weights}"
            use = "model.weights (detector)" if builder in TORCHVISION_DETECTORS else "model.detector.backbone.weights"
            entries.append(KnownWeights(name, weights.meta.get("_file_size"), f"{dataset}: {metric}", use))
    return entries


def known_weights() -> list[KnownWeights]:
    """Every named checkpoint vis4d knows, torchvision's first."""
    return _torchvision_entries() + list(OTHER_ZOOS)


# Published checkpoints of other model zoos that vis4d converts (figures as their authors report them; sizes
# where known). mmtracking's MOT17 QDTrack is not listed: its caffe-style ResNet computes differently.
MMDET_R50_1X = "mmdet://faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth"
MMDET_R101_1X = "mmdet://faster_rcnn/faster_rcnn_r101_fpn_1x_coco/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth"
QDTRACK_BDD100K = "bdd100k://mot/models/qdtrack-frcnn_r50_fpn_12e_mot_bdd100k.pth"
VIS4D_QDTRACK_YOLOX_BDD100K = "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_yolox_x_25e_bdd100k_c14af2.pt"
MEGVII_RELEASE = "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/"
VIS4D_QDTRACK_BDD100K = "https://dl.cv.ethz.ch/vis4d/qdtrack/qdtrack_frcnn_r50_fpn_augs_1x_bdd100k_456b1e.pt"
OTHER_ZOOS: tuple[KnownWeights, ...] = (
    KnownWeights(MMDET_R50_1X, None, "COCO (mmdetection): box AP 37.4", "model.weights (detector)"),
    KnownWeights(MMDET_R101_1X, None, "COCO (mmdetection): box AP 39.4", "model.weights (detector, resnet101)"),
    KnownWeights(
        "bdd100k://det/models/faster_rcnn_r50_fpn_3x_det_bdd100k.pth",
        None,
        "BDD100K detection, 10 classes: AP-val 32.3",
        "model.weights (detector)",
    ),
    KnownWeights(QDTRACK_BDD100K, None, "BDD100K MOT (official QDTrack): mMOTA-val 36.6, mIDF1 51.6", "model.weights"),
    KnownWeights(
        VIS4D_QDTRACK_BDD100K, None, "BDD100K MOT (Vis4D 1.0 QDTrack): mMOTA-val 37.7, mIDF1 52.7", "model.weights"
    ),
)


def megvii_url(size: str) -> str:
    """URL of Megvii's COCO YOLOX release checkpoint of ``size`` (nano, tiny, s, m, l, x)."""
    return f"{MEGVII_RELEASE}yolox_{size}.pth"


# Megvii's YOLOX release (COCO val2017 box AP as its README reports, test sizes 416 for nano/tiny, 640 otherwise).
_MEGVII_AP = {"nano": 25.8, "tiny": 32.8, "s": 40.5, "m": 46.9, "l": 49.7, "x": 51.1}
# mmdetection's YOLOX (its metafile's box AP).
_MMDET_YOLOX = {
    "tiny": ("yolox_tiny_8x8_300e_coco_20211124_171234-b4047906.pth", 32.0),
    "s": ("yolox_s_8x8_300e_coco_20211121_095711-4592a793.pth", 40.5),
    "l": ("yolox_l_8x8_300e_coco_20211126_140236-d3bd2b23.pth", 49.4),
    "x": ("yolox_x_8x8_300e_coco_20211126_140254-1ef88d67.pth", 50.9),
}
# ByteTrack's YOLOX person detectors, on Google Drive only: file name -> (page, what the README reports).
BYTETRACK_PAGES: dict[str, tuple[str, str]] = {
    "bytetrack_x_mot17.pth.tar": ("1P4mY0Yyd3PPTybgZkjMYhFri88nTmJX5", "MOT17 test MOTA 80.3, IDF1 77.3 (paper)"),
    "bytetrack_l_mot17.pth.tar": ("1XwfUuCBF4IgWBWK2H7oOhQgEj9Mrb3rz", "MOT17 train MOTA 88.7, IDF1 80.7"),
    "bytetrack_m_mot17.pth.tar": ("11Zb0NN_Uu7JwUd9e6Nk8o2_EUfxWqsun", "MOT17 train MOTA 87.0, IDF1 80.1"),
    "bytetrack_s_mot17.pth.tar": ("1uSmhXzyV1Zvb4TJJCzpsZOIcw7CCJLxj", "MOT17 train MOTA 79.2, IDF1 74.3"),
    "bytetrack_tiny_mot17.pth.tar": ("1LFAl14sql2Q5Y9aNFsX_OqsnIzUD_1ju", "MOT17 train MOTA 77.1, IDF1 71.5"),
    "bytetrack_nano_mot17.pth.tar": ("1AoN2AxzVwOLM0gJ15bcwqZUpFjlDV1dX", "MOT17 train MOTA 69.0, IDF1 66.3"),
    "bytetrack_x_mot20.pth.tar": ("1HX2_JpMOjOIj1Z9rJjoet9XNy_cCAs5U", "MOT20 test MOTA 77.8, IDF1 75.2 (paper)"),
}


def bytetrack_page(file_name: str) -> str | None:
    """The Google Drive page of a ByteTrack checkpoint (None if ByteTrack published no file of that name)."""
    entry = BYTETRACK_PAGES.get(file_name)
    return None if entry is None else f"https://drive.google.com/file/d/{entry[0]}/view"


def _yolox_entries() -> tuple[KnownWeights, ...]:
    megvii = [
        KnownWeights(megvii_url(size), None, f"COCO (Megvii): box AP {ap}", f"model.weights (yolox {size})")
        for size, ap in _MEGVII_AP.items()
    ]
    mmdet = [
        KnownWeights(
            f"mmdet://yolox/{file.split('_2021')[0]}/{file}",
            None,
            f"COCO (mmdetection): box AP {ap}",
            f"model.weights (yolox {size})",
        )  # fmt: skip
        for size, (file, ap) in _MMDET_YOLOX.items()
    ]
    bytetrack = [
        KnownWeights(
            f"bytetrack://{file}",
            None,
            f"{figures}; person only, by hand from {bytetrack_page(file)}",
            f"model.weights (yolox {file.split('_')[1]})",
        )  # fmt: skip
        for file, (_, figures) in BYTETRACK_PAGES.items()
    ]
    vis4d = KnownWeights(
        VIS4D_QDTRACK_YOLOX_BDD100K, None, "BDD100K MOT (Vis4D 1.0 QDTrack-YOLOX-x): mMOTA-val 42.3, mIDF1 55.1",
        "model.weights (qdtrack, yolox x)",
    )  # fmt: skip
    return (*megvii, *mmdet, *bytetrack, vis4d)


OTHER_ZOOS += _yolox_entries()


# Re-identification networks for the trackers' appearance (model.tracker.reid = "reid://NAME"): torchreid's model
# zoo as boxmot mirrors it (file NAME.pt), on Google Drive only: name -> (file id, training set).
REID_PAGES: dict[str, tuple[str, str]] = {
    "osnet_x1_0_msmt17": ("112EMUfBPYeYg70w-syK6V6Mx8-Qb9Q1M", "MSMT17"),
    "osnet_x1_0_market1501": ("1vduhq5DpN2q1g4fYEZfPI17MJeh9qyrA", "Market1501"),
    "osnet_x1_0_dukemtmcreid": ("1QZO_4sNf4hdOKKKzKc-TZU9WW1v6zQbq", "DukeMTMC-reID"),
    "osnet_x0_75_msmt17": ("1QEGO6WnJ-BmUzVPd3q9NoaO_GsPNlmWc", "MSMT17"),
    "osnet_x0_5_msmt17": ("1UT3AxIaDvS2PdxzZmbkLmjtiqq7AIKCv", "MSMT17"),
    "osnet_x0_25_msmt17": ("1sSwXSUlj4_tHZequ_iZ8w_Jh0VaRQMqF", "MSMT17"),
    "osnet_x0_25_market1501": ("1z1UghYvOTtjx7kEoRfmqSMu-z62J6MAj", "Market1501"),
    "osnet_x0_25_dukemtmcreid": ("1eumrtiXT4NOspjyEV4j8cHmlOaaCGk5l", "DukeMTMC-reID"),
}


def reid_page(name: str) -> str | None:
    """The Google Drive page of a published re-identification network (None if there is no such name)."""
    entry = REID_PAGES.get(name)
    return None if entry is None else f"https://drive.google.com/file/d/{entry[0]}/view"


def by_hand(name: str) -> tuple[str, str | None, list[str]]:
    """A ``bytetrack://FILE`` or ``reid://NAME``: its file name in the cache, its page (None: unknown), known names."""
    if name.startswith("reid://"):
        key = name.removeprefix("reid://").strip("/")
        return f"{key}.pt", reid_page(key), list(REID_PAGES)
    file_name = name.removeprefix("bytetrack://").strip("/")
    return file_name, bytetrack_page(file_name), list(BYTETRACK_PAGES)


OTHER_ZOOS += tuple(
    KnownWeights(
        f"reid://{name}",
        None,
        f"{data} person re-identification (OSNet, torchreid); by hand from {reid_page(name)}",
        "model.tracker.reid (botsort, deepocsort)",
    )  # fmt: skip
    for name, (_, data) in REID_PAGES.items()
)
