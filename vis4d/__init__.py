"""vis4d: a PyTorch framework for 2D detection and multi-object tracking in video.

``from vis4d import Tracker`` is the Python API (:mod:`vis4d.engine.api`);
it is imported on first use, so the command line starts without torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Tracker", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Tracker":
        from vis4d.engine.api import Tracker

        return Tracker
    raise AttributeError(f"module 'vis4d' has no attribute {name!r}")
