import pytest

from tests.train.tiny import make_data


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """Background, training and validation waveform files (tiny)."""
    return make_data(tmp_path_factory.mktemp("train-data"))
