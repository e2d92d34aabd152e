"""Glitches: gengli's blips coloured into strain, their draws, records and
tables."""

import numpy as np
import pytest
import scipy.stats

from aframe_contracts.errors import DataError
from aframe_contracts.glitches import REAL, GlitchTable
from aframe_data.psd import load_psd
from aframe_signal.glitches import (
    PAD,
    GlitchModel,
    band_limit,
    colour,
    draw_glitches,
    gengli_bank,
    gengli_shape,
    glitchy,
    loudest_near_glitches,
    nearest_glitch,
    power_law,
    read_glitch_table,
)
from aframe_signal.snr import optimal_snrs

RATE = 1024.0


@pytest.fixture(scope="module")
def design_psd():
    return load_psd("aLIGO_ZERO_DET_high_P")


@pytest.mark.parametrize("ifo", ["H1", "L1"])
def test_colouring_gives_back_the_shape_at_the_drawn_snr(ifo, design_psd):
    """A coloured blip has the drawn optimal SNR against the PSD (the
    data stage's SNR, optimal_snrs), and whitening it by that PSD gives
    back gengli's whitened shape (above the highpass), scaled to it."""
    frequencies, psd = design_psd
    shape = gengli_shape(ifo, 7, RATE)
    strain = colour(shape, frequencies, psd, RATE, 11.0, 16.0)
    pad = round(PAD * RATE)
    assert strain.size == shape.size + 2 * pad
    grid = np.linspace(0, RATE / 2, 4097)
    on_grid = np.interp(grid, frequencies, psd)[None]
    snr = optimal_snrs(strain[None, None], on_grid, RATE, 16.0, None)
    assert snr[0, 0] == pytest.approx(11.0, rel=2e-3)
    spectrum_grid = np.fft.rfftfreq(strain.size, 1 / RATE)
    asd = np.sqrt(np.interp(spectrum_grid, frequencies, psd) * RATE / 2)
    whitened = band_limit(
        np.fft.irfft(np.fft.rfft(strain) / asd, strain.size), RATE, 16.0
    )
    expected = band_limit(np.pad(shape, pad), RATE, 16.0)
    expected *= 11.0 / np.linalg.norm(expected)
    error = np.abs(whitened - expected).max() / np.abs(expected).max()
    assert error < 0.01
    # no edges: the strain starts and ends at zero
    assert abs(strain[0]) < 1e-6 * np.abs(strain).max()
    assert abs(strain[-1]) < 1e-6 * np.abs(strain).max()


def test_gengli_shapes_are_reproducible_and_keep_the_random_state():
    import torch

    torch.manual_seed(5)
    expected_next = torch.rand(1)
    torch.manual_seed(5)
    first = gengli_shape("L1", 3, RATE)
    assert torch.rand(1) == expected_next
    assert np.array_equal(first, gengli_shape("L1", 3, RATE))
    assert not np.allclose(first, gengli_shape("L1", 4, RATE))
    # a blip: its peak in the middle of 0.23 s
    assert first.size == round(938 * RATE / 4096)
    assert abs(np.argmax(np.abs(first)) - first.size // 2) < first.size // 8
    bank = gengli_bank("H1", 5, RATE, 1)
    assert bank.shape == (5, first.size)


def test_draws_are_a_seeded_poisson_process_per_ifo():
    model = GlitchModel({"H1": 0.29, "L1": 1.1})
    day = draw_glitches(model, ["H1", "L1"], 1e9, 86400, seed=3)
    again = draw_glitches(model, ["H1", "L1"], 1e9, 86400, seed=3)
    for column in ("time", "ifo", "snr", "seed"):
        assert np.array_equal(getattr(day, column), getattr(again, column))
    counts = {ifo: len(day.of(ifo)) for ifo in ("H1", "L1")}
    # Poisson counts: within 5 sigma of the rate
    for ifo, rate in model.rates.items():
        mean = rate * 1440
        assert abs(counts[ifo] - mean) < 5 * np.sqrt(mean)
    assert np.all(np.diff(day.time) >= 0)
    assert np.all((day.time >= 1e9) & (day.time < 1e9 + 86400))
    # one ifo's glitches do not move when another's rate changes
    fewer = GlitchModel({"H1": 0.29, "L1": 0.5})
    other = draw_glitches(fewer, ["H1", "L1"], 1e9, 86400, seed=3)
    assert np.array_equal(other.of("H1").time, day.of("H1").time)
    assert not np.array_equal(
        draw_glitches(model, ["H1", "L1"], 1e9, 86400, seed=4).time,
        day.time,
    )


def test_snrs_follow_the_power_law():
    rng = np.random.default_rng(0)
    draws = power_law(rng, 6.5, 100.0, -2.0, 5000)
    # p ~ x^-2 on [a, b]: CDF (1/a - 1/x) / (1/a - 1/b)
    a, b = 6.5, 100.0

    def cdf(x):
        return (1 / a - 1 / x) / (1 / a - 1 / b)

    assert scipy.stats.kstest(draws, cdf).pvalue > 0.01
    flat = power_law(rng, 1.0, 2.0, -1.0, 5000)
    assert (
        scipy.stats.kstest(flat, lambda x: np.log(x) / np.log(2)).pvalue > 0.01
    )


def test_glitchy_strain_is_reproducible_and_recorded(design_psd):
    rng = np.random.default_rng(1)
    size = round(300 * RATE)
    strain = {
        "H1": rng.standard_normal(size) * 1e-21,
        "L1": rng.standard_normal(size) * 1e-21,
    }
    model = GlitchModel({"H1": 2.0, "L1": 4.0})
    added, table = glitchy(strain, 1e9, RATE, model, 9)
    again, same = glitchy(strain, 1e9, RATE, model, 9)
    assert len(table) > 10 and np.array_equal(table.seed, same.seed)
    for ifo in ("H1", "L1"):
        assert np.array_equal(added[ifo], again[ifo])
        difference = added[ifo] - strain[ifo]
        # the glitches sit where the record says
        for time in table.of(ifo).time:
            i = round((time - 1e9) * RATE)
            near = np.abs(difference[max(i - 200, 0) : i + 200]).max()
            assert near > 0
    assert table.attrs["source"] == "gengli" and table.attrs["seed"] == 9


@pytest.mark.parametrize(
    "model, ifos, message",
    [
        (GlitchModel({"H1": -1.0}), ["H1"], "must not be negative"),
        (GlitchModel(snr_min=20, snr_max=10), ["H1"], "0 < snr_min < snr_max"),
        (GlitchModel({"V1": 1.0}), ["H1", "V1"], "no glitches of V1"),
        (GlitchModel(classes=["tomte"]), ["H1"], "gengli makes blip"),
        (GlitchModel(taper=2), ["H1"], "glitches.taper"),
    ],
)
def test_bad_glitch_parameters_are_one_line_errors(model, ifos, message):
    with pytest.raises(DataError, match=message) as error:
        model.check(ifos)
    assert "\n" not in str(error.value)


def test_a_glitch_table_is_read_from_omicron_or_gravity_spy_columns(
    tmp_path,
):
    gravity_spy = tmp_path / "gspy.csv"
    gravity_spy.write_text(
        "GPStime,ifo,snr,label\n"
        "1e9,L1,12.5,Blip\n"
        "999999990.5,H1,8.0,Blip\n"
        "1e9,V1,9.0,Blip\n"
    )
    table = read_glitch_table(gravity_spy, ["H1", "L1"])
    assert table.time.tolist() == [999999990.5, 1e9]
    assert table.ifo.tolist() == ["H1", "L1"]
    assert table.snr.tolist() == [8.0, 12.5]
    assert np.all(table.seed == REAL)
    omicron = tmp_path / "omicron.txt"
    omicron.write_text("# triggers\ntime snr ifo\n1e9 7.0 H1\n")
    assert read_glitch_table(omicron, ["H1"]).snr.tolist() == [7.0]
    # Gravity Spy's O3 tables: the peak in full GPS seconds (event_time)
    # beside its whole seconds and nanoseconds, which a time must not be
    # cut to
    o3 = tmp_path / "H1_O3a.csv"
    o3.write_text(
        "event_time,ifo,peak_time,peak_time_ns,snr,ml_label\n"
        "1238166018.4375,H1,1238166018,437500000,15.2,Blip\n"
    )
    assert read_glitch_table(o3, ["H1"]).time.tolist() == [1238166018.4375]
    # LIGO's sngl_burst columns: whole seconds and nanoseconds only
    burst = tmp_path / "sngl_burst.txt"
    burst.write_text(
        "peak_time peak_time_ns start_time snr ifo\n"
        "1238166018 437500000 1238166018 15.2 L1\n"
    )
    assert read_glitch_table(burst, ["L1"]).time.tolist() == [1238166018.4375]


def test_a_glitch_table_without_a_column_is_named(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("time,ifo\n1e9,H1\n")
    with pytest.raises(DataError, match="has no snr column"):
        read_glitch_table(path, ["H1"])
    with pytest.raises(DataError, match="is not a file"):
        read_glitch_table(tmp_path / "missing.csv", ["H1"])


def test_a_glitch_record_reads_back(tmp_path):
    table = draw_glitches(GlitchModel(), ["H1", "L1"], 1e9, 3600, 1)
    table.write(tmp_path / "glitches.hdf5")
    back = GlitchTable.read(tmp_path / "glitches.hdf5")
    assert back.ifo.tolist() == table.ifo.tolist()
    assert np.array_equal(back.time, table.time)
    assert np.array_equal(back.seed, table.seed)
    assert back.attrs["snr_min"] == 6.5
    assert len(back.between(1e9, 1e9 + 1800)) == np.sum(
        table.time < 1e9 + 1800
    )
    counts = back.counts(["H1", "L1", "V1"])
    assert counts["H1"] + counts["L1"] == len(back) and counts["V1"] == 0
    assert back.describe(["H1"]) == f"H1: {counts['H1']}"


def test_events_near_glitches_account_for_the_shifts():
    """A glitch at GPS 100 in L1 is seen at analysis time 100 - s by a
    timeslide that advances L1 by s; an H1 glitch at 500 is not moved."""
    table = GlitchTable(
        np.array([100.0, 500.0]),
        np.array(["L1", "H1"]),
        np.array([20.0, 8.0]),
        np.array([1, 2]),
    )
    times = np.array([97.2, 100.3, 499.0, 300.0])
    shifts = np.array([[0, 3.0], [0, 0.0], [0, 7.0], [0, 0.0]])
    distance, row = nearest_glitch(times, shifts, ["H1", "L1"], table)
    assert distance[:3] == pytest.approx([-0.2, -0.3, 1.0])
    assert row.tolist() == [0, 0, 1, 1]
    summary = loudest_near_glitches(
        times, np.array([5.0, 9.0, 1.0, 7.0]), shifts, ["H1", "L1"], table
    )
    assert summary["glitches"] == {"H1": 1, "L1": 1}
    assert summary["loudest_near_a_glitch"] == 3
    loudest = summary["events"][0]
    assert loudest["statistic"] == 9.0 and loudest["glitch_ifo"] == "L1"
    assert summary["events"][1]["glitch_offset_s"] == pytest.approx(200.0)
