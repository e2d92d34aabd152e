"""aframe-data subcommands end to end on small simulated data."""

import numpy as np
import pytest

from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet
from aframe_data import strain
from aframe_data.cli import main

SIGNALS = [
    "--signals.prior=mlgwsc1_bbh",
    "--signals.approximant=IMRPhenomD",
    "--signals.sample_rate=1024",
    "--signals.duration=4",
    "--signals.minimum_frequency=20",
    "--signals.reference_frequency=50",
    "--signals.right_pad=0.5",
]
T0 = 1240583383


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    path = tmp_path_factory.mktemp("bg") / "background.hdf5"
    data = strain.simulated(["H1", "L1"], T0, 300, 1024, "aLIGO_O4_high", 1)
    BackgroundStrain({i: data[i] for i in ["H1", "L1"]}, T0, 1024).write(path)
    return path


def testing_args(background) -> list[str]:
    """testing_waveforms' arguments, but for its timeslides."""
    return [
        *SIGNALS,
        f"--background_file={background}",
        "--ifos=[H1,L1]",
        "--spacing=4",
        "--buffer=4",
        "--psd_length=16",
        "--snr_threshold=6",
        "--highpass=32",
        "--seed=11",
    ]


def run_testing_waveforms(background, output_dir):
    args = ["testing_waveforms", *testing_args(background)]
    for index in (1, 2):
        args.append(
            f"--timeslides+={{index: {index}, shifts: [0, {index}], "
            f"num_injections: 10, output: {output_dir}/inj-{index}.hdf5}}"
        )
    return main(args)


def test_testing_waveforms(background, tmp_path, capsys):
    assert run_testing_waveforms(background, tmp_path / "a") == 0
    assert run_testing_waveforms(background, tmp_path / "b") == 0
    # a timeslide's injections are not replaced unasked
    assert run_testing_waveforms(background, tmp_path / "a") == 2
    assert "inj-1.hdf5 exists: pass --force=true" in capsys.readouterr().err
    for index in (1, 2):
        path = tmp_path / "a" / f"inj-{index}.hdf5"
        signals = WaveformSet.read(path)
        attrs, accepted = signals.attrs, signals.parameters
        rejected = signals.rejected
        assert len(accepted["snr"]) == 10
        assert attrs["num_draws"] == 10 + len(rejected["snr"])
        assert list(attrs["shifts"]) == [0, index]
        times = accepted["injection_time"]
        assert times.min() >= T0 + 16 + 4 - 0.5
        assert times.max() <= T0 + 300 - index - 4 + 0.5
        assert set(rejected["injection_time"]) <= set(times)
        assert np.all((accepted["ra"] >= 0) & (accepted["ra"] < 2 * np.pi))
        assert signals.waveforms["L1"].shape == (10, 4096)
        # a rerun reproduces the branch exactly
        again = WaveformSet.read(tmp_path / "b" / f"inj-{index}.hdf5")
        for key, value in accepted.items():
            np.testing.assert_array_equal(again.parameters[key], value)
    # the two timeslides draw differently
    one = WaveformSet.read(tmp_path / "a" / "inj-1.hdf5")
    two = WaveformSet.read(tmp_path / "a" / "inj-2.hdf5")
    assert not np.array_equal(one.parameters["ra"], two.parameters["ra"])


def test_training_and_validation_waveforms(background, tmp_path):
    training = tmp_path / "training.hdf5"
    args = [*SIGNALS, "--num_signals=20", "--seed=1", f"--output={training}"]
    assert main(["training_waveforms", *args, "--branch=0"]) == 0
    assert main(["training_waveforms", *args, "--branch=0"]) == 2
    train = WaveformSet.read(training, None)
    assert train.waveforms["cross"].shape == (20, 4096)
    assert train.attrs["right_pad"] == 0.5
    peaks = np.argmax(np.abs(train.waveforms["plus"]), axis=1)
    assert np.all(np.abs(peaks - train.coalescence) < 0.05 * 1024)

    validation = tmp_path / "validation.hdf5"
    assert (
        main(
            [
                "validation_waveforms",
                *SIGNALS,
                f"--background_files=[{background}]",
                "--ifos=[H1,L1]",
                "--num_signals=15",
                "--snr_threshold=8",
                "--highpass=32",
                "--seed=1",
                f"--output={validation}",
            ]
        )
        == 0
    )
    valid = WaveformSet.read(validation)
    assert np.all(valid.parameters["snr"] >= 8)
    attrs = valid.attrs
    assert list(attrs["ifos"]) == ["H1", "L1"] and attrs["num_draws"] >= 15
    # validation and training draw from different streams
    assert not np.isin(
        valid.parameters["mass_1"], train.parameters["mass_1"]
    ).any()


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    args = ["background", "--source=simulated", "--ifos=[H1]", "--start=0"]
    args += ["--duration=10", "--sample_rate=1024", f"--output={tmp_path}/x"]
    assert main([*args, "--noise_psd=nope"]) == 2
    assert "unknown noise_psd 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "command, options, message",
    [
        ("background", ["--ifos=[H1,X9]"], "['X9'] not among the detectors"),
        ("background", ["--sample_rate=0"], "sample_rate = 0.0: it must be"),
        ("background", ["--duration=-100"], "duration = -100.0: it must be"),
        (
            "background",
            ["--glitches={rates: {H1: -1}}"],
            "H1 has -1.0 per minute: rates must not be negative",
        ),
        (
            "background",
            ["--glitches={snr_min: 20, snr_max: 10}"],
            "the SNRs need 0 < snr_min < snr_max",
        ),
        (
            "background",
            ["--ifos=[H1,V1]", "--glitches={rates: {V1: 1}}"],
            "gengli has no glitches of V1",
        ),
        (
            "background",
            ["--glitch_table=/nonexistent.csv"],
            "glitch_table: /nonexistent.csv is not a file",
        ),
        ("segments", ["--min_duration=-1"], "min_duration = -1.0: it must"),
        ("training_waveforms", ["--num_signals=0"], "num_signals = 0: it"),
        (
            "training_waveforms",
            ["--signals.sample_rate=16"],
            "minimum_frequency = 20.0 Hz: it must be below Nyquist",
        ),
        (
            "training_waveforms",
            ["--signals.right_pad=4"],
            "right_pad = 4.0 s: it must be shorter than",
        ),
        ("testing_waveforms", ["--spacing=0"], "spacing = 0.0: it must be"),
        ("testing_waveforms", ["--ifos=[H1]"], "give one shift of 0 s or"),
        ("testing_waveforms", ["--lowpass=700"], "passes Nyquist (512 Hz)"),
    ],
)
def test_values_no_data_can_have_are_named(
    background, tmp_path, capsys, command, options, message
):
    """Each of these was a traceback, or a file (noise for a detector
    without a geometry, waveforms above Nyquist, injections on top of
    each other) and status 0."""
    output = tmp_path / "out.hdf5"
    args = {
        "background": [
            "--source=simulated",
            "--ifos=[H1,L1]",
            f"--start={T0}",
            "--duration=100",
            "--sample_rate=1024",
            f"--output={output}",
        ],
        "segments": [
            "--source=simulated",
            "--ifos=[H1,L1]",
            f"--start={T0}",
            f"--stop={T0 + 100}",
            f"--output={output}",
        ],
        "training_waveforms": [
            *SIGNALS,
            "--num_signals=2",
            "--seed=1",
            f"--output={output}",
        ],
        "testing_waveforms": [
            *testing_args(background),
            "--timeslides+={index: 1, shifts: [0, 1], num_injections: 3, "
            f"output: {output}}}",
        ],
    }[command]
    assert main([command, *args, *options]) == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_outputs_are_replaced_only_when_asked(background, tmp_path, capsys):
    args = ["background", "--source=simulated", "--ifos=[H1]", "--start=0"]
    args += ["--duration=10", "--sample_rate=1024"]
    output = tmp_path / "x.hdf5"
    assert main([*args, f"--output={output}"]) == 0
    first = output.read_bytes()
    assert main([*args, f"--output={output}", "--seed=5"]) == 2
    err = capsys.readouterr().err
    assert f"the output {output} exists: pass --force=true" in err
    assert output.read_bytes() == first
    assert main([*args, f"--output={output}", "--seed=5", "--force=true"]) == 0
    assert output.read_bytes() != first
    # and a segment list alike
    segments = ["segments", "--source=simulated", "--ifos=[H1]"]
    segments += ["--start=0", "--stop=10", f"--output={tmp_path}/s.txt"]
    assert main(segments) == 0
    assert main(segments) == 2
    assert main([*segments, "--force=true"]) == 0
    # an input is never an output, forced or not
    validation = [
        "validation_waveforms",
        *SIGNALS,
        f"--background_files=[{background}]",
        "--ifos=[H1,L1]",
        "--num_signals=2",
        "--snr_threshold=6",
        "--highpass=32",
        "--seed=1",
        f"--output={background}",
        "--force=true",
    ]
    size = background.stat().st_size
    assert main(validation) == 2
    assert "would destroy the input" in capsys.readouterr().err
    assert background.stat().st_size == size


def test_background_with_glitches_records_them(tmp_path):
    """gengli's blips are added where the record says, and a rerun with
    the same seed writes the same strain; a table's glitches are only
    recorded."""
    args = ["background", "--source=simulated", "--ifos=[H1,L1]"]
    args += [f"--start={T0}", "--duration=120", "--sample_rate=1024"]
    args += ["--seed=4", "--noise_psd=aLIGO_ZERO_DET_high_P"]
    glitches = "--glitches={rates: {H1: 3, L1: 6}}"
    clean, first, second = (tmp_path / n for n in ("c.h5", "a.h5", "b.h5"))
    assert main([*args, f"--output={clean}"]) == 0
    assert main([*args, glitches, f"--output={first}"]) == 0
    assert main([*args, glitches, f"--output={second}"]) == 0
    noise = BackgroundStrain.read(clean)
    added = BackgroundStrain.read(first)
    assert noise.glitches is None
    table = added.glitches
    assert len(table) > 5 and set(table.ifo) == {"H1", "L1"}
    assert np.all(table.snr >= 6.5)
    for ifo in ("H1", "L1"):
        assert np.array_equal(
            added.strain[ifo], BackgroundStrain.read(second).strain[ifo]
        )
        changed = np.flatnonzero(added.strain[ifo] != noise.strain[ifo])
        peaks = (table.of(ifo).time - T0) * 1024
        # every changed sample is within a glitch's stretch of one
        nearest = np.abs(changed[:, None] - peaks[None]).min(-1)
        assert nearest.max() < 1024
    # a table of real glitches: recorded, the strain untouched
    path = tmp_path / "glitches.csv"
    path.write_text(f"time,ifo,snr\n{T0 + 10},L1,9\n{T0 + 500},H1,8\n")
    recorded = tmp_path / "t.h5"
    assert main([*args, f"--glitch_table={path}", f"--output={recorded}"]) == 0
    real = BackgroundStrain.read(recorded)
    assert real.glitches.time.tolist() == [T0 + 10]
    assert np.array_equal(real.strain["L1"], noise.strain["L1"])
