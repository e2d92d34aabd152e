"""The serving library's tests serve the inference tests' small exported
model (tests/infer/conftest.py)."""

from tests.export.conftest import power_weights, weights  # noqa: F401
from tests.infer.conftest import (  # noqa: F401
    background,
    calibrated,
    repository,
    repository_reads,
)
