"""Outputs are complete only while the settings that made them hold."""

import inspect
import json
import logging
import shutil

import luigi
import pytest

from aframe import paths, provenance
from aframe.pipelines.sandbox import Sandbox
from aframe.tasks.data import (
    TrainingBackground,
    TrainingSegments,
    ValidationWaveforms,
)
from aframe.tasks.infer import AggregateEvents, InferBackground
from aframe.tasks.plots import SensitiveVolume
from aframe.tasks.train import Train
from aframe_contracts.segments import write_segments
from tests.conftest import load_law_config

LOUDER = "aLIGO_ZERO_DET_high_P"


def write_quickstart_segments(directory) -> None:
    """The quickstart's segment lists: an hour of training data, then an
    hour of test data, so every branch map is known."""
    start = 1240583383
    write_segments(
        [(start, start + 3600)], directory / "data/test/segments.txt"
    )
    write_segments(
        [(1240579783, start)], directory / "data/train/segments.txt"
    )


def build(*tasks) -> None:
    assert luigi.build(list(tasks), local_scheduler=True, log_level="WARNING")


def test_a_changed_setting_runs_the_tasks_it_affects(experiment, caplog):
    experiment()
    build(TrainingBackground.req(Sandbox()))
    background = TrainingBackground.req(Sandbox())
    branch = background.get_branch_tasks()[0]
    assert branch.complete() and background.complete()
    record = json.loads((branch.workdir() / provenance.RECORD).read_text())
    # paths are kept relative to the data roots
    assert record["parameters"]["output"] == (
        "$train_data/background/background-1240579783-3600.hdf5"
    )
    assert record["inputs"][0][0] == "TrainingSegments"

    changed = TrainingBackground.req(Sandbox(), noise_psd=LOUDER)
    with caplog.at_level(logging.WARNING, logger="aframe"):
        assert not changed.get_branch_tasks()[0].complete()
    assert f'noise_psd: "aLIGO_O4_high" -> "{LOUDER}"' in caplog.text
    # the segments do not depend on the PSD
    assert TrainingSegments.req(changed).complete()

    # running it again makes it complete with the new setting, and the
    # old setting's outputs are no longer complete
    build(changed)
    assert changed.complete()
    assert not TrainingBackground.req(Sandbox()).complete()


def test_a_changed_input_runs_the_tasks_downstream(experiment):
    """A task whose input is made with other settings is stale too, though
    its own parameters are the same."""
    directory = experiment()
    write_segments(
        [(1240579783, 1240583383)], directory / "data/train/segments.txt"
    )
    before = ValidationWaveforms.req(Sandbox()).provenance({})
    after = ValidationWaveforms.req(Sandbox(), noise_psd=LOUDER).provenance({})
    assert before["parameters"] == after["parameters"]
    assert provenance.digest(before) != provenance.digest(after)
    assert provenance.changes({**before}, after) == [
        "its input TrainingBackground changed"
    ]


def test_every_task_of_the_sandbox_records_its_call(experiment):
    """The whole graph's records, from the volume down to the segments,
    once the segment lists are written (until then: None, not known)."""
    directory = experiment()
    volume = SensitiveVolume.req(Sandbox())
    assert volume.provenance({}) is None
    # the process keeps digests, never an unknown one
    assert volume.provenance_digest(provenance.DIGESTS) is None
    write_quickstart_segments(directory)
    volume = SensitiveVolume.req(Sandbox())
    record = volume.provenance({})
    assert record["subcommand"] == "report"
    kept = volume.provenance_digest(provenance.DIGESTS)
    assert kept == provenance.digest(record)
    assert record["inputs"][0][0] == "AggregateEvents"
    # the serving of the model is left out of the records: a model served
    # by Triton or in process makes the same events
    served = SensitiveVolume.req(Sandbox(), backend="local").provenance({})
    assert provenance.digest(served) == provenance.digest(record)
    # the title names the directory: left out, so the experiment may move
    assert "title" not in record["parameters"]
    # a killed fit continues from its last epoch when run again; whether
    # it may does not change what it makes
    train = Train.req(Sandbox())
    assert train.stage_call().parameters["resume"] is True
    assert "resume" not in train.provenance({})["parameters"]


def test_a_moved_experiment_stays_complete(experiment, tmp_path, monkeypatch):
    directory = experiment()
    build(TrainingBackground.req(Sandbox()))
    moved = tmp_path / "elsewhere"
    shutil.move(directory, moved)
    for name, variable in paths.ROOTS.items():
        monkeypatch.setenv(variable, str(moved / paths.ROOT_LAYOUT[name]))
    load_law_config(moved / "sandbox.cfg")
    assert TrainingBackground.req(Sandbox()).complete()


def test_a_failed_run_leaves_no_record(experiment, monkeypatch):
    experiment()
    build(TrainingBackground.req(Sandbox()))
    branch = TrainingBackground.req(Sandbox()).get_branch_tasks()[0]
    record = branch.workdir() / provenance.RECORD
    assert record.exists()

    def fail(*args, **kwargs):
        raise RuntimeError("the stage failed")

    monkeypatch.setattr(type(branch), "run_stage", fail)
    with pytest.raises(RuntimeError):
        branch.run()
    # the old output is still there, but nothing vouches for it
    assert not record.exists() and not branch.complete()


def test_tasks_whose_stage_refuses_to_replace_pass_force():
    """A stale task reruns over its old outputs: where the stage command
    refuses an existing output without force, the task must pass it."""
    from aframe.tasks import data, export, infer, mlgwsc, plots, testing
    from aframe_data import cli
    from aframe_export.export import export as export_model
    from aframe_infer import benchmark, search, timing
    from aframe_plots.pastro import fit_p_astro
    from aframe_plots.report import make_report

    commands = {
        data.Segments: cli.segments,
        data.Background: cli.background,
        data.TrainingWaveforms: cli.training_waveforms,
        data.ValidationWaveforms: cli.validation_waveforms,
        testing.TestingWaveforms: cli.testing_waveforms,
        export.Export: export_model,
        infer.Calibrate: timing.calibrate,
        infer.InferBackground: search.background,
        infer.Infer: search.analyse,
        infer.AggregateEvents: search.aggregate,
        mlgwsc.ChallengeData: benchmark.mlgwsc_data,
        mlgwsc.ChallengeEvents: benchmark.mlgwsc,
        mlgwsc.ChallengeScore: benchmark.mlgwsc_score,
        plots.PAstro: fit_p_astro,
        plots.SensitiveVolume: make_report,
    }
    for task, command in commands.items():
        takes_force = "force" in inspect.signature(command).parameters
        assert task.replaces_outputs == takes_force, task.__name__


def test_a_longer_background_is_not_complete(experiment):
    """Tb raised after a finished run: the aggregate of the old
    timeslides must not stand for the new Tb."""
    directory = experiment()
    write_quickstart_segments(directory)
    before = AggregateEvents.req(Sandbox())
    after = AggregateEvents.req(Sandbox(), Tb=2 * before.Tb)
    assert len(InferBackground.req(after).timeslides()) > len(
        InferBackground.req(before).timeslides()
    )
    old, new = before.provenance({}), after.provenance({})
    assert provenance.digest(old) != provenance.digest(new)
    assert "its input InferBackground changed" in provenance.changes(old, new)


def test_only_a_stopped_fit_resumes(experiment, monkeypatch):
    """A fit that finished runs again because its settings or inputs
    changed: its checkpoints were trained on the old data, so it starts
    afresh.  A fit stopped before it finished left no record, and
    continues from its last epoch."""
    directory = experiment()
    write_quickstart_segments(directory)
    calls = []
    monkeypatch.setattr(
        Train,
        "run_stage",
        lambda self, sub, params, configs: calls.append(params),
    )
    monkeypatch.setattr(Train, "provenance", lambda self, memo: None)
    train = Train.req(Sandbox())
    record = train.workdir() / provenance.RECORD
    train.run()
    assert calls[-1]["resume"] is True
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("{}")
    train.run()
    assert calls[-1]["resume"] is False
    assert not record.exists()
