"""vis4d: a PyTorch framework for 2D detection and multi-object tracking in video."""

__version__ = "0.1.0"
