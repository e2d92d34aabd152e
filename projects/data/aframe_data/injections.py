"""Projected signals, their SNRs, and rejection sampling.

The sky position of a draw is handled as the Earth-fixed azimuth
phi = ra - GMST(t), which alone sets a signal's projection.  Since ra is
uniform and independent of everything else, so is phi: rejection sampling
works on phi, and the true right ascension of each draw is recorded with the
sidereal time of the injection it was drawn for.
"""

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from aframe_contracts.errors import (
    DataError,
    check_not_negative,
    check_positive,
)
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet
from aframe_data.signals import Signals
from aframe_priors import priors
from aframe_signal.placement import injection_times
from aframe_signal.psd import welch_psd
from aframe_signal.snr import optimal_snrs

logger = logging.getLogger("aframe_data")


# ------------------------------------------------------------------- PSD
def background_psd(
    paths: list[Path], ifos: list[str], fftlength: float
) -> tuple[np.ndarray, float]:
    """The PSD of background files, averaged weighted by their length."""
    total, weight, rate = 0.0, 0.0, None
    for path in paths:
        chunk = BackgroundStrain.read(path, ifos)
        strain, sample_rate = chunk.strain, chunk.sample_rate
        if rate not in (None, sample_rate):
            raise DataError(f"{path}: sample rate {sample_rate} != {rate}")
        rate = sample_rate
        seconds = strain[ifos[0]].size / sample_rate
        total = total + seconds * welch_psd(strain, ifos, rate, fftlength)
        weight += seconds
    if not weight:
        raise DataError("no background files to estimate the PSD from")
    return total / weight, rate


# -------------------------------------------------------- projection, SNR
# Earth's rotation rate relative to the stars (rad/s)
SIDEREAL_RATE = 7.2921158553e-5


def gmst(times: np.ndarray) -> np.ndarray:
    """Greenwich mean sidereal time (rad) at GPS times.

    IAU 1982 GMST of UTC, as lal computes it (UT1 - UTC < 0.9 s is
    neglected, as there); the sidereal time of the earliest time is
    computed, the others follow at the sidereal rate (off by far less than
    a microradian over a day).  This avoids reading the IERS tables, which
    costs seconds.
    """
    import erfa
    from astropy.time import Time
    from astropy.utils import iers

    times = np.asarray(times, dtype=np.float64)
    if times.size == 0:
        return np.zeros(0)
    # the leap seconds shipped with astropy suffice: never download
    iers.conf.auto_download = False
    reference = float(times.min())
    utc = Time(reference, format="gps").utc
    angle = erfa.gmst82(utc.jd1, utc.jd2)
    return np.mod(angle + SIDEREAL_RATE * (times - reference), 2 * np.pi)


def project(
    parameters: dict[str, np.ndarray],
    cross: np.ndarray,
    plus: np.ndarray,
    ifos: list[str],
    sample_rate: float,
) -> np.ndarray:
    """Detector responses (N, n_ifo, T) float32 for Earth-fixed ``phi``."""
    from ml4gw.gw import compute_observed_strain, get_ifo_geometry

    tensors, vertices = get_ifo_geometry(*ifos)

    def tensor(key):
        return torch.as_tensor(parameters[key], dtype=torch.float64)

    responses = compute_observed_strain(
        tensor("dec"),
        tensor("psi"),
        tensor("phi"),
        tensors.double(),
        vertices.double(),
        sample_rate,
        cross=torch.as_tensor(cross, dtype=torch.float64),
        plus=torch.as_tensor(plus, dtype=torch.float64),
    )
    return responses.numpy().astype(np.float32)


# ---------------------------------------------------- rejection sampling
@dataclass
class Draws:
    """Accepted and rejected draws of a rejection sampling."""

    accepted: dict[str, np.ndarray] = field(default_factory=dict)
    rejected: dict[str, np.ndarray] = field(default_factory=dict)
    responses: list[np.ndarray] = field(default_factory=list)

    def add(self, table: str, rows: dict[str, np.ndarray]) -> None:
        target = getattr(self, table)
        for key, value in rows.items():
            target[key] = (
                np.concatenate([target[key], value])
                if key in target
                else value
            )

    @property
    def num_accepted(self) -> int:
        return len(self.accepted.get("snr", ()))


def check_band(
    snr_threshold: float,
    highpass: float,
    lowpass: float | None,
    sample_rate: float,
) -> None:
    """Refuse a band SNRs cannot be measured in, naming the parameter.

    Raises:
        DataError: a negative threshold, or a band that is empty or
            reaches past Nyquist.
    """
    check_not_negative(snr_threshold=snr_threshold)
    check_positive(highpass=highpass)
    top = sample_rate / 2 if lowpass is None else lowpass
    if not highpass < top <= sample_rate / 2:
        raise DataError(
            f"the SNR band highpass = {highpass} Hz to lowpass = {lowpass} "
            f"Hz is empty or passes Nyquist ({sample_rate / 2:g} Hz)"
        )


def rejection_sample(
    signals: Signals,
    count: int,
    ifos: list[str],
    psd: np.ndarray,
    snr_threshold: float,
    highpass: float,
    lowpass: float | None,
    seed: int,
    max_batch: int = 2048,
    min_acceptance: float = 1e-3,
) -> tuple[Draws, np.ndarray]:
    """Draw until ``count`` signals reach ``snr_threshold``.

    Draws are taken in order: every draw up to the one that completes the
    count is recorded, accepted or rejected, and none after it, so the
    rejected draws are exactly those a one-at-a-time sampler would make.
    The draws are bounded: when ``count / min_acceptance`` draws (and at
    least ``max_batch``) have not made the count, the threshold is out of
    the prior's reach and a DataError says so, rather than sampling (and
    keeping every rejected draw) for ever.

    Returns:
        the draws, and the accepted responses (count, n_ifo, T) float32.
        Each draw's ``slot`` is the index of the accepted signal it was
        drawn for.
    """
    check_band(snr_threshold, highpass, lowpass, signals.sample_rate)
    draws = Draws()
    if count == 0:
        size = round(signals.duration * signals.sample_rate)
        return draws, np.zeros((0, len(ifos), size), dtype=np.float32)
    acceptance = 0.5
    batch = 0
    budget = max(max_batch, math.ceil(count / min_acceptance))
    while draws.num_accepted < count:
        made = draws.num_accepted + len(draws.rejected.get("snr", ()))
        if made >= budget:
            raise DataError(
                f"only {draws.num_accepted} of {count} signals reached "
                f"snr_threshold = {snr_threshold:g} in {made} draws "
                f"(acceptance {draws.num_accepted / made:.2g}, below the "
                f"{min_acceptance:g} this sampling allows): lower "
                "snr_threshold, or use a prior whose signals are louder"
            )
        remaining = count - draws.num_accepted
        size = min(
            max_batch,
            max(16, math.ceil(1.2 * remaining / acceptance)),
            budget - made,
        )
        batch_seed = priors.stream_seed(seed, batch)
        parameters = priors.sample(signals.prior, size, batch_seed)
        # the prior's ra is used as the Earth-fixed azimuth, see above
        parameters["phi"] = parameters.pop("ra")
        cross, plus = signals.polarisations(parameters)
        responses = project(parameters, cross, plus, ifos, signals.sample_rate)
        ifo_snrs = optimal_snrs(
            responses, psd, signals.sample_rate, highpass, lowpass
        )
        parameters["ifo_snrs"] = ifo_snrs
        parameters["snr"] = np.sqrt(np.sum(ifo_snrs**2, axis=-1))
        passed = parameters["snr"] >= snr_threshold
        # the accepted signal each draw was made for (its time slot)
        parameters["slot"] = (
            draws.num_accepted + np.cumsum(passed) - passed
        ).astype(np.int64)
        # keep the draws up to the one that completes the count
        last = np.flatnonzero(np.cumsum(passed) == remaining)
        keep = last[0] + 1 if last.size else size
        parameters = {k: v[:keep] for k, v in parameters.items()}
        passed = passed[:keep]
        draws.add("accepted", {k: v[passed] for k, v in parameters.items()})
        draws.add("rejected", {k: v[~passed] for k, v in parameters.items()})
        draws.responses.append(responses[:keep][passed])
        acceptance = max(draws.num_accepted, 1) / (
            draws.num_accepted + len(draws.rejected.get("snr", ()))
        )
        batch += 1
        logger.info(
            "%d of %d signals above SNR %s (acceptance %.2f)",
            draws.num_accepted,
            count,
            snr_threshold,
            acceptance,
        )
    return draws, np.concatenate(draws.responses)


@dataclass(frozen=True)
class Band:
    """Which signals are injected: at least ``snr_threshold`` of network
    SNR between ``highpass`` and ``lowpass`` (Hz; None for Nyquist)."""

    snr_threshold: float
    highpass: float
    lowpass: float | None


def place_in_time(table: dict[str, np.ndarray], times: np.ndarray) -> None:
    """Give each draw of a table the time of its slot, and turn its
    Earth-fixed azimuth ``phi`` into the right ascension at that time."""
    slots = table.pop("slot", np.zeros(0, dtype=int))
    table["injection_time"] = times[slots]
    phi = table.pop("phi", np.zeros(0))
    table["ra"] = np.mod(phi + gmst(times[slots]), 2 * np.pi)


def timeslide_injections(
    signals: Signals,
    psd: np.ndarray,
    ifos: list[str],
    band: Band,
    span: tuple[float, float],
    count: int,
    spacing: float,
    stream: int,
) -> WaveformSet:
    """The injections of one timeslide, with every draw.

    Times are spread over GPS ``span`` (``injection_times``), draws are
    rejection sampled against the chunk's ``psd`` until each time has a
    signal, and every draw, accepted (with its responses) or rejected, is
    kept with the time and right ascension it was drawn for.  The
    returned set's attributes say what made it; the caller adds where.
    """
    times = injection_times(
        *span, count, spacing, np.random.default_rng(stream)
    )
    draws, responses = rejection_sample(
        signals,
        times.size,
        ifos,
        psd,
        band.snr_threshold,
        band.highpass,
        band.lowpass,
        stream,
    )
    for table in (draws.accepted, draws.rejected):
        place_in_time(table, times)
    return WaveformSet(
        {
            **signals.attrs(),
            "ifos": ifos,
            "snr_threshold": band.snr_threshold,
            "num_draws": times.size + len(draws.rejected.get("snr", ())),
        },
        draws.accepted,
        {ifo: responses[:, i] for i, ifo in enumerate(ifos)},
        draws.rejected,
    )
