"""An exported, calibrated model; ten minutes of simulated strain with
loud bursts in it; the offline background that FARs are read off."""

import numpy as np
import pytest

from aframe_contracts.events import BackgroundEvents, background_years
from aframe_infer.search import analyse
from aframe_pastro.model import fit
from tests.export.conftest import power_weights  # noqa: F401
from tests.infer.conftest import (  # noqa: F401
    background,
    calibrated,
    loud_injections,
    repository,
    simulated_background,
)

# ten minutes of replayed data from a whole GPS second
T0 = 1240600000
DURATION = 600
# the bursts' coalescence times: well apart, and after the first
# stream's warm-up (a request: 16 s of PSD, a kernel and the filter)
BURSTS = T0 + np.array([60.0, 150.0, 250.3, 340.7, 430.1, 520.9])


@pytest.fixture
def replayed(tmp_path):
    """Ten minutes of strain (no signals) and the bursts to add."""
    path = simulated_background(tmp_path / "replayed.hdf5", T0, DURATION, 11)
    bursts = loud_injections(tmp_path / "bursts.hdf5", BURSTS)
    return path, bursts


@pytest.fixture
def offline_background(calibrated, background, tmp_path):  # noqa: F811
    """The offline search's time-slid background of the model, as the
    online search reads it (results/background.hdf5): three timeslides,
    aggregated as the pipeline does."""
    from aframe_infer.search import aggregate
    from aframe_serving.repository import ModelRepository

    timing = ModelRepository.open(calibrated).timing
    branches = []
    for k in (1, 2, 3):
        branches.append(tmp_path / f"offline-{k}")
        analyse(
            calibrated,
            background,
            [0.0, float(k)],
            branches[-1],
            loud_injections(tmp_path / f"none-{k}.hdf5", []),
            timing.integration_window_length,
            timing.cluster_window_length,
        )
    path = tmp_path / "background-events.hdf5"
    aggregate(branches, path, tmp_path / "foreground-events.hdf5")
    return path


@pytest.fixture
def p_astro_model(offline_background, tmp_path):
    """A p_astro model of the offline background and injections found
    louder than most of it: statistics spread from its median to twice
    its loudest."""
    events = BackgroundEvents.read(offline_background)
    quiet, loud = np.median(events.statistic), events.statistic.max()
    found = np.random.default_rng(3).uniform(quiet, 2 * loud, 2000)
    path = tmp_path / "p_astro.hdf5"
    fit(
        events.statistic,
        background_years(events.Tb),
        found,
        np.ones(found.size),
        mergers_per_year=100.0,
        rate=1.0,
        population="test",
    ).write(path)
    return path
