"""Dataset loaders: every source format into one :class:`~vis4d.data.store.AnnotationStore`.

One module per source, each a function that works without a config object
(which is how ``vis4d eval`` reads ground truth and prediction files):

* :func:`load_scalabel`: Scalabel JSON (file, ``{"frames"}`` object, or
  folder of per-video files); predictions carry ``score``. BDD100K labels
  are Scalabel JSON read with :func:`bdd100k_track_label_config`.
* :func:`load_coco`: COCO instances JSON, or a results JSON with ``results=``.
* :func:`load_motchallenge`: MOTChallenge ground truth, public detections,
  or tracker output ``<SEQ>.txt``.
* :mod:`~vis4d.data.datasets.image_folder` and
  :mod:`~vis4d.data.datasets.synthetic`: frames without labels, and the
  generated videos.

Which loader a config section (``type = "..."``) uses, with caching, is the
format registry's business: :func:`vis4d.data.formats.load_dataset`. Image
paths in stores loaded with an image root are absolute.
"""

from vis4d.data.datasets.bdd100k import bdd100k_track_label_config
from vis4d.data.datasets.coco import load_coco
from vis4d.data.datasets.motchallenge import load_motchallenge
from vis4d.data.datasets.scalabel import load_scalabel
from vis4d.data.mapping import LabelConfig, LoadOptions, load_label_config

__all__ = [
    "LabelConfig",
    "LoadOptions",
    "bdd100k_track_label_config",
    "load_coco",
    "load_label_config",
    "load_motchallenge",
    "load_scalabel",
]
