"""Synthetic background and foreground files for the plots stage."""

import numpy as np

from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_plots.far import SECONDS_PER_YEAR

PRIOR = "mlgwsc1_bbh"
SNR_THRESHOLD = 4.0
# found draws are louder than every background event
FOUND = 100.0
# found draws' events are this far from their coalescence at most (s)
TIME_WINDOW = 0.125


def write_background(path, statistic, Tb=SECONDS_PER_YEAR, seed=0):
    """Background events of the given statistics, at random times."""
    statistic = np.asarray(statistic, float)
    rng = np.random.default_rng(seed)
    BackgroundEvents(
        statistic,
        1.26e9 + rng.uniform(0, Tb, statistic.size),
        np.stack(
            [np.zeros(statistic.size), rng.integers(1, 50, statistic.size)],
            axis=-1,
        ),
        Tb,
        ["H1", "L1"],
    ).write(path)
    return path


def write_foreground(
    path, draws, found, prior=PRIOR, num_draws=None, statistic=None
):
    """Draws as a foreground file: found draws are injected and found,
    the rest are injected but missed (statistic -inf) where their SNR
    reaches the threshold, and rejected otherwise.  Found draws have the
    statistic FOUND, or each its own of ``statistic`` (N,).

    The SNR is a stand-in, 12 Gpc / luminosity distance; found events are
    timed within TIME_WINDOW of the coalescence, uniformly.
    """
    draws = dict(draws)
    n = draws["redshift"].size
    draws["snr"] = 12e3 / draws["luminosity_distance"]
    draws["ifo_snrs"] = draws["snr"][:, None] * np.sqrt([0.5, 0.5])
    draws["injection_time"] = np.linspace(1.26e9, 1.27e9, n)
    accepted = found | (draws["snr"] >= SNR_THRESHOLD)
    parameters = {key: value[accepted] for key, value in draws.items()}
    loudness = FOUND if statistic is None else statistic[accepted]
    parameters["detection_statistic"] = np.where(
        found[accepted], loudness, -np.inf
    )
    offsets = np.random.default_rng(0).uniform(-1, 1, found.sum())
    parameters["detection_time"] = np.full(accepted.sum(), np.nan)
    parameters["detection_time"][found[accepted]] = (
        parameters["injection_time"][found[accepted]] + TIME_WINDOW * offsets
    )
    rejected = {
        key: value[~accepted]
        for key, value in draws.items()
        if key != "injection_time"
    }
    ForegroundEvents(
        {
            "Tb": 1e6,
            "prior": prior,
            "num_draws": n if num_draws is None else num_draws,
            "snr_threshold": SNR_THRESHOLD,
            "ifos": ["H1", "L1"],
            "time_window": TIME_WINDOW,
        },
        parameters,
        rejected,
    ).write(path)
    return path
