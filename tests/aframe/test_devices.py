"""GPU assignment: every GPU for training, one per workflow branch."""

import pytest

from aframe import devices
from aframe.pipelines.sandbox import Sandbox
from aframe.tasks.data import TrainingSegments, TrainingWaveforms
from aframe.tasks.train import Train


def test_parse():
    assert devices.parse("") == []
    assert devices.parse(" 0, 1 ,") == ["0", "1"]
    with pytest.raises(ValueError, match="GPU 1 more than once"):
        devices.parse("1,0,1")


def test_branches_take_the_gpus_in_turn():
    assigned = [devices.visible("2,5,7", branch) for branch in range(7)]
    assert assigned == ["2", "5", "7", "2", "5", "7", "2"]
    assert devices.visible("0", 3) == "0"
    with pytest.raises(ValueError, match=">= 0"):
        devices.visible("0,1", -1)


def test_whole_tasks_see_every_gpu():
    assert devices.visible("0, 1") == "0,1"
    assert devices.visible("") == ""
    assert devices.visible("", 4) == ""


def test_trainer_devices():
    assert devices.trainer_devices("") == {}
    assert devices.trainer_devices("3") == {"devices": 1}
    assert devices.trainer_devices("0,1,2") == {
        "devices": 3,
        "strategy": "ddp",
    }


def test_instances_scale_with_the_gpus():
    assert devices.instances(6, "0,1") == 12
    assert devices.instances(6, "") == 6
    with pytest.raises(ValueError):
        devices.instances(0, "0")


def test_tasks_get_their_gpus_from_their_branch(experiment):
    experiment()
    sandbox = Sandbox(gpus="0,1")
    waveforms = TrainingWaveforms.req(sandbox, num_jobs=3)
    branches = waveforms.get_branch_tasks()
    assert {b: t.visible_gpus() for b, t in branches.items()} == {
        0: "0",
        1: "1",
        2: "0",
    }
    # a task that is not a branch trains on every GPU
    assert Train.req(sandbox).visible_gpus() == "0,1"
    # and a stage that uses no GPU gets none
    assert TrainingSegments.req(sandbox).visible_gpus() == ""
