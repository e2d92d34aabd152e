"""aframe-infer mlgwsc: a Mock Data Challenge 1 file in, its events out."""

import h5py
import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_infer.challenge import read_strain
from aframe_infer.cli import main
from aframe_serving.repository import ModelRepository

from .conftest import RATE

FILE_RATE = 2 * RATE  # MLGWSC-1 files are sampled above the model's rate


def burst(times, t, amplitude=3e-20):
    """Sine-Gaussians at ``times`` (s) on the sample times ``t``."""
    signal = np.zeros_like(t)
    for time in times:
        dt = t - time
        signal += (
            amplitude
            * np.sin(2 * np.pi * 60 * dt)
            * np.exp(-((dt / 0.05) ** 2))
        )
    return signal


def test_mlgwsc_file_round_trip(calibrated, tmp_path, caplog, capsys):
    segments = {1238166018: 200, 1238166418: 160, 1238166818: 10}
    hits = {1238166018: [1238166118.0], 1238166418: [1238166518.0]}
    path = tmp_path / "foreground.hdf"
    with h5py.File(path, "w") as f:
        for i, (start, duration) in enumerate(segments.items()):
            data = strain.simulated(
                ["H1", "L1"], start, duration, FILE_RATE, "aLIGO_O4_high", i
            )
            t = start + np.arange(duration * FILE_RATE) / FILE_RATE
            for ifo in ("H1", "L1"):
                x = data[ifo] + burst(hits.get(start, []), t)
                dataset = f.create_dataset(f"{ifo}/{start}", data=x)
                dataset.attrs["start_time"] = float(start)
                dataset.attrs["delta_t"] = 1 / FILE_RATE
    output = tmp_path / "events.hdf"
    args = ["mlgwsc", f"--input-file={path}", f"--output-file={output}"]
    assert main([*args, f"--repository={calibrated}"]) == 0
    assert "shorter than one request: skipped" in caplog.text
    with h5py.File(output, "r") as f:
        time, stat, var = f["time"][:], f["stat"][:], f["var"][:]
        windows = dict(f.attrs)
    # the windows are the model's own, as calibrated, and recorded; var
    # is the model's calibrated time window
    assert windows == {
        "integration_window_length": 0.5,
        "cluster_window_length": 4.0,
    }
    assert "may not hold" not in caplog.text
    window = ModelRepository.open(calibrated).timing.half_width
    assert np.all(np.diff(time) > 0) and np.all(var == window)
    # the two loudest events are the two bursts, inside var of their
    # time: evaluate.py will count them
    loudest = np.sort(time[np.argsort(stat)[-2:]])
    injected = [1238166118.0, 1238166518.0]
    assert np.all(np.abs(loudest - injected) <= window)
    # an existing output is replaced only with --force
    args += [f"--repository={calibrated}", "--time-uncertainty=0.3"]
    assert main(args) == 2
    assert (
        f"the output {output} exists: pass --force" in capsys.readouterr().err
    )
    # and the input never: it would be lost
    same = ["mlgwsc", f"--input-file={path}", f"--output-file={path}"]
    assert main([*same, f"--repository={calibrated}", "--force=true"]) == 2
    assert "would destroy the input" in capsys.readouterr().err
    assert h5py.is_hdf5(path) and path.stat().st_size > 1e6
    # the option overrides the calibration
    args.append("--force=true")
    assert main(args) == 0
    with h5py.File(output, "r") as f:
        assert np.all(f["var"][:] == 0.3)
    # and other windows are taken, and recorded
    assert main([*args, "--cluster-window-length=6"]) == 0
    with h5py.File(output, "r") as f:
        assert f.attrs["cluster_window_length"] == 6.0
    # every event lies inside an analysed segment
    assert time.min() > 1238166018 and time.max() < 1238166418 + 160


def test_mlgwsc_layout_errors(calibrated, tmp_path, capsys):
    path = tmp_path / "bad.hdf"
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("H1/0", data=np.zeros(10))
        dataset.attrs.update(start_time=0.0, delta_t=1 / FILE_RATE)
    args = ["mlgwsc", f"--input-file={path}", "--output-file=o.hdf"]
    assert main(args + [f"--repository={calibrated}"]) == 2
    assert "no L1 group" in capsys.readouterr().err
    # a dataset without the layout's attributes is named
    with h5py.File(path, "a") as f:
        f.create_dataset("L1/0", data=np.zeros(10))
    assert main(args + [f"--repository={calibrated}"]) == 2
    assert "L1/0 lacks the start_time and delta_t" in capsys.readouterr().err


def write_segment(path, start, duration, hits=(), nan=None):
    """One MLGWSC-1 segment of noise and bursts; ``nan``: a GPS span of
    NaN in H1."""
    data = strain.simulated(
        ["H1", "L1"], start, duration, FILE_RATE, "aLIGO_O4_high", 0
    )
    t = start + np.arange(duration * FILE_RATE) / FILE_RATE
    with h5py.File(path, "a") as f:
        for ifo in ("H1", "L1"):
            x = data[ifo] + burst(hits, t)
            if nan and ifo == "H1":
                x[(t >= nan[0]) & (t < nan[1])] = np.nan
            dataset = f.create_dataset(f"{ifo}/{start}", data=x)
            dataset.attrs["start_time"] = float(start)
            dataset.attrs["delta_t"] = 1 / FILE_RATE


def test_nan_strain_is_left_out_and_said(calibrated, tmp_path, caplog):
    """One second of NaN at 100 s of a 400 s segment: the finite parts
    either side are analysed, the burst after the gap is found, and the
    span left out is logged."""
    start = 1238166018
    path = tmp_path / "foreground.hdf"
    write_segment(
        path, start, 400, hits=[start + 300.0], nan=(start + 100, start + 101)
    )
    output = tmp_path / "events.hdf"
    args = ["mlgwsc", f"--input-file={path}", f"--output-file={output}"]
    assert main([*args, f"--repository={calibrated}"]) == 0
    assert f"left out of the analysis: GPS {start + 100:.3f}-" in caplog.text
    with h5py.File(output, "r") as f:
        time, stat = f["time"][:], f["stat"][:]
    window = ModelRepository.open(calibrated).timing.half_width
    assert abs(time[np.argmax(stat)] - (start + 300.0)) <= window
    # events on both sides of the gap, none inside it
    assert time.min() < start + 100 and time.max() > start + 200
    assert not np.any((time > start + 100) & (time < start + 101))


def test_unreadable_files_are_named(calibrated, tmp_path, capsys):
    output = tmp_path / "events.hdf"
    repository = f"--repository={calibrated}"

    def refused(path) -> str:
        args = ["mlgwsc", f"--input-file={path}", f"--output-file={output}"]
        assert main([*args, repository]) == 2
        return capsys.readouterr().err

    empty = tmp_path / "empty.hdf"
    empty.touch()
    assert f"{empty} is empty" in refused(empty)
    text = tmp_path / "notes.hdf"
    text.write_text("not strain")
    assert f"{text} is not a readable HDF5 file" in refused(text)
    assert "no such strain file" in refused(tmp_path / "absent.hdf")
    # a truncated file: the segment's data ends early
    whole = tmp_path / "whole.hdf"
    write_segment(whole, 1238166018, 200)
    truncated = tmp_path / "truncated.hdf"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert str(truncated) in refused(truncated)
    # a two-dimensional dataset is not a series of samples
    flat = tmp_path / "flat.hdf"
    with h5py.File(flat, "w") as f:
        for ifo in ("H1", "L1"):
            dataset = f.create_dataset(f"{ifo}/0", data=np.zeros((2, 100)))
            dataset.attrs.update(start_time=0.0, delta_t=1 / FILE_RATE)
    assert "H1/0 is (2, 100), not a one-dimensional" in refused(flat)
    assert not output.exists()


def test_glitches_leave_a_sets_injections_as_they_were(tmp_path):
    """A set in the MLGWSC-1 layout, two segments, a foreground that is
    the background plus bursts: after add_glitches both files hold the
    same glitches, so foreground minus background is unchanged to float
    precision, and glitches.hdf5 says where they are."""
    from aframe_contracts.glitches import GlitchTable
    from aframe_infer.challenge import ChallengeSet, add_glitches
    from aframe_signal.glitches import GlitchModel

    data = ChallengeSet(tmp_path)
    hits = [1e9 + 100, 1e9 + 700]
    for start in (1e9, 1e9 + 600):
        write_segment(data.background, int(start), 300)
        write_segment(data.foreground, int(start), 300, hits)

    def difference():
        with (
            h5py.File(data.foreground) as fg,
            h5py.File(data.background) as bg,
        ):
            return {
                f"{ifo}/{name}": fg[ifo][name][()] - bg[ifo][name][()]
                for ifo in ("H1", "L1")
                for name in fg[ifo]
            }

    before = difference()
    with h5py.File(data.background) as f:
        clean = f["L1/1000000000"][()]
    add_glitches(data, GlitchModel({"H1": 2.0, "L1": 6.0}), seed=5)
    after = difference()
    for key, injected in before.items():
        assert (
            np.abs(after[key] - injected).max()
            <= 1e-6 * np.abs(injected).max()
        )
    record = GlitchTable.read(data.glitches)
    assert len(record.of("L1").between(1e9, 1e9 + 300)) > 10
    with h5py.File(data.background) as f:
        glitchy = f["L1/1000000000"][()]
        assert dict(f["L1/1000000000"].attrs)["start_time"] == 1e9
    assert np.abs(glitchy - clean).max() > 0


def test_bad_strain_is_refused_before_any_work(tmp_path):
    """The strain contract's checks, in the MLGWSC-1 reader: integer
    samples are named, with the file and what was expected."""
    path = tmp_path / "integer.hdf"
    with h5py.File(path, "w") as f:
        for ifo in ("H1", "L1"):
            dataset = f.create_dataset(f"{ifo}/0", data=np.zeros(64, int))
            dataset.attrs.update(start_time=0.0, delta_t=1 / FILE_RATE)
    with pytest.raises(DataError) as error:
        read_strain(path, ["H1", "L1"])
    assert str(error.value) == (
        f"{path}: H1/0 holds int64 samples: expected strain as real "
        "floating-point numbers (float32 or float64)"
    )
