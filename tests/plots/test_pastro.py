"""aframe-plots p-astro: the model fitted to a search's files, and its
bad input."""

import numpy as np
import pytest

from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.pastro import PAstroModel
from aframe_contracts.rates import GWTC3_BBH_RATE
from aframe_pastro.model import PAstro
from aframe_plots.cli import main
from aframe_plots.report import make_report
from aframe_plots.volume import astrophysical_volume
from aframe_priors.priors import get_prior
from tests.plots.synthetic import PRIOR, write_background, write_foreground


@pytest.fixture
def search(tmp_path, prior_draws):
    """A background of 2000 normal events in a year; injections found
    above SNR 6 with statistic SNR / 2, well above most of it."""
    background = write_background(
        tmp_path / "background.hdf5",
        np.random.default_rng(1).normal(0, 1, 2000),
    )
    snr = 12e3 / prior_draws["luminosity_distance"]
    foreground = write_foreground(
        tmp_path / "foreground.hdf5", prior_draws, snr > 6, statistic=snr / 2
    )
    return background, foreground


def p_astro_args(background, foreground, output, *extra):
    return [
        "p-astro",
        f"--background={background}",
        f"--foreground={foreground}",
        f"--output={output}",
        *extra,
    ]


def test_the_model_of_a_search(search, tmp_path):
    output = tmp_path / "p_astro.hdf5"
    assert main(p_astro_args(*search, output)) == 0
    model = PAstroModel.read(output)
    assert model.rate == GWTC3_BBH_RATE and model.population == "prior"
    # the foreground's rate is R V0, spread over every draw
    v0 = astrophysical_volume(get_prior(PRIOR))
    assert model.attrs["mergers_per_year"] == pytest.approx(
        GWTC3_BBH_RATE * v0
    )
    p_astro = PAstro(model)
    # the quiet background is terrestrial, the loud injections are not
    assert p_astro(0.0) < 1e-3
    assert p_astro(10.0) > 0.99
    calibration = model.calibration
    assert calibration.background.sum() == 2000
    assert calibration.injections.sum() == model.attrs["num_found"]
    # the loudest bin is mostly injections, and says so
    assert calibration.fraction[-1] > 0.9
    assert calibration.p_astro[-1] > 0.9
    # every offline event has its p_astro, in its file's order
    background, foreground = search
    statistic = BackgroundEvents.read(background).statistic
    assert np.array_equal(model.events["background"], p_astro(statistic))
    found = ForegroundEvents.read(foreground).parameters["detection_statistic"]
    injections = model.events["injections"]
    assert injections.shape == found.shape
    assert np.all(injections[~np.isfinite(found)] == 0)
    loud = np.isfinite(found)
    assert np.array_equal(injections[loud], p_astro(found[loud]))


def test_a_lower_rate_is_a_lower_p_astro(search, tmp_path):
    low, high = tmp_path / "low.hdf5", tmp_path / "high.hdf5"
    assert main(p_astro_args(*search, low, "--rate=1")) == 0
    assert main(p_astro_args(*search, high, "--rate=100")) == 0
    x = np.linspace(1, 4, 7)
    low, high = (PAstro(PAstroModel.read(path)) for path in (low, high))
    np.testing.assert_allclose(
        high.log_odds(x) - low.log_odds(x), np.log(100), rtol=1e-9
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--rate=-1"], "rate = -1.0 Gpc^-3 yr^-1: it must not be negative"),
        (["--population=powerlaw"], "unknown population 'powerlaw'"),
    ],
)
def test_bad_arguments(search, tmp_path, capsys, extra, message):
    output = tmp_path / "p_astro.hdf5"
    assert main(p_astro_args(*search, output, *extra)) == 2
    error = capsys.readouterr().err
    assert error.startswith("aframe-plots: error: ")
    assert message in error
    assert len(error.strip().splitlines()) == 1
    assert not output.exists()


def test_no_background_events(search, tmp_path, capsys):
    empty = write_background(tmp_path / "empty.hdf5", np.zeros(0))
    output = tmp_path / "p_astro.hdf5"
    assert main(p_astro_args(empty, search[1], output)) == 2
    assert "there are no background events" in capsys.readouterr().err
    assert not output.exists()


def test_an_existing_model_is_replaced_only_with_force(search, tmp_path):
    output = tmp_path / "p_astro.hdf5"
    assert main(p_astro_args(*search, output)) == 0
    assert main(p_astro_args(*search, output)) == 2
    assert main(p_astro_args(*search, output, "--force=true")) == 0


def test_the_report_gives_p_astro(search, tmp_path):
    """The loudest background events and found injections get their
    p_astro, and the calibration check is shown, as a table and a
    figure."""
    model = tmp_path / "p_astro.hdf5"
    assert main(p_astro_args(*search, model)) == 0
    page = make_report(*search, tmp_path / "out", p_astro_model=model)
    text = page.read_text()
    assert (tmp_path / "out" / "p_astro.png").exists()
    assert "<h3>The 10 loudest found injections</h3>" in text
    assert "<th>p_astro</th>" in text
    assert "<th>share from injections</th>" in text
    assert text.count('<img src="data:image/png;base64,') == 5
    loudest = PAstro(PAstroModel.read(model))(
        BackgroundEvents.read(search[0]).statistic.max()
    )
    assert f"<td>{loudest:.3f}</td>" in text


def test_a_report_without_a_model_says_so(search, tmp_path):
    page = make_report(*search, tmp_path / "out").read_text()
    assert "No p_astro model was given to the report." in page
    assert not (tmp_path / "out" / "p_astro.png").exists()
