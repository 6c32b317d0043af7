"""The augmentation sections: ranges checked, affine and mixup need mosaic, none of them in test_handler."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vis4d.config.schema import AffineConfig, Config, HandlerConfig, MixupConfig, MosaicConfig


def test_affine_and_mixup_transform_mosaics() -> None:
    with pytest.raises(ValidationError, match="affine transforms mosaics"):
        HandlerConfig(affine=AffineConfig())
    with pytest.raises(ValidationError, match="mixup transforms mosaics"):
        HandlerConfig(mixup=MixupConfig())
    assert HandlerConfig(mosaic=MosaicConfig(shape=(64, 96)), affine=AffineConfig(), mixup=MixupConfig()).mosaic


def test_ranges() -> None:
    with pytest.raises(ValidationError, match="low <= high"):
        MosaicConfig(shape=(64, 96), center_range=(1.5, 0.5))
    with pytest.raises(ValidationError, match="factors > 0"):
        AffineConfig(scale=(0.0, 2.0))
    with pytest.raises(ValidationError, match="finite"):
        MixupConfig(scale=(0.5, float("inf")))


def test_training_augmentations_stay_out_of_the_test_handler() -> None:
    model = {"type": "detector", "detector": {"type": "yolox"}}
    with pytest.raises(ValidationError, match="test_handler.mosaic: a training augmentation"):
        Config(categories=["a"], model=model, test_handler={"mosaic": {"shape": [64, 96]}})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="test_handler.multiscale"):
        Config(categories=["a"], model=model, test_handler={"multiscale": {"heights": [64, 128]}})  # type: ignore[arg-type]
