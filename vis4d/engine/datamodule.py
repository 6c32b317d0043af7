"""Builds datasets and data loaders from the config for Lightning.

Training shuffles frames (a distributed random sampler under DDP); evaluation
and prediction keep every video whole, in frame order, on one process (the
video-aware sampler), so tracker state is never split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler

from vis4d.config.schema import Config, DatasetConfig, HandlerConfig, ImageFolderDatasetConfig
from vis4d.data.formats import load_dataset
from vis4d.data.handler import FrameDataset, Sample, make_collate
from vis4d.data.samplers import VideoInferenceSampler
from vis4d.data.store import AnnotationStore, concat_stores


def _input_name(path: Path) -> str:
    """Dataset name of an ``--input_dir``: the folder's name, or a video file's stem."""
    return (path.stem if path.is_file() else path.resolve().name) or "input"


class Vis4DDataModule(pl.LightningDataModule):
    """Datasets of a config: ``train`` for fitting, ``test`` for validation/test/predict."""

    def __init__(self, config: Config, cache_dir: Path, input_dir: str | None = None, pin_memory: bool = False) -> None:
        super().__init__()
        self.config = config
        self.cache_dir = cache_dir
        self.input_dir = input_dir
        self.pin_memory = pin_memory
        self._train: AnnotationStore | None = None
        self._test: list[tuple[str, AnnotationStore]] | None = None

    # ------------------------------------------------------------------ stores
    def _load(self, cfg: DatasetConfig) -> AnnotationStore:
        return load_dataset(cfg, self.config.categories, cache_dir=self.cache_dir)

    def train_store(self) -> AnnotationStore:
        """All training datasets concatenated."""
        if self._train is None:
            if not self.config.train:
                from vis4d.common.errors import ConfigError

                raise ConfigError("train: the config lists no training dataset")
            self._train = concat_stores([self._load(cfg) for cfg in self.config.train])
        return self._train

    def test_stores(self) -> list[tuple[str, AnnotationStore]]:
        """(name, store) per test dataset; ``--input_dir`` replaces them with an image folder."""
        if self._test is None:
            if self.input_dir is not None:
                cfg: DatasetConfig = ImageFolderDatasetConfig(
                    name=_input_name(Path(self.input_dir)), root=self.input_dir
                )
                self._test = [(cfg.name, self._load(cfg))]
            else:
                self._test = [(cfg.name, self._load(cfg)) for cfg in self.config.test]
        return self._test

    def prepare_data(self) -> None:
        """Parse (and cache, and generate synthetic data for) every dataset once, on rank 0."""
        if self.config.train:
            self.train_store()
        self.test_stores()

    # ------------------------------------------------------------- loaders
    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def train_dataloader(self) -> DataLoader[Sample]:
        """Shuffled frames (with reference views for trackers)."""
        handler = self.config.train_handler
        dataset = FrameDataset(self.train_store(), handler, self.config.categories, training=True)
        world, rank = self._world()
        shuffle = handler.shuffle if handler.shuffle is not None else True
        sampler: torch.utils.data.Sampler[int]
        if world > 1:
            sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle)
        else:
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        return self._loader(dataset, handler, sampler, pin_memory=self.pin_memory)

    def _eval_loaders(self) -> list[DataLoader[Sample]]:
        handler = self.config.test_handler
        world, rank = self._world()
        loaders = []
        for _, store in self.test_stores():
            dataset = FrameDataset(store, handler, self.config.categories, training=False)
            sampler = VideoInferenceSampler(store, num_replicas=world, rank=rank)
            loaders.append(self._loader(dataset, handler, sampler, pin_memory=False))
        return loaders

    def _loader(
        self, dataset: FrameDataset, handler: HandlerConfig, sampler: torch.utils.data.Sampler[int], pin_memory: bool
    ) -> DataLoader[Sample]:
        return DataLoader(
            dataset,
            batch_size=handler.batch_size,
            sampler=sampler,
            num_workers=handler.num_workers,
            collate_fn=make_collate(handler),
            pin_memory=pin_memory,
            persistent_workers=handler.num_workers > 0,
        )

    def val_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets, evaluated during training."""
        return self._eval_loaders() if self.config.test else []

    def test_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets."""
        return self._eval_loaders()

    def predict_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets, or the ``--input_dir`` folder."""
        return self._eval_loaders()

    def dataset_names(self) -> Sequence[str]:
        """Names of the evaluation datasets, in dataloader order."""
        return [name for name, _ in self.test_stores()]
