"""aframe-infer analyse and aggregate on a small exported model."""

import dataclasses

import numpy as np
import onnxruntime
import pytest
import torch

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.repository import Manifest
from aframe_contracts.strain import BackgroundStrain
from aframe_data import strain
from aframe_infer.cli import main
from aframe_infer.engine import LocalEngine, RepositoryError
from aframe_infer.search import aggregate, analyse
from aframe_infer.stream import Geometry, StreamError, inject, shifted
from aframe_infer.timing import read_timing

from ..export.conftest import RATE
from .conftest import DURATION, T0, loud_injections, simulated_background


def test_shift_and_inject():
    data = {"H1": np.arange(10.0), "L1": np.arange(10.0) + 100}
    stream = shifted(data, ["H1", "L1"], [0, 2], 1)
    assert stream.tolist() == [list(range(8)), list(range(102, 110))]
    with pytest.raises(StreamError, match="longer than the strain"):
        shifted(data, ["H1", "L1"], [0, 20], 1)
    response = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = inject(
        np.zeros((2, 8)),
        0.0,
        1.0,
        np.array([3.0, 7.0]),
        np.stack([response] * 2),
        1,
    )
    assert out[0].tolist() == [0, 0, 1, 2, 3, 0, 1, 2]


def test_the_geometry_holds_where_the_network_fires(repository):
    """A model that records no response span fires over its whole
    kernel; one that records it (a template bank) fires there."""
    m = Manifest.read(repository)
    assert Geometry.from_manifest(m).response == (0.0, m.kernel_length)
    settings = dataclasses.replace(m.settings, response=[0.05, 0.3])
    bank = dataclasses.replace(m, settings=settings)
    assert Geometry.from_manifest(bank).response == (0.05, 0.3)


def test_stream_outputs_cover_the_strain(repository):
    m = Manifest.read(repository)
    geometry = Geometry.from_manifest(m)
    size = 100 * RATE + 37
    strain = np.random.default_rng(0).standard_normal((2, size)) * 1e-21
    (responses,) = LocalEngine(repository).infer([geometry.updates(strain)])
    outputs = geometry.outputs(responses, size)
    times = geometry.output_times(outputs.size, 0.0)
    # the first output's kernel ends after the PSD window and one window
    assert times[0] == pytest.approx(16 + 1 + 0.5)
    # the last kernel (with half a filter) ends inside the strain
    assert times[-1] + 0.5 <= size / RATE
    assert times[-1] + 0.5 + 0.25 > size / RATE
    assert np.all(np.diff(times) == 0.25)
    assert m.buffer_size == (16 + 15 * 0.25 + 2) * RATE

    # the same numbers as whitening each buffer of real data directly:
    # no output has seen the snapshotter's zero state or the end padding
    version = str(m.version)
    preprocessor = torch.jit.load(
        str(repository / "preprocessor" / version / "model.pt")
    )
    detector = onnxruntime.InferenceSession(
        str(repository / "aframe" / version / "model.onnx")
    )
    direct = []
    buffer, update = m.buffer_size, m.update_size
    for start in range(0, size - buffer + 1, update):
        kernels = preprocessor(
            torch.as_tensor(strain[:, start : start + buffer]).float()
        )
        (scores,) = detector.run(None, {"whitened": kernels.numpy()})
        direct.append(scores[:, 0])
    direct = np.concatenate(direct)
    np.testing.assert_allclose(outputs[: direct.size], direct, rtol=1e-5)


def test_analyse_finds_loud_injections_at_their_time(
    calibrated, background, tmp_path
):
    rng = np.random.default_rng(3)
    times = T0 + np.arange(30, 220, 7.5) + rng.uniform(-0.5, 0.5, 26)
    injections = loud_injections(tmp_path / "inj.hdf5", times)
    out = tmp_path / "branch"
    analyse(calibrated, background, [0, 1], out, 0.5, 4.0, injections)
    events = BackgroundEvents.read(out / "background.hdf5")
    assert events.Tb == pytest.approx(DURATION - 1 - 16 - 2, abs=1)
    background_stats = events.statistic
    assert np.all(events.shift == [0, 1])
    found = ForegroundEvents.read(out / "foreground.hdf5")
    fg_attrs, parameters = found.attrs, found.parameters
    # matched within the model's calibrated window, which is recorded
    timing = read_timing(calibrated)
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
    analyse(calibrated, background, [0, 2], second, 0.5, 4.0, injections)
    merged_bg, merged_fg = tmp_path / "bg.hdf5", tmp_path / "fg.hdf5"
    aggregate([out, second], merged_bg, merged_fg)
    merged = BackgroundEvents.read(merged_bg)
    assert np.all(np.diff(merged.statistic) >= 0)
    assert merged.Tb == pytest.approx(2 * DURATION - 3 - 2 * 18, abs=2)
    fg = ForegroundEvents.read(merged_fg)
    assert fg.parameters["snr"].size == 52 and fg.attrs["num_draws"] == 54
    assert fg.attrs["time_window"] == timing.half_width

    # what exists is replaced only when asked, and inputs never
    with pytest.raises(DataError, match="background.hdf5 exists"):
        analyse(calibrated, background, [0, 2], second, 0.5, 4.0, injections)
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
