"""Fixtures of the loader tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data.datasets.loader_helpers import two_videos_frames


@pytest.fixture()
def two_videos() -> list[dict[str, Any]]:
    """Two videos of two frames, frames deliberately out of order in the list."""
    return two_videos_frames()
