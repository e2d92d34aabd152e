"""Fixtures of the plots stage's tests: seeded prior draws and files, and
the infer tests' small exported model (the glitch figure runs it)."""

import numpy as np
import pytest

from aframe_priors.priors import sample
from tests.export.conftest import power_weights  # noqa: F401
from tests.infer.conftest import repository  # noqa: F401
from tests.plots.synthetic import PRIOR, write_background, write_foreground


@pytest.fixture(scope="session")
def prior_draws():
    """40000 seeded draws of the mlgwsc1_bbh prior."""
    return sample(PRIOR, 40_000, 5)


@pytest.fixture
def files(tmp_path, prior_draws):
    """A background of 200 events in a year and a foreground whose draws
    within 2 Gpc luminosity distance are found."""
    background = write_background(
        tmp_path / "background.hdf5",
        np.random.default_rng(1).normal(0, 1, 200),
    )
    found = prior_draws["luminosity_distance"] < 2000
    foreground = write_foreground(
        tmp_path / "foreground.hdf5", prior_draws, found
    )
    return background, foreground
