"""aframe-init online writes an experiment whose run.sh searches the
frames its online.yaml names."""

import subprocess

import yaml

from aframe.init import init, init_online, main
from aframe_online.replay import replay
from aframe_online.store import CandidateStore
from tests.infer.conftest import T0


def test_online_yaml_takes_the_offline_experiments_model(tmp_path, capsys):
    offline = tmp_path / "offline"
    # not an experiment: refused, naming it
    assert (
        main(["online", "-d", str(tmp_path / "x"), "--offline", str(offline)])
        == 2
    )
    assert f"--offline {offline} is not an offline experiment" in (
        capsys.readouterr().err
    )
    init(offline, "sandbox", "quickstart")
    assert (
        main(["online", "-d", str(tmp_path / "on"), "--offline", str(offline)])
        == 0
    )
    config = yaml.safe_load((tmp_path / "on" / "online.yaml").read_text())
    assert config["repository"] == str(offline / "results" / "model_repo")
    assert config["background_file"] == str(
        offline / "results" / "background.hdf5"
    )
    assert config["p_astro_file"] == str(offline / "results" / "p_astro.hdf5")
    assert config["gracedb_url"] == ""  # nothing is uploaded by default
    # its results are not there yet, and it says so
    assert "has no results yet" in capsys.readouterr().err
    # a second init refuses the directory without --force
    assert main(["online", "-d", str(tmp_path / "on")]) == 2


def test_run_sh_searches_the_frames(
    calibrated, offline_background, p_astro_model, background, tmp_path
):
    directory = tmp_path / "online"
    init_online(directory)
    config = yaml.safe_load((directory / "online.yaml").read_text())
    config.update(
        repository=str(calibrated),
        background_file=str(offline_background),
        p_astro_file=str(p_astro_model),
    )
    (directory / "online.yaml").write_text(yaml.safe_dump(config))
    # frames already there, as after an outage: written as fast as can be
    replay([str(background)], str(directory / "frames" / "{ifo}"), speed=0)
    run = subprocess.run(
        [
            "bash",
            str(directory / "run.sh"),
            "--start",
            str(int(T0)),
            "--stop",
            str(T0 + 120),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "candidates stored" in run.stdout
    store = CandidateStore(directory / "events", 4.0)
    candidates = store.candidates()
    store.close()
    times = [c["gps_time"] for c in candidates]
    # events from one request's worth of data (22 s) on, until the stop
    assert candidates and T0 + 15 < min(times) and max(times) < T0 + 120
    assert all(0 <= c["p_astro"] <= 1 for c in candidates)


def test_every_key_of_online_yaml_is_a_search_parameter():
    """online.yaml is the search's only config: it holds the backend and
    windows an offline experiment sets in its cfg, and nothing else."""
    import inspect

    from aframe import paths
    from aframe_online.search import search

    config = yaml.safe_load(
        (paths.CONFIG_DIR / "online" / "online.yaml").read_text()
    )
    parameters = inspect.signature(search).parameters
    assert set(config) <= set(parameters)
    required = {
        name
        for name, p in parameters.items()
        if p.default is inspect.Parameter.empty
    }
    assert required <= set(config)
