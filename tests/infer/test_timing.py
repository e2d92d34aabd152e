"""aframe-infer calibrate: the model's time window, measured and kept."""

import json

import numpy as np
import pytest

from aframe_contracts.repository import TIMING_FILE, Manifest
from aframe_contracts.strain import BackgroundStrain
from aframe_infer.cli import main
from aframe_infer.timing import longest_piece
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository

from ..export.conftest import Power, save_model
from .conftest import DURATION, T0, export_model, loud_injections


def test_calibration_is_unbiased_and_recorded(calibrated):
    timing = ModelRepository.open(calibrated).timing
    manifest = Manifest.read(calibrated)
    assert timing.version == manifest.version
    assert timing.found == timing.injected == 40
    # the estimate is unbiased; its spread is the output step's (0.25 s):
    # uniform within half a step, so 95% lie within 0.95 of it
    assert abs(timing.median) <= 0.02
    assert timing.spread == pytest.approx(0.95 * 0.125, abs=0.02)
    # the window holds 99%, and at least half a step: a loud signal
    # halfway between two outputs is not lost
    assert timing.window_quantile == 0.99
    assert timing.spread <= timing.half_width
    assert timing.half_width == pytest.approx(0.125, abs=0.005)
    assert (
        timing.integration_window_length,
        timing.cluster_window_length,
    ) == (
        0.5,
        4.0,
    )


def test_calibrate_cli_needs_found_signals_and_a_span(
    repository, background, tmp_path, capsys
):
    quiet = loud_injections(tmp_path / "v.hdf5", np.zeros(30), 1e-24)
    args = [
        "calibrate",
        f"--repository={repository}",
        f"--background-files=[{background}]",
        f"--waveforms-file={quiet}",
        "--integration-window-length=0.5",
        "--cluster-window-length=4",
    ]
    # this model's settings record no held-out background
    assert main(args) == 2
    assert "records no validation_span" in capsys.readouterr().err
    # signals too quiet to find give no window, and say why
    span = f"--span=[{T0}, {T0 + DURATION}]"
    assert main([*args, span]) == 2
    error = capsys.readouterr().err
    assert "only 0 of 30 validation signals were found" in error
    assert not (repository / TIMING_FILE).exists()
    # a span no file holds is named
    assert main([*args, f"--span=[{T0 - 100}, {T0}]"]) == 2
    assert "no background file holds any of GPS" in capsys.readouterr().err
    assert main([*args, span, "--window-quantile=95"]) == 2
    assert "window_quantile = 95.0: it is a share" in capsys.readouterr().err


def test_calibrate_reads_the_span_training_recorded(background, tmp_path):
    model = save_model(
        tmp_path / "run", Power(), validation_span=[T0, T0 + DURATION]
    )
    repository = export_model(model, tmp_path / "repo")
    bursts = loud_injections(tmp_path / "v.hdf5", np.zeros(25))
    args = [
        "calibrate",
        f"--repository={repository}",
        f"--background-files=[{background}]",
        f"--waveforms-file={bursts}",
        "--integration-window-length=1.5",
        "--cluster-window-length=8",
    ]
    assert main(args) == 0
    recorded = json.loads((repository / TIMING_FILE).read_text())
    assert recorded["found"] == 25
    assert recorded["integration_window_length"] == 1.5


def test_held_out_background_over_several_files(tmp_path):
    """The calibration reads the longest part of the held-out span that
    one file holds: training may hold out the end of one file and the
    whole of the next."""
    paths = []
    for i, (t0, seconds) in enumerate(((0, 100), (100, 30), (200, 50))):
        strain = {ifo: np.zeros(seconds * 4) for ifo in ("H1", "L1")}
        paths.append(tmp_path / f"background-{i}.hdf5")
        BackgroundStrain(strain, t0, 4).write(paths[-1])
    assert longest_piece(paths, (40, 220)) == (40, 100)
    assert longest_piece(paths, (110, 250)) == (200, 250)
    with pytest.raises(RepositoryError, match="holds any of GPS 300"):
        longest_piece(paths, (300, 400))


def test_a_recalibration_keeps_the_windows(calibrated, background, tmp_path):
    """Without windows, calibrate measures with those of the model's
    calibration; a model never calibrated must be given them."""
    from aframe_infer.timing import calibrate

    bursts = loud_injections(tmp_path / "validation.hdf5", np.zeros(40))
    span = (T0, T0 + DURATION)
    timing = calibrate(
        calibrated, [background], bursts, span=span, window_quantile=0.95
    )
    assert timing.window_quantile == 0.95
    assert (
        timing.integration_window_length,
        timing.cluster_window_length,
    ) == (0.5, 4.0)
    (calibrated / TIMING_FILE).unlink()
    with pytest.raises(RepositoryError, match="give integration_window"):
        calibrate(calibrated, [background], bursts, span=span)
