"""Builds datasets and data loaders from the config for Lightning.

Training shuffles frames with :class:`~vis4d.data.samplers.TrainingSampler`
(split across ranks under DDP); its loader is resumable: Lightning saves its
state in every checkpoint and, resuming in the middle of an epoch, the loader
skips exactly the batches already trained on. Evaluation and prediction keep
every video whole, in frame order, on one process (the video-aware sampler),
so tracker state is never split. Every loader has its own random generator,
so creating one never draws from the global torch generator the model's
samplers use (which would shift them after a resume).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader

from vis4d.config.schema import Config, DatasetConfig, HandlerConfig, ImageFolderDatasetConfig
from vis4d.data.formats import load_dataset
from vis4d.data.handler import FrameDataset, Sample, make_collate
from vis4d.data.samplers import TrainingSampler, VideoInferenceSampler
from vis4d.data.store import AnnotationStore, build_store, concat_stores
from vis4d.data.stream_source import is_stream_source, stream_name
from vis4d.engine.callbacks.interrupt import ignore_interrupts, register_worker_reaper
from vis4d.engine.recipe import TrainingRecipe


def _input_name(path: Path) -> str:
    """Dataset name of an ``--input_dir``: the folder's name, or a video file's stem."""
    return (path.stem if path.is_file() else path.resolve().name) or "input"


class ResumableLoader(DataLoader[Sample]):
    """The training loader, with the state Lightning saves in checkpoints (``state_dict``/``load_state_dict``).

    The state is where training stood in its epoch, read from the trainer's
    loop (what the data loader has fetched runs ahead of what was trained on).
    Lightning hands it back only when resuming inside an epoch; the sampler
    then yields the rest of that epoch, up to the batch count the epoch had
    (``limit_train_batches`` included).
    """

    def __init__(self, dataset: FrameDataset, *, sampler: TrainingSampler, trainer: Any, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self.training_sampler = sampler
        self.trainer = trainer

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # any iterator will do for Lightning
        """An iterator that starts the loader (and its workers' prefetching) at the first batch asked for.

        Lightning creates the iterator while setting up, before it sets the
        sampler's epoch or hands back a resumed run's state; with workers, a
        plain data loader would already be drawing indices of the wrong epoch.
        The epoch is the trainer's, read then: Lightning sets the sampler's
        from its count of epochs processed, which a step-limited run (``--max_steps``)
        resumed from a checkpoint written at an epoch's end counts twice (Lightning
        2.6 replays that end), so it would train every later epoch in the order of the next.
        """

        def start() -> Iterator[Any]:
            if self.trainer is not None:  # None: the loader used on its own (the sampler's epoch stays as set)
                self.training_sampler.set_epoch(int(self.trainer.current_epoch))
            return super(ResumableLoader, self).__iter__()

        return _StartOnFirstBatch(start)

    def state_dict(self) -> dict[str, int]:
        """Epoch, batches trained in it, and its length in batches."""
        return {
            "epoch": int(self.trainer.current_epoch),
            "batches_done": int(self.trainer.fit_loop.epoch_loop.batch_progress.current.processed),
            "epoch_batches": int(self.trainer.num_training_batches),
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue the interrupted epoch after its last trained batch."""
        size = int(self.batch_size or 1)
        if state["batches_done"] < state["epoch_batches"]:
            self.training_sampler.set_epoch(state["epoch"])
            self.training_sampler.resume(state["epoch"], state["batches_done"] * size, state["epoch_batches"] * size)


class _StartOnFirstBatch(Iterator[Any]):
    """Calls ``start`` (which makes the real iterator) when the first item is asked for."""

    def __init__(self, start: Callable[[], Iterator[Any]]) -> None:
        self._start = start
        self._iterator: Iterator[Any] | None = None

    def __next__(self) -> Any:
        if self._iterator is None:
            self._iterator = self._start()
        return next(self._iterator)


if TYPE_CHECKING:
    from vis4d.data.stream import StreamDataset


class Vis4DDataModule(pl.LightningDataModule):
    """Datasets of a config: ``train`` for fitting, ``test`` for validation/test/predict."""

    def __init__(
        self,
        config: Config,
        cache_dir: Path,
        input_dir: str | None = None,
        pin_memory: bool = False,
        data_seed: int = 0,
        action: str = "train",
        stream_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.action = action
        self.data_seed = data_seed
        self.cache_dir = cache_dir
        self.input_dir = input_dir
        self.pin_memory = pin_memory
        self.stream_timeout = stream_timeout
        self._train: AnnotationStore | None = None
        self._test: list[tuple[str, AnnotationStore]] | None = None
        self.stream: StreamDataset | None = None  # the live source of --input_dir 0 / rtsp://..., once opened
        self.skip_rows: dict[int, Any] = {}  # per test dataset: rows a resumed predict run finished before

    # ------------------------------------------------------------------ stores
    def _load(self, cfg: DatasetConfig) -> AnnotationStore:
        return load_dataset(cfg, self.config.categories, cache_dir=self.cache_dir)

    def train_store(self) -> AnnotationStore:
        """All training datasets concatenated."""
        if self._train is None:
            if not self.config.train:
                from vis4d.common.errors import ConfigError

                raise ConfigError("train: the config lists no training dataset")
            stores = [self._load(cfg) for cfg in self.config.train]
            for cfg, store in zip(self.config.train, stores, strict=True):
                if store.num_boxes == 0:  # it would train on nothing but background
                    from vis4d.common.errors import DataError

                    source = getattr(cfg, "annotations", None) or getattr(cfg, "root", cfg.name)
                    raise DataError(
                        f"{source}: training set '{cfg.name}' has no boxes of the config's categories "
                        f"{self.config.categories} in {store.num_frames} frame(s); nothing to train on"
                    )
            self._train = concat_stores(stores)
        return self._train

    @property
    def streams(self) -> bool:
        """Whether ``--input_dir`` is a live source (a camera, a stream URL): frames come as they arrive."""
        return self.action == "predict" and is_stream_source(self.input_dir)

    def stop_stream(self) -> None:
        """End the live source after the frame being read (safe in a signal handler)."""
        if self.stream is not None:
            self.stream.stop()

    def test_stores(self) -> list[tuple[str, AnnotationStore]]:
        """(name, store) per test dataset; ``--input_dir`` replaces them with an image folder.

        A live source has no frames known in advance: its name and an empty store.
        """
        if self._test is None:
            if self.streams and self.input_dir is not None:
                self._test = [(stream_name(self.input_dir), build_store(self.config.categories, []))]
            elif self.input_dir is not None:
                cfg: DatasetConfig = ImageFolderDatasetConfig(
                    name=_input_name(Path(self.input_dir)), root=self.input_dir
                )
                self._test = [(cfg.name, self._load(cfg))]
            else:
                self._test = [(cfg.name, self._load(cfg)) for cfg in self.config.test]
                if self.action in ("train", "test"):  # predict needs no ground truth
                    for cfg, (_, store) in zip(self.config.test, self._test, strict=True):
                        if store.num_boxes == 0:
                            from vis4d.data.notes import warn

                            source = getattr(cfg, "annotations", None) or getattr(cfg, "root", cfg.name)
                            warn(
                                f"{source}: test set '{cfg.name}' has no boxes of the config's categories in "
                                f"{store.num_frames} frame(s); its metrics are undefined ('-')"
                            )
        return self._test

    def prepare_data(self) -> None:
        """Parse (and cache, and generate synthetic data for) the datasets the action reads, once, on rank 0.

        ``train`` reads the training and validation (test) sets, ``test`` the
        test sets, ``predict`` the test sets or only ``--input_dir``: a config
        whose training data is not on this machine still tests and predicts.
        """
        if self.action == "train" and self.config.train:
            self.train_store()
        self.test_stores()

    # ------------------------------------------------------------- loaders
    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def train_dataloader(self) -> DataLoader[Sample]:
        """Shuffled frames (with reference views for trackers), resumable mid-epoch; no mosaic in the last epochs."""
        handler = self.config.train_handler
        max_epochs = getattr(self.trainer, "max_epochs", None) if self.trainer is not None else None
        no_aug_from = TrainingRecipe.from_config(self.config, self.data_seed).no_aug_start(max_epochs)
        dataset = FrameDataset(self.train_store(), handler, self.config.categories, True, no_aug_from)
        world, rank = self._world()
        shuffle = handler.shuffle if handler.shuffle is not None else True
        sampler = TrainingSampler(len(dataset), shuffle, self.data_seed, num_replicas=world, rank=rank)
        return ResumableLoader(
            dataset, sampler=sampler, trainer=self.trainer, **self._loader_options(handler, self.pin_memory)
        )

    def _eval_loaders(self) -> list[DataLoader[Sample]]:
        handler = self.config.test_handler
        world, rank = self._world()
        loaders = []
        for index, (_, store) in enumerate(self.test_stores()):
            dataset = FrameDataset(store, handler, self.config.categories, training=False)
            sampler = VideoInferenceSampler(store, num_replicas=world, rank=rank, skip=self.skip_rows.get(index))
            loaders.append(self._loader(dataset, handler, sampler, pin_memory=False))
        return loaders

    def _loader(
        self, dataset: FrameDataset, handler: HandlerConfig, sampler: torch.utils.data.Sampler[int], pin_memory: bool
    ) -> DataLoader[Sample]:
        return DataLoader(dataset, sampler=sampler, **self._loader_options(handler, pin_memory))

    def _loader_options(self, handler: HandlerConfig, pin_memory: bool) -> dict[str, Any]:
        if handler.num_workers > 0:
            register_worker_reaper()
        return {
            "batch_size": handler.batch_size,
            "num_workers": handler.num_workers,
            "collate_fn": make_collate(handler),
            "pin_memory": pin_memory,
            "persistent_workers": handler.num_workers > 0,
            "generator": torch.Generator().manual_seed(self.data_seed),  # worker seeds; not the global generator
            "worker_init_fn": ignore_interrupts,
        }

    def val_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets, evaluated during training."""
        return self._eval_loaders() if self.config.test else []

    def test_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets."""
        return self._eval_loaders()

    def predict_dataloader(self) -> list[DataLoader[Sample]]:
        """The test datasets, the ``--input_dir`` folder, or the live source (one frame per batch, read here)."""
        if not self.streams or self.input_dir is None:
            return self._eval_loaders()
        from vis4d.data.stream import StreamDataset

        handler = self.config.test_handler
        if self.stream is not None:
            self.stream.close()
        self.stream = StreamDataset(self.input_dir, handler, self.stream_timeout, self.stream_timeout)
        return [DataLoader(self.stream, batch_size=1, num_workers=0, collate_fn=make_collate(handler))]

    def dataset_names(self) -> Sequence[str]:
        """Names of the evaluation datasets, in dataloader order."""
        return [name for name, _ in self.test_stores()]
