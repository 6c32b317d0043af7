"""The detector tests' two-image batch, for the tracking models' training tests."""

from tests.model.detect.conftest import tiny_batch  # noqa: F401  (a fixture, used by name)
