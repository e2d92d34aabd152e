"""Where injected signals go in a stretch of strain: the testing
injections of the data stage and the validation signals that calibrate
a model's event times (aframe-infer calibrate) alike."""

import logging

import numpy as np

from aframe_contracts.segments import INJECTION_JITTER, injection_room

logger = logging.getLogger("aframe_signal")


def injection_times(
    start: float,
    stop: float,
    count: int,
    spacing: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` times evenly over [start, stop), jittered by up to 0.5 s.

    Fewer fit when the pitch would fall under ``spacing`` and the
    jitter (``injection_room``); the jitter keeps injections off a fixed
    phase of the inference grid.
    """
    room = max(0.0, stop - start)
    fits = injection_room(room, spacing)
    if count > fits:
        logger.warning(
            "%d injections with %s s spacing do not fit in %.0f s: placing %d",
            count,
            spacing,
            room,
            fits,
        )
        count = fits
    if count == 0:
        return np.zeros(0)
    pitch = room / count
    centres = start + (np.arange(count) + 0.5) * pitch
    half = INJECTION_JITTER / 2
    return centres + rng.uniform(-half, half, count)


def arrival_delays(
    ifo: str, dec: np.ndarray, phi: np.ndarray, sample_rate: float
) -> np.ndarray:
    """How long after its geocentric coalescence each signal of
    declination ``dec`` and Earth-fixed azimuth ``phi`` (rad) reaches
    ``ifo`` (s), as the projection of the data stage delays it
    (ml4gw's ``compute_observed_strain``: to whole samples, towards 0).
    """
    from ml4gw.constants import C
    from ml4gw.gw import get_ifo_geometry

    _, vertices = get_ifo_geometry(ifo)
    theta = np.pi / 2 - np.asarray(dec, np.float64)
    phi = np.asarray(phi, np.float64)
    source = np.stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)]
        + [np.cos(theta)],
        -1,
    )
    delay = -(source @ vertices[0].double().numpy()) / C
    return np.trunc(delay * sample_rate) / sample_rate
