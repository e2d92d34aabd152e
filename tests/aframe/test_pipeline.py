"""The pipeline graph, asserted without running it."""

import subprocess
import sys

import pytest
from luigi.parameter import MissingParameterException

from aframe.paths import MissingRootError
from aframe.pipelines.sandbox import Benchmark, Sandbox, Tune
from aframe.tasks import testing
from aframe.tasks.data import (
    TrainingBackground,
    TrainingSegments,
    TrainingWaveforms,
    ValidationWaveforms,
)
from aframe.tasks.export import Export
from aframe.tasks.infer import (
    AggregateEvents,
    Calibrate,
    Infer,
    InferBackground,
)
from aframe.tasks.mlgwsc import ChallengeData, ChallengeEvents, ChallengeScore
from aframe.tasks.plots import PAstro, SensitiveVolume
from aframe.tasks.train import RayTune, Train
from aframe_contracts.rates import GWTC3_BBH_RATE
from aframe_contracts.segments import write_segments


def chain(pipeline):
    """The main tasks of a pipeline, found through requires()."""
    volume = pipeline.requires()
    infer = volume.requires()["events"].requires()["injections"]
    export = infer.workflow_requires()["model"]
    training = export.requires()
    return volume, infer, export, training


def test_the_report_reads_the_p_astro_model_the_cfg_asks_for(experiment):
    """p_astro is fitted to the aggregated events at GWTC-3's rate (base.cfg
    leaves it unset) and base.cfg's population, and the report is given
    the model."""
    experiment()
    volume = Sandbox().requires()
    p_astro = volume.requires()["p_astro"]
    assert isinstance(p_astro, PAstro)
    assert isinstance(p_astro.requires(), AggregateEvents)
    call = p_astro.stage_call()
    assert call.subcommand == "p-astro"
    assert call.parameters["rate"] == GWTC3_BBH_RATE == 28.1
    assert call.parameters["population"] == "prior"
    assert call.parameters["output"].endswith("results/p_astro.hdf5")
    report = volume.stage_call().parameters
    assert report["p_astro_model"] == call.parameters["output"]


@pytest.mark.parametrize(
    "pipeline_cls, train_cls, mode",
    [(Sandbox, Train, "sandbox"), (Tune, RayTune, "tune")],
)
def test_requirements(experiment, pipeline_cls, train_cls, mode):
    directory = experiment(mode)
    pipeline = pipeline_cls(gpus="0,1")
    volume, infer, export, training = chain(pipeline)

    assert isinstance(volume, SensitiveVolume)
    assert isinstance(infer, Infer) and infer.is_workflow()
    assert isinstance(volume.requires()["events"], AggregateEvents)
    # the quickstart scores no MLGWSC-1 set
    assert volume.requires()["mlgwsc"] == []
    assert isinstance(export, Export)
    assert type(training) is train_cls
    assert isinstance(
        infer.workflow_requires()["segments"], testing.TestingSegments
    )

    inputs = training.requires()
    assert isinstance(inputs["background"], TrainingBackground)
    assert isinstance(inputs["training_waveforms"], TrainingWaveforms)
    assert isinstance(inputs["validation_waveforms"], ValidationWaveforms)
    background = inputs["background"]
    assert isinstance(
        background.workflow_requires()["segments"], TrainingSegments
    )
    assert isinstance(
        inputs["validation_waveforms"].requires(), type(background)
    )

    # shared parameters come from [pipeline] of the preset and reach every
    # task; --gpus too
    for task in (volume, infer, export, training, background):
        assert task.sample_rate == 1024
        assert task.ifos == ("H1", "L1")
        assert task.gpus == "0,1"
    # task parameters come from their own sections, relative to the cfg
    assert training.configs()[0] == directory / "train.yaml"
    assert export.configs() == (directory / "export.yaml",)
    assert infer.backend == "local"

    # the time window is measured on the validation signals in the
    # training background, served and integrated as inference will be
    calibrate = infer.workflow_requires()["timing"]
    assert isinstance(calibrate, Calibrate)
    assert isinstance(calibrate.requires()["model"], Export)
    assert isinstance(calibrate.requires()["background"], TrainingBackground)
    assert isinstance(calibrate.requires()["waveforms"], ValidationWaveforms)
    for name in ("backend", "integration_window_length"):
        assert getattr(calibrate, name) == getattr(infer, name)


def test_parameters_given_on_the_command_line_flow_down(experiment):
    experiment()
    _, infer, _, training = chain(Sandbox(sample_rate=512, lowpass=300.0))
    assert training.sample_rate == infer.sample_rate == 512
    assert training.lowpass == 300
    assert training.fftlength is None


def test_outputs_live_under_the_data_roots(experiment):
    directory = experiment()
    volume, infer, export, training = chain(Sandbox())
    assert volume.output()["report"].path == str(
        directory / "results" / "report.html"
    )
    assert export.output().path == str(
        directory / "results" / "model_repo" / "manifest.json"
    )
    assert training.output().path == str(directory / "training" / "model.pt")
    waveforms = TrainingWaveforms.req(training, branch=1)
    assert waveforms.output().path == str(
        directory / "data/train/training_waveforms/waveforms-1.hdf5"
    )
    assert ValidationWaveforms.req(training).output().path == str(
        directory / "data/train/validation_waveforms.hdf5"
    )
    assert TrainingSegments.req(training).output().path == str(
        directory / "data/train/segments.txt"
    )


def test_branch_maps_wait_for_the_segments(experiment):
    directory = experiment()
    _, infer, _, training = chain(Sandbox())
    # a fresh experiment: placeholders until the segment lists exist
    assert infer.get_branch_map() == {0: None}
    assert TrainingBackground.req(training).get_branch_map() == {0: None}
    waveforms = TrainingWaveforms.req(training)
    counts = waveforms.get_branch_map()
    assert len(counts) == 2 and sum(counts.values()) == 2000

    # the quickstart splits its hour of testing into two 1800 s chunks
    start, stop = 1240583383, 1240586983
    write_segments([(start, stop)], directory / "data/test/segments.txt")
    write_segments(
        [(1240579783, start)], directory / "data/train/segments.txt"
    )
    _, infer, _, training = chain(Sandbox())
    background = testing.TestingBackground.req(infer)
    assert list(background.get_branch_map().values()) == [
        (start, 1800),
        (start + 1800, 1800),
    ]
    assert background.get_branch_tasks()[1].output().path == str(
        directory / f"data/test/background/background-{start + 1800}-1800.hdf5"
    )
    train_bg = TrainingBackground.req(training).get_branch_tasks()
    assert len(train_bg) == 1

    # Tb = 21600 s needs 7 timeslides of the two chunks (1800 - 64 - k),
    # each chunk's analysed by one branch of the background
    slid = InferBackground.req(infer)
    assert list(slid.get_branch_map()) == [0, 1]
    chunk_slides = slid.get_branch_tasks()[1].branch_timeslides()
    assert [b.index for b in chunk_slides] == list(range(1, 8))
    call = slid.get_branch_tasks()[1].stage_call()
    assert call.subcommand == "background"
    assert call.parameters["shifts"] == [[0.0, float(k)] for k in range(1, 8)]
    assert call.parameters["output"] == str(
        directory / "results/infer" / f"{start + 1800}-1800/background.hdf5"
    )
    # the injections go in the first timeslides that hold 1000 of them at
    # 16 s spacing (and 1 s of jitter): 101 in each, so ten
    branches = infer.get_branch_map()
    assert [(b.chunk, b.index) for b in branches.values()] == [
        (chunk, k) for k in range(1, 6) for chunk in (0, 1)
    ]
    injections = testing.TestingWaveforms.req(infer)
    assert list(injections.get_branch_map()) == [0, 1]
    chunk = injections.get_branch_tasks()[0]
    assert sorted(chunk.output()) == [1, 2, 3, 4, 5]
    counts = [n for _, n in injections.injection_counts()]
    assert sum(counts) == 1000 and max(counts) <= 101

    branch = infer.get_branch_tasks()[1]
    assert branch.branch_data.chunk == 1
    name = f"{start + 1800}-1800-1"
    assert branch.output().path == str(
        directory / "results" / "infer" / name / "foreground.hdf5"
    )
    assert branch.stage_call().parameters["background"] is False
    inputs = branch.requires()
    assert inputs["background"].branch == 1
    assert inputs["injections"].branch == 1
    assert inputs["injections"].output()[1].path == str(
        directory / "data/test/injections" / f"injections-{name}.hdf5"
    )


def test_the_mlgwsc1_benchmark(experiment, monkeypatch):
    directory = experiment()
    # the cfg names datasets: the report scores the model on each
    volume = Sandbox(mlgwsc_datasets=[1, 3], mlgwsc_duration=600).requires()
    scores = volume.requires()["mlgwsc"]
    assert [s.dataset for s in scores] == [1, 3]
    assert all(isinstance(s, ChallengeScore) for s in scores)
    # Benchmark scores dataset 1 when the cfg names none, without the
    # time-slid search
    (score,) = Benchmark(mlgwsc_duration=600).requires()
    assert score.dataset == 1 and score.train_task is Train
    inputs = score.requires()
    assert isinstance(inputs["data"], ChallengeData)
    events = inputs["events"]
    assert isinstance(events, ChallengeEvents) and events.is_workflow()
    assert score.output().path == str(
        directory / "results/mlgwsc/dataset1-600-1/score.hdf5"
    )
    data_dir = directory / "data/test/mlgwsc/dataset1-600-1"
    # a container sees the checkout the cfg names (relative to the cfg)
    checkout = directory / "mlgwsc1"
    checkout.mkdir()
    named = ChallengeData.req(inputs["data"], mlgwsc_dir="mlgwsc1")
    assert named.challenge() == {"mlgwsc_dir": str(checkout)}
    assert checkout in named._binds()
    # and the one $AFRAME_MLGWSC_DIR names where the cfg names none
    monkeypatch.setenv("AFRAME_MLGWSC_DIR", str(checkout))
    assert inputs["data"].challenge() == {"mlgwsc_dir": str(checkout)}
    assert checkout in inputs["data"]._binds()
    monkeypatch.delenv("AFRAME_MLGWSC_DIR")
    assert inputs["data"].output()["segments"].path == str(
        data_dir / "segments.txt"
    )
    # the events run the exported, calibrated model, served as inference
    # serves it, in chunks of the set's segments, foreground and
    # background
    needs = events.workflow_requires()
    assert isinstance(needs["model"], Export)
    assert isinstance(needs["timing"], Calibrate)
    assert needs["timing"].backend == "local"
    assert events.get_branch_map() == {0: None}
    start = 1238166018
    write_segments([(start, start + 600)], data_dir / "segments.txt")
    events = ChallengeEvents.req(score, max_duration=400)
    branches = events.get_branch_tasks()
    assert [b.branch_data[0] for b in branches.values()] == [
        "foreground",
        "foreground",
        "background",
        "background",
    ]
    assert branches[3].output().path == str(
        directory / f"results/mlgwsc/dataset1-600-1/events/"
        f"background-{start + 300}-300.hdf"
    )


def test_unset_root_is_an_error_naming_it(experiment, monkeypatch):
    experiment()
    monkeypatch.setenv("AFRAME_RESULTS_DIR", "")
    volume = Sandbox().requires()
    with pytest.raises(MissingRootError, match="AFRAME_RESULTS_DIR"):
        volume.output()


def test_missing_parameter_names_the_section(experiment):
    directory = experiment()
    cfg = directory / "base.cfg"
    cfg.write_text(cfg.read_text().replace("seed = 101588\n", ""))
    from tests.conftest import load_law_config

    load_law_config(directory / "sandbox.cfg")
    with pytest.raises(
        MissingParameterException, match=r"'seed'.*\[pipeline\]"
    ):
        Sandbox()


def test_importing_the_pipelines_imports_no_numerics():
    code = (
        "import sys, aframe.pipelines.sandbox, aframe.init; "
        "heavy = {'torch', 'numpy', 'h5py', 'gwpy', 'lightning'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr
