"""The report: its files, its tables and figures, and its messages for
input that has no answer."""

import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.image import imread

from aframe_contracts.events import SECONDS_PER_YEAR, ForegroundEvents
from aframe_contracts.score import Score
from aframe_plots.errors import PlotsError
from aframe_plots.report import PLOTS, make_report
from tests.export.conftest import RATE
from tests.plots.synthetic import write_background, write_foreground

T0 = 1.26e9

IMAGE = '<img src="data:image/png;base64,'
CONFIG = '[core]\ninherit = base.cfg\nifos = ["H1", "L1"]  # <&>\n'
CHROMIUM = Path("/usr/bin/chromium")


def without_images(page: str) -> str:
    return re.sub(r'base64,[^"]*"', "", page)


@pytest.fixture(scope="module")
def report(tmp_path_factory, prior_draws):
    """A report of the default populations on synthetic files."""
    tmp = tmp_path_factory.mktemp("report")
    background = write_background(
        tmp / "background.hdf5", np.random.default_rng(1).normal(0, 1, 200)
    )
    found = prior_draws["luminosity_distance"] < 2000
    foreground = write_foreground(tmp / "foreground.hdf5", prior_draws, found)
    config = tmp / "sandbox.cfg"
    config.write_text(CONFIG)
    path = make_report(
        background,
        foreground,
        tmp / "out",
        config_files=[config],
        title="test & search",
    )
    return path


def test_report_has_tables_figures_and_configs(report, prior_draws):
    page = report.read_text()
    assert page.count(IMAGE) == 4
    assert "<title>test &amp; search</title>" in page
    assert "3.15576e+07 s = 1 yr" in page
    assert "<td>injections analysed</td><td>14970</td>" in page
    assert "<td>draws recorded (num_draws)</td><td>40000</td>" in page
    # the volume table: a row per population, at 1 / month and 1 / year
    assert "V (Gpc³) at FAR 1 / month: 12 / yr" in page
    assert "V (Gpc³) at FAR 1 / year: 1 / yr" in page
    for name in ("prior", "35-35", "35-20", "20-20"):
        assert re.search(rf"<tr><td>{name}</td>(<td>[^<]*</td>){{6}}", page)
    # mlgwsc1_bbh samples masses down to 10, half of 20-10 lies below
    assert "Population 20-10: 50.0% of its probability lies outside" in page
    assert "The 10 loudest background events" in page
    # the time window, stated where the volume is, and the event times
    window = "±0.125 s (the model's calibrated window)"
    assert f"<td>time window (event - coalescence)</td><td>{window}" in page
    assert f"within the time window of its coalescence time, {window}" in page
    timing = re.search(r"<h2>Event times</h2>.*?</table>", page, re.S)[0]
    rows = re.findall(
        r"<tr><td>(SNR[^<]*)</td><td>(\d+)</td><td>([^<]*)</td>"
        r"<td>([^<]*)</td>",
        timing,
    )
    labels = [row[0] for row in rows]
    assert labels == ["SNR &lt; 10", "SNR 10-15", "SNR 15-25", "SNR ≥ 25"]
    # every found draw (closer than 2 Gpc) is in one bin, timed within
    # the window, without bias
    found = prior_draws["luminosity_distance"] < 2000
    assert sum(int(row[1]) for row in rows) == found.sum()
    for _, count, median, spread in rows:
        if int(count) > 100:
            assert abs(float(median)) < 0.02
            assert float(spread) == pytest.approx(0.95 * 0.125, abs=0.01)
    assert page.count("<tr><td>10</td>") == 1
    assert "<pre>[core]\ninherit = base.cfg" in page
    assert "# &lt;&amp;&gt;" in page


def test_report_files(report):
    out = report.parent
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp"))
    with h5py.File(out / "sensitive_volume.h5") as f:
        thresholds, fars = f["thresholds"][()], f["fars"][()]
        assert np.all(np.diff(thresholds) < 0)
        # Tb is a year: the loudest event's FAR is 1 / yr, then 2, 3, ...
        np.testing.assert_allclose(fars, np.arange(1, 201))
        # the window injections were found in goes with the volumes
        assert f.attrs["time_window"] == 0.125
        for name in ("prior", "35-35", "35-20", "20-20"):
            volume, error = f[name]["sv"][()], f[name]["err"][()]
            assert volume.shape == error.shape == thresholds.shape
            assert np.all((volume > 0) & (error > 0))
            radius = 1e3 * (3 * volume / (4 * np.pi)) ** (1 / 3)
            np.testing.assert_allclose(f[name]["sd"][()], radius)
        assert "sv" not in f["20-10"]
        assert "outside the masses" in f["20-10"].attrs["message"]


def challenge_score(path):
    """A score of 40 injections, half of them (the louder) found."""
    rng = np.random.default_rng(3)
    snr = np.sort(rng.uniform(3, 30, 40))
    result = Score(
        dataset=1,
        seed=7,
        far=np.array([2.0, 1.0, 0.0]) * 2592000 / 7200,
        distance=np.array([2400.0, 2300.0, 2100.0]),
        distance_error=np.array([100.0, 110.0, 150.0]),
        duration=7200.0,
        tc=np.arange(40) * 24.0 + 1238166100,
        snr=snr,
        statistic=np.where(snr > 10, 5.0, -np.inf),
        threshold=1.0,
        var=0.14,
    )
    result.write(path)
    return path


def test_the_mlgwsc1_section(files, tmp_path):
    background, foreground = files
    score = challenge_score(tmp_path / "score.hdf5")
    out = tmp_path / "out"
    page = make_report(
        background, foreground, out, mlgwsc_scores=[score]
    ).read_text()
    section = re.search(r"<h2>MLGWSC-1</h2>.*?</table>", page, re.S)[0]
    row = re.search(r"<tr><td>dataset 1, 7200 s, seed 7</td>.*?</tr>", section)
    cells = re.findall(r"<td>([^<]*)</td>", row[0])
    # the lowest FAR a 2-hour background resolves: 360 per month
    assert cells[1:4] == ["360", "2100 ± 150", "0.140"]
    # found / injected by optimal SNR: <6, 6-8, 8-10, 10-12, 12-15, >=15
    counts = [tuple(map(int, c.split("/"))) for c in cells[4:]]
    snr = np.sort(np.random.default_rng(3).uniform(3, 30, 40))
    edges = [0, 6, 8, 10, 12, 15, np.inf]
    bins = zip(counts, edges[:-1], edges[1:], strict=True)
    for (found, total), lower, upper in bins:
        inside = (snr >= lower) & (snr < upper)
        assert total == inside.sum()
        assert found == (inside & (snr > 10)).sum()
    assert page.count(IMAGE) == 5
    image = out / "mlgwsc-dataset1-7200-7.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a file that is not a score is named
    with pytest.raises(PlotsError, match="not an MLGWSC-1 score"):
        make_report(background, foreground, out, mlgwsc_scores=[foreground])


def test_a_short_background_gives_one_far_column(files, tmp_path):
    """A week of background supports neither 1 / month nor 1 / year:
    both are its lowest FAR, given once."""
    _, foreground = files
    background = write_background(
        tmp_path / "week.hdf5",
        np.random.default_rng(1).normal(0, 1, 200),
        Tb=SECONDS_PER_YEAR / 52,
    )
    page = make_report(background, foreground, tmp_path / "out").read_text()
    assert page.count("V (Gpc³) at FAR") == 1
    assert "V (Gpc³) at FAR 1 / month, 1 / year †: 52 / yr" in page
    for name in ("prior", "35-35", "35-20", "20-20"):
        assert re.search(
            rf"<tr><td>{name}</td>(<td>[^<]*</td>){{4}}</tr>", page
        )


def test_no_background_events(files, tmp_path):
    _, foreground = files
    background = write_background(tmp_path / "empty.hdf5", [])
    page = make_report(background, foreground, tmp_path / "out").read_text()
    assert "The background has no events in Tb = 3.15576e+07 s" in page
    assert "There are no background events." in page
    assert IMAGE not in page
    assert not re.search(r"\bnan\b", without_images(page), re.IGNORECASE)
    assert not any((tmp_path / "out" / name).exists() for name in PLOTS)
    with h5py.File(tmp_path / "out" / "sensitive_volume.h5") as f:
        assert f["thresholds"].size == 0
        assert f["prior"]["sv"].size == 0


def test_no_found_injections(files, tmp_path, prior_draws):
    background, _ = files
    missed = np.zeros(prior_draws["redshift"].size, bool)
    foreground = write_foreground(
        tmp_path / "missed.hdf5", prior_draws, missed
    )
    page = make_report(background, foreground, tmp_path / "out").read_text()
    assert "No injection was found" in page
    # the FAR curve is still drawn, the volume and efficiency are not
    assert page.count(IMAGE) == 1
    assert "V (Gpc³) at" not in page
    assert not re.search(r"\bnan\b", without_images(page), re.IGNORECASE)


def test_no_draws(files, tmp_path):
    background, _ = files
    foreground = tmp_path / "nothing.hdf5"
    ForegroundEvents(
        {
            "prior": "mlgwsc1_bbh",
            "num_draws": 0,
            "snr_threshold": 4.0,
            "ifos": ["H1", "L1"],
        },
        {},
        {},
    ).write(foreground)
    page = make_report(background, foreground, tmp_path / "out").read_text()
    assert "The foreground file has no injection draws." in page
    assert page.count(IMAGE) == 1


def test_draws_missing_from_the_file_are_flagged(files, tmp_path, prior_draws):
    background, _ = files
    found = prior_draws["luminosity_distance"] < 2000
    foreground = write_foreground(
        tmp_path / "short.hdf5", prior_draws, found, num_draws=40_007
    )
    page = make_report(
        background, foreground, tmp_path / "out", mass_combos=[]
    ).read_text()
    assert "records 40007 draws but holds" in page


def test_rerun_replaces_the_report_only_with_force(files, tmp_path):
    background, foreground = files
    first = make_report(background, foreground, tmp_path, mass_combos=[])
    empty = write_background(tmp_path / "empty.hdf5", [])
    with pytest.raises(PlotsError, match="sensitive_volume.h5 exists.*force"):
        make_report(empty, foreground, tmp_path, mass_combos=[])
    second = make_report(
        empty, foreground, tmp_path, mass_combos=[], force=True
    )
    assert first == second
    assert "no events" in second.read_text()
    # figures of the first run that the second has not drawn are gone
    assert not (tmp_path / "far.png").exists()


def test_an_input_is_never_written_over(files, tmp_path):
    background, foreground = files
    volume = tmp_path / "sensitive_volume.h5"
    volume.write_bytes(Path(background).read_bytes())
    before = volume.read_bytes()
    with pytest.raises(PlotsError, match="is the input"):
        make_report(volume, foreground, tmp_path, force=True)
    assert volume.read_bytes() == before


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")
def test_report_renders_in_a_browser(report, tmp_path):
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1280,2000",
            report.resolve().as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    pixels = imread(screenshot)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    # a blank page is one colour; text, tables and figures are many
    assert pixels.std() > 0.02
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def glitchy_testing_file(path: Path) -> Path:
    """200 s of testing background whose L1 holds a loud 100 Hz burst
    at 53.2 s, recorded with a glitch of H1 at 150 s."""
    from aframe_contracts.glitches import GlitchTable
    from aframe_contracts.strain import BackgroundStrain
    from aframe_data import strain

    noise = strain.simulated(["H1", "L1"], T0, 200, RATE, "aLIGO_O4_high", 0)
    t = np.arange(200 * RATE) / RATE - 53.2
    burst = np.exp(-((t / 0.02) ** 2)) * np.cos(2 * np.pi * 100 * t)
    noise["L1"] = noise["L1"] + 0.1 * noise["L1"].std() * burst
    glitches = GlitchTable(
        np.array([T0 + 53.2, T0 + 150.0]),
        np.array(["L1", "H1"]),
        np.array([30.0, 9.0]),
        np.array([1, 2]),
    )
    BackgroundStrain(noise, T0, RATE, glitches).write(path)
    return path


def test_the_glitch_section(files, repository, tmp_path):
    """Three background events, the loudest of which sees an L1 glitch
    through its timeslide: the section counts the glitches, names the
    one near it with its offset, and draws the data around it, with the
    model's output below it."""
    from aframe_contracts.events import BackgroundEvents

    _, foreground = files
    testing = glitchy_testing_file(tmp_path / "testing.hdf5")
    background = tmp_path / "background.hdf5"
    # L1 advanced by 3 s: the event at 50 s sees L1's strain of 53 s
    BackgroundEvents(
        np.array([10.0, 5.0, 1.0]),
        T0 + np.array([50.0, 120.0, 20.0]),
        np.array([[0, 3.0], [0, 3.0], [0, 1.0]]),
        1000.0,
        ["H1", "L1"],
    ).write(background)
    out = tmp_path / "out"
    page = make_report(
        background,
        foreground,
        out,
        glitch_files=[testing],
        repository=repository,
    ).read_text()
    section = re.search(r"<h3>Glitches</h3>.*?</table>", page, re.S)[0]
    assert "holds H1: 1, L1: 1 glitches" in section
    assert "1 of the 3 loudest background events lie within 1 s" in section
    assert "L1, +0.200 s" in section
    # one event, drawn as the data above the detector's output: taller
    # than wide, where the data alone are wider than tall
    height, width, _ = imread(out / "glitches.png").shape
    assert height > width


def test_the_glitch_figure_runs_the_model_on_the_slid_stream(
    repository, tmp_path
):
    """The output around an event is the model's on each ifo's strain as
    the timeslide fed it: the L1 burst 0.2 s after the event drives the
    power model's output there, once the response's centre is taken off
    the window's end."""
    from aframe_plots.glitches import StrainReader, detector_output
    from aframe_serving.engine import LocalEngine
    from aframe_serving.repository import ModelRepository

    testing = glitchy_testing_file(tmp_path / "testing.hdf5")
    model = ModelRepository.open(repository)
    engine, strain = LocalEngine(model), StrainReader([testing])
    times, outputs = detector_output(
        engine, model, strain, ["H1", "L1"], [T0 + 50.0, T0 + 53.0]
    )
    assert np.all(np.abs(times) <= 1.5) and times.size >= 11
    loud = times[outputs > outputs.max() / 2]
    assert abs(loud.mean() - 0.2) < 0.15
    # without the timeslide, the stream holds no burst
    _, unshifted = detector_output(
        engine, model, strain, ["H1", "L1"], [T0 + 50.0, T0 + 50.0]
    )
    assert unshifted.max() < outputs.max() / 10


def test_the_glitch_figure_finds_the_event_of_its_own_timeslide():
    """Events of two timeslides at one time: the figure takes the shifts
    of the one the summary named."""
    from aframe_contracts.events import BackgroundEvents
    from aframe_plots.glitches import event_index

    events = BackgroundEvents(
        np.array([0.5, 10.0]),
        T0 + np.array([50.0, 50.0]),
        np.array([[0, 1.0], [0, 3.0]]),
        1000.0,
        ["H1", "L1"],
    )
    index = event_index(events, {"time": T0 + 50.0, "statistic": 10.0})
    assert events.shift[index].tolist() == [0, 3.0]


def test_the_glitch_figure_needs_the_models_rate(repository, tmp_path):
    from aframe_contracts.strain import BackgroundStrain
    from aframe_data import strain
    from aframe_plots.glitches import StrainReader, detector_output
    from aframe_serving.engine import LocalEngine
    from aframe_serving.repository import ModelRepository

    path = tmp_path / "testing-512.hdf5"
    noise = strain.simulated(["H1", "L1"], T0, 100, 512, "aLIGO_O4_high", 0)
    BackgroundStrain(noise, T0, 512).write(path)
    model = ModelRepository.open(repository)
    with pytest.raises(PlotsError, match=r"testing-512.hdf5: strain at 512"):
        detector_output(
            LocalEngine(model),
            model,
            StrainReader([path]),
            ["H1", "L1"],
            [T0 + 50.0, T0 + 50.0],
        )


def test_the_glitch_section_states_the_banks_noise(tmp_path):
    """A bank whose noise was fitted with glitches in L1's last template:
    the report's glitch section names that template and the fit's
    slopes; a network without the fit adds nothing."""
    from aframe_plots.glitches import noise_model
    from aframe_plots.page import _glitch_section
    from aframe_serving.repository import ModelRepository
    from tests.serving.test_bank import bank_repository

    repository = bank_repository(tmp_path / "tails", glitch_tails=True)
    model = noise_model(repository)
    assert [(t["ifo"], t["template"]) for t in model["glitchy"]] == [("L1", 3)]
    assert model["gaussian_slope"] == pytest.approx(4.0, rel=0.06)
    summary = {
        "glitches": {"H1": 0, "L1": 1},
        "loudest": 0,
        "loudest_near_a_glitch": 0,
        "window_s": 1.0,
        "events": [],
        "noise_model": model,
    }
    section = _glitch_section(summary, "No figure.")
    assert "L1 template 3" in section
    assert f"slope {model['gaussian_slope']:.2f} per unit SNR" in section
    plain = bank_repository(tmp_path / "plain")
    assert noise_model(plain) is None
    assert noise_model(ModelRepository.open(plain.path)) is None


def test_both_event_time_estimates_of_a_timed_model(
    files, repository, tmp_path
):
    """A model whose time calibration figures its merger offsets: the
    event-time section gives them beside the output grid's estimate."""
    from aframe_contracts.repository import Manifest, TimeCalibration

    manifest = Manifest.read(repository)
    TimeCalibration(
        median=0.003,
        spread=0.024,
        half_width=0.029,
        window_quantile=0.99,
        found=322,
        injected=500,
        threshold=0.35,
        livetime=4983.0,
        integration_window_length=0.0,
        cluster_window_length=8.0,
        version=manifest.version,
        weights_sha256=manifest.weights_sha256,
        arrival_spread=0.009,
        grid_spread=0.127,
    ).write(repository)
    page = make_report(*files, tmp_path / "out", repository=repository)
    text = re.sub(r"\s+", " ", page.read_text())
    assert "lie within ±9.0 ms of their coalescence at H1" in text
    assert "the output grid's estimate puts 95% within ±0.127 s" in text
    # without merger offsets, nothing is said
    page = make_report(*files, tmp_path / "other")
    assert "merger at" not in page.read_text()
