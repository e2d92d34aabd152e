"""The MLGWSC-1 benchmark: the challenge's own generator and evaluate.py
around aframe's events.

The challenge's files come from $AFRAME_MLGWSC_DIR, else the copy kept
beside the project for offline runs (../shared/mlgwsc1); its environment
is .venv-mlgwsc (`make mlgwsc-env`; make test builds it).
"""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from aframe_contracts.score import Score
from aframe_data.psd import interpolate_psd, load_psd
from aframe_infer import benchmark
from aframe_infer.challenge import (
    ChallengeCode,
    ChallengeError,
    ChallengeSet,
    analysed_injections,
    generate,
    read_strain,
)
from aframe_infer.cli import main
from aframe_serving.repository import ModelRepository

from .test_mlgwsc import burst

pytestmark = pytest.mark.mlgwsc

SHARED = Path(__file__).parents[2].parent / "shared" / "mlgwsc1"
DURATION = 600


@pytest.fixture(scope="session")
def challenge():
    directory = os.environ.get("AFRAME_MLGWSC_DIR") or SHARED
    try:
        return ChallengeCode.locate(directory)
    except ChallengeError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def dataset_one(challenge, tmp_path_factory):
    """600 s of dataset 1 (about 20 s to make)."""
    return generate(challenge, 1, DURATION, 11, tmp_path_factory.mktemp("d"))


def copy_set(data: ChallengeSet, directory: Path) -> ChallengeSet:
    directory.mkdir(parents=True)
    for path in [*data.files(), data.segments]:
        shutil.copyfile(path, directory / path.name)
    return ChallengeSet(directory)


def test_the_generator_makes_a_set(dataset_one, challenge, caplog):
    ((start, rate, foreground),) = read_strain(dataset_one.foreground, ["H1"])
    assert rate == 2048 and foreground.shape == (1, DURATION * 2048)
    with h5py.File(dataset_one.foreground) as f:
        assert f.attrs["dataset"] == 1 and f.attrs["seed"] == 11
    assert dataset_one.segments.read_text().splitlines()[1].split()[1:3] == [
        f"{start:.6f}",
        f"{start + DURATION:.6f}",
    ]
    # the working copy is gone; a set already there is kept
    assert not (dataset_one.directory / ".challenge").exists()
    caplog.set_level("INFO", logger="aframe_infer")
    generate(challenge, 1, DURATION, 11, dataset_one.directory)
    assert "already holds the set" in caplog.text


def test_optimal_snrs_against_the_design_curve(dataset_one):
    """Dataset 1 is Gaussian noise of aLIGOZeroDetHighPower: the SNRs
    measured with a Welch PSD of the background agree with the curve's."""
    with h5py.File(dataset_one.injections) as f:
        tc = f["tc"][()][analysed_injections(dataset_one)]
    ours = benchmark.optimal_snrs(dataset_one, tc, 20.0)
    from aframe_signal.snr import optimal_snrs

    ifos = ["H1", "L1"]
    ((start, rate, noise),) = read_strain(dataset_one.background, ifos)
    ((_, _, data),) = read_strain(dataset_one.foreground, ifos)
    frequencies = np.linspace(0, rate / 2, 4097)
    curve = interpolate_psd(*load_psd("aLIGO_ZERO_DET_high_P"), frequencies)
    psd = np.stack([curve, curve])
    for i, t in enumerate(tc):
        first = round((t - 16 - start) * rate)
        last = round((t + 1 - start) * rate)
        window = (data - noise)[None, :, first:last]
        expected = np.sqrt(
            np.sum(optimal_snrs(window, psd, rate, 20, None) ** 2)
        )
        assert ours[i] == pytest.approx(expected, rel=0.03)
    assert tc.size >= 15 and np.all(ours > 0)


def test_chunks_give_the_events_of_the_whole_file(
    calibrated, dataset_one, tmp_path
):
    whole, parts = tmp_path / "whole.hdf", []
    args = [
        f"--repository={calibrated}",
        f"--input-file={dataset_one.foreground}",
    ]
    assert main(["mlgwsc", *args, f"--output-file={whole}"]) == 0
    ((start, _, _),) = read_strain(dataset_one.foreground, ["H1"])
    for first, last in ((start, start + 250), (start + 250, start + DURATION)):
        parts.append(tmp_path / f"{first}.hdf")
        chunk = [f"--start={first}", f"--stop={last}"]
        assert (
            main(["mlgwsc", *args, *chunk, f"--output-file={parts[-1]}"]) == 0
        )

    def read(path):
        with h5py.File(path) as f:
            return f["time"][()], f["stat"][()]

    time, stat = read(whole)
    pieces = [read(path) for path in parts]
    np.testing.assert_allclose(np.concatenate([t for t, _ in pieces]), time)
    np.testing.assert_allclose(
        np.concatenate([s for _, s in pieces]), stat, rtol=1e-5
    )


def test_loud_injections_count_as_found(
    calibrated, dataset_one, challenge, tmp_path
):
    """If var or the event times drifted, evaluate.py would miss these."""
    data = copy_set(dataset_one, tmp_path / "data")
    with h5py.File(data.injections) as f:
        tc = f["tc"][()][analysed_injections(data)]
    # loud bursts peaking at the coalescence of three injections
    loud = tc[[2, 8, 14]]
    with h5py.File(data.foreground, "a") as f:
        for ifo in ("H1", "L1"):
            (name,) = f[ifo].keys()
            dataset = f[f"{ifo}/{name}"]
            t0, dt = dataset.attrs["start_time"], dataset.attrs["delta_t"]
            t = t0 + np.arange(dataset.shape[0]) * dt
            dataset[...] = dataset[...] + burst(loud, t)
    out = tmp_path / "out"
    events = {}
    for kind in ("foreground", "background"):
        events[kind] = out / f"events-{kind}.hdf"
        args = [
            f"--input-file={getattr(data, kind)}",
            f"--repository={calibrated}",
        ]
        assert main(["mlgwsc", *args, f"--output-file={events[kind]}"]) == 0
    args = [f"--data-dir={data.directory}", f"--output-dir={out}"]
    args += [f"--foreground-events=[{events['foreground']}]"]
    args += [f"--background-events=[{events['background']}]"]
    args += [f"--mlgwsc-dir={challenge.directory}"]
    assert main(["mlgwsc-score", *args]) == 0
    # scoring again replaces the score only when asked
    assert main(["mlgwsc-score", *args]) == 2
    assert main(["mlgwsc-score", *args, "--force=true"]) == 0
    # evaluate.py's own output, read back
    with h5py.File(out / "eval.hdf") as f:
        assert {
            "far",
            "sensitive-distance",
            "true-positive-event-indices",
        } <= set(f)
        fraction = f["sensitive-fraction"][()]
    score = Score.read(out / "score.hdf5")
    assert score.var == ModelRepository.open(calibrated).timing.half_width
    assert np.all(score.found[np.isin(score.tc, loud)])
    assert fraction[-1] > 0 and score.distance[score.loudest] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == 1 and summary["duration_s"] == DURATION
    assert (
        sum(b["injected"] for b in summary["found_by_optimal_snr"]) == tc.size
    )


def test_benchmark_of_a_model_trained_elsewhere(
    calibrated, dataset_one, challenge, tmp_path, capsys
):
    out = tmp_path / "bench"
    # the set is already there: the benchmark reuses it
    copy_set(dataset_one, out / "data")
    args = ["mlgwsc-benchmark", f"--repository={calibrated}"]
    args += ["--dataset=1", f"--duration={DURATION}", "--seed=11"]
    args += [f"--mlgwsc-dir={challenge.directory}", f"--output-dir={out}"]
    assert main(args) == 0
    for name in ("eval.hdf", "score.hdf5", "summary.json"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lowest_far_per_month"] == pytest.approx(2592000 / DURATION)
    # the model's own windows, as it was calibrated
    assert summary["integration_window_length"] == 0.5
    assert summary["cluster_window_length"] == 4.0
    # a second benchmark into the same directory replaces only when asked
    assert main(args) == 2
    assert "events-foreground.hdf exists: pass --force" in (
        capsys.readouterr().err
    )
    assert json.loads((out / "summary.json").read_text()) == summary


def test_bad_input_is_named(
    challenge, repository, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("AFRAME_MLGWSC_DIR", raising=False)
    with pytest.raises(ChallengeError, match="git clone https://github.com"):
        ChallengeCode.locate("")
    with pytest.raises(ChallengeError, match="has no generate_data.py"):
        ChallengeCode.locate(tmp_path)
    with pytest.raises(ChallengeError, match="make mlgwsc-env"):
        ChallengeCode.locate(challenge.directory, tmp_path / "nowhere")
    args = ["mlgwsc-data", "--dataset=5", "--duration=600", "--seed=1"]
    args += [
        f"--output-dir={tmp_path}/o",
        f"--mlgwsc-dir={challenge.directory}",
    ]
    assert main(args) == 2
    assert "dataset 5: MLGWSC-1 has datasets 1, 2, 3 and 4" in (
        capsys.readouterr().err
    )
    # a model of other detectors
    model = ModelRepository.open(repository)
    other = replace(model, manifest=replace(model.manifest, ifos=["H1", "V1"]))
    with pytest.raises(ChallengeError, match=r"analyses \['H1', 'V1'\]"):
        benchmark.check_ifos(other)


def test_a_failing_generator_shows_its_last_lines(challenge, tmp_path):
    # a checkout whose dataset-1 prior pycbc cannot read
    broken = tmp_path / "checkout"
    shutil.copytree(challenge.directory, broken)
    (broken / "ds1.ini").chmod(0o644)
    (broken / "ds1.ini").write_text("[variable_params]\nmass1 =\n")
    code = ChallengeCode(broken, challenge.environment)
    with pytest.raises(ChallengeError) as error:
        generate(code, 1, DURATION, 1, tmp_path / "out")
    message = str(error.value)
    assert "generate_data.py failed" in message
    assert "Traceback" in message or "Error" in message.splitlines()[-1]
    assert not (tmp_path / "out" / "segments.txt").exists()


def test_dataset_four_offline_says_so(challenge, tmp_path, monkeypatch):
    def fails(args, cwd, log):
        raise ChallengeError("the challenge's generate_data.py failed")

    monkeypatch.setattr(ChallengeCode, "run", lambda self, *a: fails(*a))
    with pytest.raises(ChallengeError, match="dataset 4 is real O3a noise"):
        generate(challenge, 4, DURATION, 1, tmp_path)
