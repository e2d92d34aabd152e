"""The cfg is checked before any work starts: every problem at once,
naming the file, the section and the key."""

import subprocess

import pytest

from aframe.check_config import argument_problems, main, problems
from aframe.init import MODE_FILES, init, presets


@pytest.mark.parametrize("preset", presets())
@pytest.mark.parametrize("mode", list(MODE_FILES))
def test_every_shipped_experiment_passes(tmp_path, mode, preset):
    init(tmp_path / "exp", mode, preset)
    assert problems(tmp_path / "exp" / f"{mode}.cfg") == []


@pytest.fixture
def experiment(tmp_path):
    init(tmp_path / "exp", "sandbox", "quickstart")
    return tmp_path / "exp" / "sandbox.cfg"


def add(cfg, text: str) -> None:
    with open(cfg, "a") as f:
        f.write(text)


def test_a_typo_names_the_section_and_the_nearest_key(experiment):
    add(experiment, "\n[pipeline]\nsample_rat = 2048\n")
    (found,) = problems(experiment)
    assert str(experiment) in found
    assert "[pipeline]: unknown key 'sample_rat'" in found
    assert "did you mean 'sample_rate'?" in found


def test_a_task_section_knows_its_task(experiment):
    add(experiment, "\n[luigi_Train]\ntrain_confg = x.yaml\n")
    add(experiment, "\n[luigi_Trian]\ntrain_config = x.yaml\n")
    found = problems(experiment)
    assert any(
        "[luigi_Train]: unknown key 'train_confg' (did you mean "
        "'train_config'?)" in p
        for p in found
    )
    assert any(
        "no aframe task is called Trian (did you mean 'Train'?)" in p
        for p in found
    )
    # luigi's own sections are luigi's
    add(experiment, "\n[luigi_worker]\nkeep_alive = true\n")
    assert len(problems(experiment)) == 2


@pytest.mark.parametrize(
    "line, message",
    [
        ("sample_rate = abc", "sample_rate = 'abc': could not convert"),
        ("Tb = -100", "Tb = '-100': must be positive, got -100"),
        ("kernel_length = 0", "kernel_length = '0': must be positive"),
        ("integration_window_length = -1", "must not be negative, got -1"),
        ("inference_batch_size = 0", "inference_batch_size = '0': must be"),
        ("data_source = s3", "data_source = 's3'"),
        ('ifos = ["H1", "X9"]', "['X9'] not among the detectors"),
        (
            "test_stop = 5",
            "train_start < train_stop < test_stop; got train_start",
        ),
    ],
)
def test_impossible_values_name_the_parameter(experiment, line, message):
    add(experiment, f"\n[pipeline]\n{line}\n")
    (found,) = problems(experiment)
    assert message in found


def test_a_repeated_section_is_one_line_with_its_number(experiment, capsys):
    text = experiment.read_text()
    add(experiment, "\n[pipeline]\nseed = 1\n\n[pipeline]\nseed = 2\n")
    line = len(text.splitlines()) + 5
    assert main([str(experiment)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"aframe: cfg error: {experiment}, line {line}: section [pipeline] "
        "appears twice in the file"
    )
    assert "nothing was run" in err[-1]


def test_run_sh_stops_before_law(experiment):
    add(experiment, "\n[pipeline]\nsample_rat = 2048\n")
    run = subprocess.run(
        ["bash", str(experiment.parent / "run.sh")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert "unknown key 'sample_rat'" in run.stderr
    # law never started: no task ran, nothing was written
    assert not (experiment.parent / "data").exists()


@pytest.mark.parametrize("args", [["--workers", "0"], ["--workers=-2"]])
def test_run_sh_refuses_no_workers(experiment, args):
    """luigi would schedule the tasks, run none and exit 25, saying the
    scheduler did not grant them run permission."""
    run = subprocess.run(
        ["bash", str(experiment.parent / "run.sh"), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert "aframe: argument error: --workers" in run.stderr
    assert "must be a whole number, 1 or more" in run.stderr
    assert not (experiment.parent / "data").exists()


def test_good_arguments_pass():
    assert argument_problems(["--workers", "4", "--gpus", "0,1"]) == []
    assert argument_problems(["--workers=1"]) == []
    assert argument_problems(["--workers"]) != []
