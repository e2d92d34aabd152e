"""The online search's triton backend, against the real Triton server of
the nvidia-pytriton wheel (.venv-triton): the candidates the local
backend finds."""

import numpy as np
import pytest

from aframe_online.replay import replay
from aframe_online.search import search
from aframe_online.store import CandidateStore
from aframe_serving.backends import Serving
from aframe_serving.server import TritonServer
from tests.infer.conftest import T0

pytestmark = pytest.mark.triton


def candidates(directory):
    store = CandidateStore(directory, 4.0)
    found = store.candidates()
    store.close()
    return found


def test_triton_finds_what_local_finds(
    calibrated, offline_background, background, tmp_path
):
    frames = str(tmp_path / "frames" / "{ifo}")
    replay([str(background)], frames, speed=0)
    # a gap: a second stream, a second sequence on the server
    for ifo in ("H1", "L1"):
        (
            tmp_path
            / "frames"
            / ifo
            / f"{ifo[0]}-{ifo}_llhoft-{int(T0) + 100}-1.gwf"
        ).unlink()
    options = {"start": int(T0), "stop": T0 + 200, "frame_timeout": 0.1}
    search(
        calibrated, offline_background, frames, tmp_path / "local", **options
    )
    with TritonServer(calibrated, None, tmp_path / "triton.log") as server:
        search(
            calibrated,
            offline_background,
            frames,
            tmp_path / "triton",
            serving=Serving("triton", server.url),
            **options,
        )
    local, served = (
        candidates(tmp_path / "local"),
        candidates(tmp_path / "triton"),
    )
    assert len(local) > 10 and len(served) == len(local)
    for key in ("gps_time", "detection_statistic"):
        np.testing.assert_allclose(
            [c[key] for c in served], [c[key] for c in local], atol=1e-4
        )
    # both streams made candidates: before the gap and after it
    times = np.array([c["gps_time"] for c in served])
    assert (times < T0 + 100).any() and (times > T0 + 120).any()
