"""Projection and rejection sampling against bilby."""

import logging
import re

import numpy as np
import pytest
from bilby.gw.detector import InterferometerList

from aframe_contracts.errors import DataError
from aframe_data import injections
from aframe_data.psd import interpolate_psd, load_psd
from aframe_data.signals import Signals
from aframe_signal.snr import optimal_snrs

RATE = 1024
SIGNALS = Signals("mlgwsc1_bbh", "IMRPhenomD", RATE, 4, 20, 50, 0.5)


def design_psd(size):
    frequencies = np.linspace(0, RATE / 2, size // 2 + 1)
    psd = interpolate_psd(*load_psd("aLIGO_O4_high"), frequencies)
    return np.stack([psd, psd * 2])


def test_projection_matches_bilby_antenna_patterns():
    """A plus-only, then cross-only, impulse at GPS t projects as bilby's F."""
    time = 1240583383.0
    size = 4 * RATE
    impulse = np.zeros((1, size))
    impulse[0, size // 2] = 1.0
    ra, dec, psi = 1.3, -0.4, 0.7
    parameters = {
        "dec": np.array([dec]),
        "psi": np.array([psi]),
        "phi": np.array([ra]) - injections.gmst(np.array([time])),
    }
    ifos = InterferometerList(["H1", "L1"])
    for mode, (cross, plus) in {
        "plus": (0 * impulse, impulse),
        "cross": (impulse, 0 * impulse),
    }.items():
        responses = injections.project(
            parameters, cross, plus, ["H1", "L1"], RATE
        )
        for i, ifo in enumerate(ifos):
            expected = ifo.antenna_response(ra, dec, time, psi, mode)
            # the delay from the geocentre moves the peak by a few samples
            assert responses[0, i].sum() == pytest.approx(expected, abs=1e-3)


def test_rejection_sampling_records_every_draw_in_order(caplog):
    psd = design_psd(4 * RATE)
    with caplog.at_level(logging.INFO, logger="aframe_data"):
        draws, responses = injections.rejection_sample(
            SIGNALS, 50, ["H1", "L1"], psd, 12, 32, None, seed=3
        )
    # a long draw says how far it is, batch by batch
    assert re.search(
        r"50 of 50 signals above SNR 12 \(acceptance 0\.\d\d\)", caplog.text
    )
    accepted, rejected = draws.accepted, draws.rejected
    assert len(accepted["snr"]) == 50 and responses.shape == (50, 2, 4 * RATE)
    assert np.all(accepted["snr"] >= 12) and np.all(rejected["snr"] < 12)
    # the draw that completes the count is the last one recorded
    assert accepted["slot"].tolist() == list(range(50))
    assert np.all(rejected["slot"] <= 49)
    # the stored responses have the stored SNRs
    np.testing.assert_allclose(
        optimal_snrs(responses, psd, RATE, 32, None),
        accepted["ifo_snrs"],
        rtol=1e-4,
    )
    again, _ = injections.rejection_sample(
        SIGNALS, 50, ["H1", "L1"], psd, 12, 32, None, seed=3
    )
    np.testing.assert_array_equal(again.rejected["snr"], rejected["snr"])


def test_unreachable_threshold_is_an_error_not_a_hang():
    psd = design_psd(4 * RATE)
    with pytest.raises(DataError) as error:
        injections.rejection_sample(
            SIGNALS,
            2,
            ["H1", "L1"],
            psd,
            1e5,
            32,
            None,
            0,
            max_batch=16,
            min_acceptance=0.1,
        )
    message = str(error.value)
    assert "0 of 2 signals" in message
    assert "snr_threshold = 100000" in message
    assert "in 20 draws (acceptance 0, below the 0.1" in message


def test_no_signals_asked():
    draws, responses = injections.rejection_sample(
        SIGNALS, 0, ["H1"], design_psd(4 * RATE)[:1], 8, 32, None, 0
    )
    assert responses.shape == (0, 1, 4 * RATE) and draws.num_accepted == 0


def test_gmst_matches_lal():
    import lal

    times = 1240583383 + np.array([0.0, 17.5, 3600, 86400])
    expected = [lal.GreenwichMeanSiderealTime(t) % (2 * np.pi) for t in times]
    np.testing.assert_allclose(injections.gmst(times), expected, atol=1e-7)
