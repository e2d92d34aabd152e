"""aframe-infer analyse and aggregate on a small exported model."""

import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.repository import TIMING_FILE, Manifest
from aframe_contracts.strain import BackgroundStrain
from aframe_data import strain
from aframe_infer.cli import main
from aframe_infer.search import aggregate, analyse
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository

from .conftest import DURATION, T0, loud_injections, simulated_background


def test_analyse_finds_loud_injections_at_their_time(
    calibrated, background, tmp_path
):
    rng = np.random.default_rng(3)
    times = T0 + np.arange(30, 220, 7.5) + rng.uniform(-0.5, 0.5, 26)
    injections = loud_injections(tmp_path / "inj.hdf5", times)
    out = tmp_path / "branch"
    analyse(calibrated, background, [0, 1], out, injections, 0.5, 4.0)
    events = BackgroundEvents.read(out / "background.hdf5")
    assert events.Tb == pytest.approx(DURATION - 1 - 16 - 2, abs=1)
    background_stats = events.statistic
    assert np.all(events.shift == [0, 1])
    found = ForegroundEvents.read(out / "foreground.hdf5")
    fg_attrs, parameters = found.attrs, found.parameters
    # matched within the model's calibrated window, which is recorded
    timing = ModelRepository.open(calibrated).timing
    assert fg_attrs["time_window"] == timing.half_width
    # the event times are unbiased estimates of the coalescence, spread
    # over the output step (0.25 s): the floors of the quickstart
    assert abs(timing.median) <= 0.05 and timing.half_width <= 0.3
    # every burst beats the background, and its event is inside the
    # window, wherever the burst falls between two outputs
    assert np.all(parameters["detection_statistic"] > background_stats.max())
    residuals = parameters["detection_time"] - times
    assert np.all(np.abs(residuals) <= timing.half_width)
    assert abs(np.median(residuals)) <= 0.05
    assert found.rejected["snr"].tolist() == [1.0]

    second = tmp_path / "branch2"
    analyse(calibrated, background, [0, 2], second, injections, 0.5, 4.0)
    merged_bg, merged_fg = tmp_path / "bg.hdf5", tmp_path / "fg.hdf5"
    aggregate([out, second], merged_bg, merged_fg)
    merged = BackgroundEvents.read(merged_bg)
    assert np.all(np.diff(merged.statistic) >= 0)
    assert merged.Tb == pytest.approx(2 * DURATION - 3 - 2 * 18, abs=2)
    fg = ForegroundEvents.read(merged_fg)
    assert fg.parameters["snr"].size == 52 and fg.attrs["num_draws"] == 54
    assert fg.attrs["time_window"] == timing.half_width
    # both record the windows the events were made with
    for attrs in (merged.attrs, fg.attrs):
        assert attrs["integration_window_length"] == 0.5
        assert attrs["cluster_window_length"] == 4.0

    # what exists is replaced only when asked, and inputs never
    with pytest.raises(DataError, match="background.hdf5 exists"):
        analyse(calibrated, background, [0, 2], second, injections, 0.5, 4.0)
    with pytest.raises(DataError, match="exists: pass --force"):
        aggregate([out, second], merged_bg, merged_fg)
    with pytest.raises(DataError, match="would destroy the input"):
        aggregate([out, second], out / "background.hdf5", merged_fg, True)
    aggregate([out, second], merged_bg, merged_fg, force=True)
    # a branch named twice would count its background time twice
    with pytest.raises(RepositoryError, match="named more than once"):
        aggregate([out, second, tmp_path / "branch"], merged_bg, merged_fg)
    with pytest.raises(DataError, match="named for two outputs"):
        aggregate([out, second], merged_bg, merged_bg, force=True)


def test_mismatched_data_is_refused(repository, tmp_path, capsys):
    data = strain.simulated(["H1", "L1"], T0, 64, 512, "aLIGO_O4_high", 3)
    path = tmp_path / "bg512.hdf5"
    BackgroundStrain({i: data[i] for i in ["H1", "L1"]}, T0, 512).write(path)
    injections = loud_injections(tmp_path / "inj.hdf5", np.array([T0 + 30]))
    args = [
        "analyse",
        f"--repository={repository}",
        f"--background_file={path}",
        f"--injections_file={injections}",
    ]
    args += ["--shifts=[0,1]", f"--output_dir={tmp_path}/o"]
    args += ["--integration_window_length=1", "--cluster_window_length=4"]
    assert main(args) == 2
    assert "does not match the model (256" in capsys.readouterr().err


def short_analysis(repository, tmp_path, **options) -> list[str]:
    """``aframe-infer analyse`` arguments for 64 s of simulated strain at
    the model's rate with one loud burst; ``options`` replace the
    defaults (``--output_dir={tmp_path}/o``)."""
    path = simulated_background(tmp_path / "bg.hdf5", T0, 64)
    injections = loud_injections(tmp_path / "inj.hdf5", np.array([T0 + 30]))
    settings = {
        "repository": repository,
        "background_file": path,
        "injections_file": injections,
        "time_window": 0.5,
        "shifts": "[0,1]",
        "output_dir": tmp_path / "o",
        "integration_window_length": 1,
        "cluster_window_length": 4,
        **options,
    }
    return ["analyse", *(f"--{k}={v}" for k, v in settings.items())]


def test_a_changed_repository_is_refused(repository, tmp_path, capsys):
    """A model file replaced after export: its checksum is not the
    manifest's, and inference stops before streaming anything."""
    args = short_analysis(repository, tmp_path)
    model = repository / "aframe" / "1" / "model.onnx"
    model.write_bytes(model.read_bytes()[:-100])
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"{model} changed since it was exported" in error
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "option, message",
    [
        ("--shifts=[0,1,2]", "give one shift of 0 s or more for each"),
        ("--shifts=[0,-1]", "give one shift of 0 s or more for each"),
        ("--integration_window_length=-1", "it must not be negative"),
        ("--cluster_window_length=0", "cluster_window_length = 0.0: it"),
        ("--time_window=-0.5", "time_window = -0.5: it must be positive"),
        ("--output_dir={tmp}/bg.hdf5", "bg.hdf5 is a file"),
    ],
)
def test_settings_no_search_can_use_are_named(
    repository, tmp_path, capsys, option, message
):
    """Each was a traceback, or an analysis that found every injection
    with an event at every output (cluster window 0) or none (negative
    time window), with status 0; now nothing is streamed or written."""
    name, value = option.format(tmp=tmp_path).split("=", 1)
    args = short_analysis(repository, tmp_path, **{name[2:]: value})
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_analyse_opens_the_repository_once(
    repository, tmp_path, repository_reads
):
    """The manifest is read and the files' checksums taken once a call
    (it was five reads and a checksum of every file in the streamer)."""
    assert main(short_analysis(repository, tmp_path)) == 0
    reads, checksums = repository_reads
    assert len(reads) == 1
    assert len(checksums) == len(Manifest.read(repository).files)


def test_the_windows_are_the_models_unless_given(calibrated, tmp_path, caplog):
    """Without windows, analyse takes those the model was calibrated
    with; others are used, said to void the calibrated time window, and
    recorded."""
    path = simulated_background(tmp_path / "bg.hdf5", T0, 64)
    injections = loud_injections(tmp_path / "inj.hdf5", np.array([T0 + 30]))
    analyse(calibrated, path, [0, 1], tmp_path / "own", injections)
    assert "may not hold" not in caplog.text
    analyse(
        calibrated,
        path,
        [0, 1],
        tmp_path / "other",
        injections,
        integration_window_length=1.0,
    )
    assert "may not hold" in caplog.text
    for name, windows in (("own", (0.5, 4.0)), ("other", (1.0, 4.0))):
        background = BackgroundEvents.read(tmp_path / name / "background.hdf5")
        foreground = ForegroundEvents.read(tmp_path / name / "foreground.hdf5")
        for attrs in (background.attrs, foreground.attrs):
            recorded = (
                attrs["integration_window_length"],
                attrs["cluster_window_length"],
            )
            assert recorded == windows
    # a model without a calibration has no windows of its own
    (calibrated / TIMING_FILE).unlink()
    with pytest.raises(RepositoryError, match="give integration_window"):
        analyse(calibrated, path, [0, 1], tmp_path / "none", injections)
