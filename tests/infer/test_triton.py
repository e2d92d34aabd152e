"""The triton backend against a real Triton server.

The server is the one in the nvidia-pytriton wheel (.venv-triton, built
by `make triton-env`), serving the python flavour of the repository.
"""

import json
import os
import shlex
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc

from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.repository import Manifest
from aframe_infer.cli import main
from aframe_infer.search import analyse
from aframe_serving.backends import Serving
from aframe_serving.engine import TritonEngine, with_retries
from aframe_serving.errors import RepositoryError, ServerError
from aframe_serving.repository import ModelRepository
from aframe_serving.server import TritonServer, free_ports

from .conftest import T0, loud_injections

pytestmark = pytest.mark.triton


def tables(directory):
    background = BackgroundEvents.read(directory / "background.hdf5")
    foreground = ForegroundEvents.read(directory / "foreground.hdf5")
    events = {
        "detection_statistic": background.statistic,
        "detection_time": background.time,
    }
    return events, foreground.parameters


def test_backends_give_the_same_events(repository, background, tmp_path):
    injections = loud_injections(
        tmp_path / "inj.hdf5", T0 + np.array([60.0, 150.0])
    )
    results = {}
    for backend in ("local", "triton"):
        out = tmp_path / backend
        analyse(
            repository,
            background,
            [0, 1],
            out,
            injections,
            0.5,
            4.0,
            serving=Serving(backend),
            time_window=1.0,
        )
        results[backend] = tables(out)
    (local_bg, local_fg), (triton_bg, triton_fg) = results.values()
    assert local_bg["detection_statistic"].size > 10
    for key in ("detection_statistic", "detection_time"):
        np.testing.assert_allclose(triton_bg[key], local_bg[key], atol=1e-4)
        np.testing.assert_allclose(triton_fg[key], local_fg[key], atol=1e-4)
    assert np.isfinite(triton_fg["detection_statistic"]).all()
    # the server this branch started has stopped, and logged beside it
    assert "successfully loaded 'aframe-stream'" in (
        (tmp_path / "triton" / "triton.log").read_text()
    )


def test_branches_share_a_running_server(repository, background, tmp_path):
    injections = loud_injections(tmp_path / "inj.hdf5", [T0 + 100.0])
    with TritonServer(repository, log=tmp_path / "server.log") as server:
        for branch in (0, 1):
            analyse(
                repository,
                background,
                [0, 1 + branch],
                tmp_path / str(branch),
                injections,
                0.5,
                4.0,
                serving=Serving("triton", server.url),
                sequence_id=2 * branch + 1,
                time_window=1.0,
            )
        # a repository of another geometry is refused by the server's
        # answer, before anything is streamed
        manifest = Manifest.read(repository)
        other = replace(manifest, update_size=manifest.update_size * 2)
        with pytest.raises(RepositoryError, match="serves another export"):
            TritonEngine(server.url, other).infer([np.zeros((1, 2, 8))])
    for branch in (0, 1):
        background_events, found = tables(tmp_path / str(branch))
        assert background_events["detection_statistic"].size > 10
        assert np.isfinite(found["detection_statistic"]).all()


def test_a_server_that_is_down_fails_clearly(
    repository, background, tmp_path, capsys
):
    (port,) = free_ports(1)
    args = [
        "analyse",
        f"--repository={repository}",
        f"--background-file={background}",
        "--shifts=[0,1]",
        f"--output-dir={tmp_path / 'out'}",
        "--integration-window-length=0.5",
        "--cluster-window-length=4",
        f"--injections-file={loud_injections(tmp_path / 'i.hdf5', [])}",
        "--serving.backend=triton",
        f"--serving.triton-url=127.0.0.1:{port}",
        "--time-window=1",
    ]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in error
    assert "gave up after 3 attempts" in error
    assert not (tmp_path / "out" / "background.hdf5").exists()


def test_a_server_that_dies_mid_run_is_restarted(repository, tmp_path):
    model = ModelRepository.open(repository)
    manifest, geometry = model.manifest, model.geometry
    rng = np.random.default_rng(4)
    strain = rng.standard_normal((2, 256 * 400)).astype(np.float32) * 1e-21
    updates = [geometry.updates(strain)]
    server = TritonServer(repository, log=tmp_path / "server.log").start()
    engine = TritonEngine(server.url, manifest, in_flight=2, timeout=30)
    killed = threading.Event()
    first_group = server.process.pid
    url = server.url

    def kill_after_some_answers():
        """SIGKILL the server once it has answered a few requests: mid-run
        whatever the machine's speed."""
        client = tritonclient.grpc.InferenceServerClient(url)
        for _ in range(6000):
            stats = client.get_inference_statistics(
                "aframe-stream", as_json=True
            )
            success = stats["model_stats"][0]["inference_stats"]["success"]
            if int(success.get("count", 0)) >= 5:
                server.process.kill()
                killed.set()
                return
            time.sleep(0.005)

    restarts = []

    def restart():
        restarts.append(server.url)
        server.restart()
        engine.url = server.url

    killer = threading.Thread(target=kill_after_some_answers)
    killer.start()
    try:
        (responses,) = with_retries(
            lambda: engine.infer(updates), 3, 0.1, restart
        )
    finally:
        killer.join()
        server.stop()
    # killed mid-run: the engine failed, and the server was restarted once
    assert killed.is_set() and len(restarts) == 1
    # the killed server's python-backend stubs were cleaned up with it
    # (SIGKILL is delivered asynchronously: give them a moment to go)
    for _ in range(50):
        stubs = subprocess.run(
            ["pgrep", "-g", str(first_group)], capture_output=True, text=True
        )
        if not stubs.stdout.strip():
            break
        time.sleep(0.1)
    assert stubs.stdout.strip() == ""
    with TritonServer(repository, log=tmp_path / "again.log") as fresh:
        (expected,) = TritonEngine(fresh.url, manifest).infer(updates)
    np.testing.assert_array_equal(responses, expected)


def test_the_pytriton_environment_must_exist(repository, tmp_path):
    with pytest.raises(ServerError, match="make triton-env"):
        TritonServer(repository, server=tmp_path).start()


def test_a_server_from_an_apptainer_image(
    repository, background, tmp_path, monkeypatch
):
    """The image path runs `apptainer exec --nv ... IMAGE tritonserver`.

    The stand-in apptainer (tests/apptainer) checks the call and runs the
    image's tritonserver; this "image" holds the pytriton server.
    """
    pytriton = TritonServer(repository)
    command, env = pytriton.pytriton_command()
    image_bin = tmp_path / "image-bin"
    image_bin.mkdir()
    shim = image_bin / "tritonserver"
    shim.write_text(
        "#!/bin/sh\n"
        f"export LD_LIBRARY_PATH={shlex.quote(env['LD_LIBRARY_PATH'])}\n"
        f"export PATH={shlex.quote(env['PATH'])}\n"
        f'exec {shlex.join(command)} "$@"\n'
    )
    shim.chmod(0o755)
    image = tmp_path / "tritonserver.sif"
    image.write_text(json.dumps({"bin": str(image_bin), "cuda": True}))
    standin = Path(__file__).parents[1] / "apptainer"
    monkeypatch.setenv("PATH", f"{standin}:{os.environ['PATH']}")
    calls = tmp_path / "apptainer.jsonl"
    monkeypatch.setenv("FAKE_APPTAINER_LOG", str(calls))
    try:
        analyse(
            repository,
            background,
            [0, 1],
            tmp_path / "out",
            loud_injections(tmp_path / "inj.hdf5", [T0 + 100.0]),
            0.5,
            4.0,
            serving=Serving("triton", triton_server=str(image)),
            time_window=1.0,
        )
    finally:
        pytriton.stop()
    (call,) = [json.loads(line) for line in calls.read_text().splitlines()]
    argv = call["argv"]
    assert argv[:2] == ["exec", "--nv"]
    assert f"{repository.resolve()}:{repository.resolve()}:ro" in argv
    assert argv[argv.index(str(image)) + 1] == "tritonserver"
    _, found = tables(tmp_path / "out")
    assert np.isfinite(found["detection_statistic"]).all()


def test_a_banks_merger_offsets_come_through_triton(tmp_path):
    """A template bank's repository served by Triton: each window's
    logit and merger offset, as the embedded engine's streaming path and
    its bank backend give them."""
    from aframe_serving.bank import BankEngine, local_engine
    from aframe_serving.engine import LocalEngine
    from tests.export.conftest import RATE
    from tests.serving.test_bank import bank_repository
    from tests.serving.test_timeslides import chunk

    repository = bank_repository(tmp_path, chisq_bins=4)
    assert repository.manifest.merger_offsets
    noise = chunk(repository.geometry, 90)
    updates = [repository.geometry.updates(np.stack(list(noise.values())))]
    streamed = LocalEngine(repository).infer(updates)[0]
    filtered = local_engine(repository).infer(updates)[0]
    assert isinstance(local_engine(repository), BankEngine)
    with TritonServer(repository.path, log=tmp_path / "triton.log") as server:
        served = TritonEngine(server.url, repository.manifest).infer(updates)
    assert served[0].shape == streamed.shape and streamed.shape[-1] == 2
    np.testing.assert_allclose(served[0], streamed, rtol=0, atol=1e-5)
    np.testing.assert_allclose(filtered, streamed, rtol=0, atol=1e-5)
    # the offsets lie in the windows' lags, on the sample grid
    offsets = streamed[..., 1] * RATE
    assert np.all(offsets <= 0) and np.allclose(offsets, offsets.round())
