"""The bridge from a task to its stage CLI."""

import json
import os
import sys
from pathlib import Path

import pytest

from aframe import stage

# the stand-in apptainer command (see its docstring)
STAND_IN = Path(__file__).parents[1] / "apptainer"

SCRIPT = """#!{python}
import os, sys
print("args", *sys.argv[1:])
print("cuda", os.environ.get("CUDA_VISIBLE_DEVICES", "unset"))
for i in range(60):
    print("line", i)
sys.exit(int(os.environ.get("FAKE_STAGE_STATUS", "0")))
"""


@pytest.fixture
def fake_stage(tmp_path, monkeypatch):
    """A stand-in stage executable that echoes its arguments."""
    path = tmp_path / "aframe-fake"
    path.write_text(SCRIPT.format(python=sys.executable))
    path.chmod(0o755)
    monkeypatch.setattr(stage, "executable", lambda name: str(path))
    return path


def test_runs_the_stage_with_the_parameters_last(fake_stage, tmp_path):
    user = tmp_path / "user.yaml"
    workdir = tmp_path / "work"
    parameters = {"sample_rate": 1024.0, "ifos": ["H1", "L1"], "x": None}
    stage.run("fake", "fit", parameters, workdir, configs=(user,), gpus="1")

    overrides = workdir / "fit.yaml"
    assert json.loads(overrides.read_text()) == parameters
    log = (workdir / "fit.log").read_text().splitlines()
    assert log[0] == f"args fit --config {user} --config {overrides}"
    assert log[1] == "cuda 1"
    assert log[-1] == "line 59"


def test_failure_reports_the_last_lines(fake_stage, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_STAGE_STATUS", "3")
    with pytest.raises(stage.StageError) as error:
        stage.run("fake", "fit", {}, tmp_path)
    message = str(error.value)
    assert "aframe-fake fit exited with status 3" in message
    assert str(tmp_path / "fit.log") in message
    assert message.endswith("line 59")
    assert "line 19" not in message  # only the last TAIL_LINES lines


def test_gpus_left_alone_when_not_given(fake_stage, tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    stage.run("fake", "fit", {}, tmp_path)
    assert "cuda unset" in (tmp_path / "fit.log").read_text()


def test_local_command_uses_this_environment():
    args = stage.command("data", "segments", (Path("a.yaml"),))
    assert args == [
        str(Path(sys.executable).parent / "aframe-data"),
        "segments",
        "--config",
        "a.yaml",
    ]


def test_container_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(STAND_IN), prepend=os.pathsep)
    image = tmp_path / "train.sif"
    image.touch()
    binds = [Path("/data/train"), Path("/data/train"), Path("/runs")]
    args = stage.command(
        "train", "fit", (Path("/runs/t.yaml"),), image, nv=True, binds=binds
    )
    assert args == [
        "apptainer",
        "exec",
        "--cleanenv",
        "--nv",
        "--bind",
        "/data/train:/data/train",
        "--bind",
        "/runs:/runs",
        str(image),
        "aframe-train",
        "fit",
        "--config",
        "/runs/t.yaml",
    ]
    cpu = stage.command("plots", "report", (), image)
    assert "--nv" not in cpu


def test_container_sees_the_config_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(STAND_IN), prepend=os.pathsep)
    image = tmp_path / "data.sif"
    image.touch()
    config = tmp_path / "elsewhere" / "user.yaml"
    args = stage.command("data", "segments", (config,), image)
    assert f"{config.parent}:{config.parent}" in args


def test_missing_apptainer_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    image = tmp_path / "data.sif"
    image.touch()
    with pytest.raises(FileNotFoundError, match="no apptainer command"):
        stage.command("data", "segments", (), image)


def test_missing_image_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.sif.*container = local"):
        stage.command("data", "segments", (), tmp_path / "data.sif")


def test_environment_forwards_into_containers(monkeypatch):
    monkeypatch.setenv("AFRAME_RESULTS_DIR", "/results")
    env = stage.environment("2")
    assert env["CUDA_VISIBLE_DEVICES"] == "2"
    assert env["APPTAINERENV_CUDA_VISIBLE_DEVICES"] == "2"
    assert env["APPTAINERENV_AFRAME_RESULTS_DIR"] == "/results"
