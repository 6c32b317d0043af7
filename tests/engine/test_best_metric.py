"""launch.metrics chooses the tracking metrics; launch.best_metric must be a field of a computed one."""

from __future__ import annotations

import pytest

from vis4d.common.errors import ConfigError
from vis4d.config.schema import LaunchConfig
from vis4d.engine.resolve import _check_best_metric


def test_best_metric_may_name_teta_fields_when_teta_is_computed() -> None:
    _check_best_metric(LaunchConfig(best_metric="TETA", metrics=["clear", "teta"]))
    _check_best_metric(LaunchConfig(best_metric="TETA_AssocA", metrics=["teta"]))
    _check_best_metric(LaunchConfig(best_metric="MOTA"))  # the defaults: CLEAR, IDF1, HOTA
    with pytest.raises(ConfigError, match="launch.best_metric: unknown metric 'TETA'"):
        _check_best_metric(LaunchConfig(best_metric="TETA"))
    with pytest.raises(ConfigError, match=r"launch.metrics: unknown tracking metric\(s\) \['tetra'\]"):
        _check_best_metric(LaunchConfig(metrics=["tetra"]))
