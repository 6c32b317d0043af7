"""YOLOX tests never reach the network: the weights tests' temporary TORCH_HOME applies here too."""

from __future__ import annotations

from tests.model.weights.conftest import torch_home

__all__ = ["torch_home"]
