from __future__ import annotations

from typing import Any

from vis4d.engine.callbacks.base import FrameOutputConsumer, InferenceBatchHooks


class _Recorder(InferenceBatchHooks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, int, int]] = []

    def on_inference_batch_end(
        self, trainer: Any, stage: str, outputs: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        self.calls.append((stage, outputs, batch_idx, dataloader_idx))


def test_lightning_hooks_are_routed_with_their_stage() -> None:
    recorder = _Recorder()
    recorder.on_validation_batch_end(None, None, "v", None, 3)  # type: ignore[arg-type]
    recorder.on_test_batch_end(None, None, "t", None, 4, 1)  # type: ignore[arg-type]
    recorder.on_predict_batch_end(None, None, "p", None, 5)  # type: ignore[arg-type]
    assert recorder.calls == [("validate", "v", 3, 0), ("test", "t", 4, 1), ("predict", "p", 5, 0)]


def test_consumers_only_see_their_stages() -> None:
    class TestOnly(FrameOutputConsumer):
        stages = ("test",)

        def __init__(self) -> None:
            self.seen: list[tuple[Any, int]] = []

        def consume(self, outputs: Any, dataloader_idx: int) -> None:
            self.seen.append((outputs, dataloader_idx))

    consumer = TestOnly()
    consumer.on_validation_batch_end(None, None, ["v"], None, 0)  # type: ignore[arg-type]
    consumer.on_test_batch_end(None, None, ["t"], None, 0, 2)  # type: ignore[arg-type]
    consumer.on_predict_batch_end(None, None, ["p"], None, 0)  # type: ignore[arg-type]
    assert consumer.seen == [(["t"], 2)]
