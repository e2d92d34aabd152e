from tests.export.conftest import power_weights  # noqa: F401
