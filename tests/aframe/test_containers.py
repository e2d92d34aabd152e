"""aframe-build-containers, and stages run in their images.

No Apptainer exists here: the tests put the stand-in ``tests/apptainer``
first on PATH (see its docstring).  It checks the arguments as the real
command would fail on them, writes an "image" on build, and on exec runs the
stage command with a container's environment, so the real stage CLIs run
through the container code path.
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import luigi
import pytest

from aframe import containers, paths
from aframe.base import stage_image
from aframe.pipelines.sandbox import Sandbox
from aframe.tasks.data import TrainingSegments, TrainingWaveforms
from tests.conftest import load_law_config

STAND_IN = Path(__file__).parents[1] / "apptainer"
GPU_STAGES = ("train", "export", "infer")


@pytest.fixture
def apptainer(tmp_path, monkeypatch):
    """The stand-in apptainer on PATH; returns its calls as a function."""
    log = tmp_path / "apptainer-calls.jsonl"
    monkeypatch.setenv("PATH", str(STAND_IN), prepend=os.pathsep)
    monkeypatch.setenv("FAKE_APPTAINER_LOG", str(log))
    monkeypatch.setenv("FAKE_APPTAINER_BIN", str(Path(sys.executable).parent))
    monkeypatch.setenv("FAKE_APPTAINER_STATE", str(tmp_path / "state"))

    def calls(subcommand: str) -> list[dict]:
        if not log.exists():
            return []
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        return [e for e in entries if e["argv"][0] == subcommand]

    return calls


@pytest.fixture
def repo(tmp_path):
    """A small repository: three stages whose images copy different files."""
    root = tmp_path / "repo"
    for stage in ("data", "train", "plots"):
        source = root / "src" / stage
        source.mkdir(parents=True)
        (source / "code.py").write_text(f"print('{stage}')\n")
        (source / "__pycache__").mkdir()
        (source / "__pycache__" / "code.pyc").write_bytes(b"\0")
        definition = containers.definition(root, stage)
        definition.parent.mkdir(parents=True)
        definition.write_text(
            "Bootstrap: docker\nFrom: python:3.11-slim-bookworm\n\n"
            f"%files\n    src/{stage} /opt/{stage}  # the code\n"
            "    requirements.lock /opt/requirements.lock\n\n"
            "%post\n    true\n"
        )
    (root / "requirements.lock").write_text("h5py==3.16.0\n")
    return root


def test_builds_in_parallel(apptainer, repo, tmp_path, monkeypatch):
    # each build waits until all three have started: run one at a time,
    # the first would give up and fail
    monkeypatch.setenv("FAKE_APPTAINER_BARRIER", "3")
    images = tmp_path / "images"
    results = containers.build(
        ["data", "train", "plots"], images, repo, jobs=3, report=lambda _: 0
    )
    assert [r.status for r in results] == ["built"] * 3, results
    for stage in ("data", "train", "plots"):
        image = json.loads((images / f"{stage}.sif").read_text())
        assert image["fake_apptainer_image"] == stage
    builds = apptainer("build")
    assert {tuple(c["argv"][-1:]) for c in builds} == {
        (f"projects/{s}/apptainer.def",) for s in ("data", "train", "plots")
    }
    assert {c["cwd"] for c in builds} == {str(repo)}
    assert not list(images.glob(".*partial"))


def test_up_to_date_images_are_skipped(apptainer, repo, tmp_path):
    images = tmp_path / "images"
    stages = ["data", "train", "plots"]
    quiet = {"report": lambda _: 0}
    containers.build(stages, images, repo, **quiet)
    assert len(apptainer("build")) == 3

    again = containers.build(stages, images, repo, **quiet)
    assert [r.status for r in again] == ["up to date"] * 3
    assert len(apptainer("build")) == 3

    # bytecode is not an input; the code an image copies in is
    (repo / "src/train/__pycache__/code.pyc").write_bytes(b"\1")
    (repo / "src/train/code.py").write_text("print('changed')\n")
    changed = containers.build(stages, images, repo, **quiet)
    assert [r.status for r in changed] == ["up to date", "built", "up to date"]

    # so is the lock, which all of them copy in
    (repo / "requirements.lock").write_text("h5py==3.16.1\n")
    relocked = containers.build(stages, images, repo, **quiet)
    assert [r.status for r in relocked] == ["built"] * 3

    forced = containers.build(["data"], images, repo, force=True, **quiet)
    assert forced[0].status == "built"
    assert len(apptainer("build")) == 8


def test_failed_image_is_reported(apptainer, tmp_path, monkeypatch):
    # the repository's own def files, built by the stand-in
    monkeypatch.setenv("FAKE_APPTAINER_FAIL", "train")
    images = tmp_path / "images"
    images.mkdir()
    (images / "train.sif").write_text("the previous image")
    status, _, err = run_main(["data", "train", "--image-dir", str(images)])
    assert status == 1
    assert f"train: {images / 'train.sif'} was not built" in err
    assert "apptainer build exited with status 255" in err
    assert str(images / "train.build.log") in err
    # the build log's last lines, not its first ones
    assert "%post of train exited with 1" in err
    assert "step 59 of the train build" in err
    assert "step 10 of the train build" not in err
    assert "1 of 2 images failed: train" in err
    assert "retry with: aframe-build-containers train" in err
    # the other image is built; the failed one's old image is left alone
    assert json.loads((images / "data.sif").read_text())
    assert (images / "train.sif").read_text() == "the previous image"
    assert not list(images.glob(".*partial"))


def test_missing_source_is_reported(apptainer, repo, tmp_path):
    (repo / "requirements.lock").unlink()
    result = containers.build_image("plots", tmp_path, repo)
    assert result.status == "failed"
    assert "copies requirements.lock, which is not in" in result.message
    assert apptainer("build") == []


def run_main(args: list[str]) -> tuple[int, str, str]:
    """aframe-build-containers ``args``: its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = containers.main(args)
    return status, out.getvalue(), err.getvalue()


def test_needs_an_image_directory(experiment, monkeypatch):
    experiment()
    status, _, err = run_main(["data"])
    assert status == 2
    assert "Set image_dir in the [pipeline] section of" in err
    with pytest.raises(ValueError, match="set image_dir"):
        stage_image("", "data")


def test_needs_apptainer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    status, _, err = run_main(["--image-dir", str(tmp_path)])
    assert status == 2
    assert "no apptainer command on PATH" in err


@pytest.mark.parametrize("stage", containers.STAGES)
def test_shipped_definitions(stage):
    """Each stage's def file: its base, the lock, its command."""
    definition = containers.definition(paths.REPO_DIR, stage)
    text = definition.read_text()
    assert text.startswith("Bootstrap: docker\n")
    base = text.splitlines()[1]
    if stage in GPU_STAGES:
        assert base.startswith("From: nvidia/cuda:12.8")
        assert "runtime" in base
    else:
        assert base == "From: python:3.11-slim-bookworm"
    post = "\n".join(containers.sections(text)["post"])
    assert "set -eu" in post
    assert "--require-hashes" in post
    assert "/opt/aframe/requirements.lock" in post
    assert "--python 3.11" in post or "python3.11" in post
    assert "--no-deps /opt/aframe" in post
    sources = containers.copied_sources(definition, paths.REPO_DIR)
    names = {p.relative_to(paths.REPO_DIR).as_posix() for p in sources}
    assert {"requirements.lock", "pyproject.toml", "aframe"} <= names
    assert f"aframe-{stage}" in "\n".join(
        containers.sections(text)["runscript"]
    )


@pytest.mark.slow
def test_stages_run_in_their_images(experiment, apptainer, monkeypatch):
    """Build the data image, then run a CPU task and a GPU workflow in it.

    The stand-in runs the real aframe-data inside its "container"; it
    fails on an unbound path, a CUDA image without --nv, or an AFRAME_*
    root the container cannot see.
    """
    directory = experiment()
    cfg = directory / "sandbox.cfg"
    with cfg.open("a") as f:
        f.write("\n[pipeline]\ncontainer = apptainer\nimage_dir = images\n")
    monkeypatch.setenv("AFRAME_CONDOR_DIR", "")  # an unset root is skipped
    load_law_config(cfg)
    status, out, _ = run_main(["data"])
    assert status == 0, out
    image = directory / "images" / "data.sif"
    assert f"built {image}" in out

    sandbox = Sandbox(gpus="0,1")
    segments = TrainingSegments.req(sandbox)
    waveforms = TrainingWaveforms.req(sandbox, num_signals=4, num_jobs=2)
    assert luigi.build(
        [segments, waveforms], local_scheduler=True, log_level="WARNING"
    )
    assert (directory / "data/train/segments.txt").exists()
    outputs = directory / "data/train/training_waveforms"
    assert sorted(p.name for p in outputs.glob("*.hdf5")) == [
        "waveforms-0.hdf5",
        "waveforms-1.hdf5",
    ]

    calls = [split_exec(c) for c in apptainer("exec")]
    (cpu,) = [
        c for c in calls if c["command"][:2] == ["aframe-data", "segments"]
    ]
    gpu = [c for c in calls if c["command"][1] == "training_waveforms"]
    assert len(gpu) == 2
    for call in [cpu, *gpu]:
        assert call["image"] == str(image)
        assert "--cleanenv" in call["options"]
        for name, variable in paths.ROOTS.items():
            if name == "condor":
                continue
            assert str(paths.root(name)) in call["binds"]
            forwarded = call["env"][f"APPTAINERENV_{variable}"]
            assert forwarded == os.environ[variable]
        assert str(directory) in call["binds"]  # the cfg and stage YAMLs
    assert "--nv" not in cpu["options"]
    assert all("--nv" in c["options"] for c in gpu)
    # the two branches spread over the two GPUs
    assigned = {c["env"]["APPTAINERENV_CUDA_VISIBLE_DEVICES"] for c in gpu}
    assert assigned == {"0", "1"}


def split_exec(call: dict) -> dict:
    """An ``apptainer exec`` call: its options, binds, image and command."""
    argv = call["argv"][1:]
    options, binds = [], []
    while argv[0].startswith("-"):
        option = argv.pop(0)
        if option == "--bind":
            binds.append(argv.pop(0).split(":")[0])
        else:
            options.append(option)
    return {
        "options": options,
        "binds": binds,
        "image": argv[0],
        "command": argv[1:],
        "env": call["env"],
    }
