"""How strain becomes a stream's updates, and the updates' responses the
stream's outputs (aframe_serving.stream), through the local engine."""

import dataclasses

import numpy as np
import onnxruntime
import pytest
import torch

from aframe_contracts.repository import Manifest
from aframe_serving.engine import LocalEngine
from aframe_serving.errors import StreamError
from aframe_serving.repository import ModelRepository
from aframe_serving.stream import Geometry, inject, shifted
from tests.export.conftest import RATE


def test_shift_and_inject():
    data = {"H1": np.arange(10.0), "L1": np.arange(10.0) + 100}
    stream = shifted(data, ["H1", "L1"], [0, 2], 1)
    assert stream.tolist() == [list(range(8)), list(range(102, 110))]
    with pytest.raises(StreamError, match="longer than the strain"):
        shifted(data, ["H1", "L1"], [0, 20], 1)
    response = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = inject(
        np.zeros((2, 8)),
        0.0,
        1.0,
        np.array([3.0, 7.0]),
        np.stack([response] * 2),
        1,
    )
    assert out[0].tolist() == [0, 0, 1, 2, 3, 0, 1, 2]


def test_the_geometry_holds_where_the_network_fires(repository):
    """A model that records no response span fires over its whole
    kernel; one that records it (a template bank) fires there."""
    m = Manifest.read(repository)
    assert Geometry.from_manifest(m).response == (0.0, m.kernel_length)
    settings = dataclasses.replace(m.settings, response=[0.05, 0.3])
    bank = dataclasses.replace(m, settings=settings)
    assert Geometry.from_manifest(bank).response == (0.05, 0.3)


def test_stream_outputs_cover_the_strain(repository):
    m = Manifest.read(repository)
    geometry = Geometry.from_manifest(m)
    size = 100 * RATE + 37
    strain = np.random.default_rng(0).standard_normal((2, size)) * 1e-21
    engine = LocalEngine(ModelRepository.open(repository))
    (responses,) = engine.infer([geometry.updates(strain)])
    outputs = geometry.outputs(responses, size)
    times = geometry.output_times(outputs.size, 0.0)
    # the first output's kernel ends after the PSD window and one window
    assert times[0] == pytest.approx(16 + 1 + 0.5)
    # the last kernel (with half a filter) ends inside the strain
    assert times[-1] + 0.5 <= size / RATE
    assert times[-1] + 0.5 + 0.25 > size / RATE
    assert np.all(np.diff(times) == 0.25)
    assert m.buffer_size == (16 + 15 * 0.25 + 2) * RATE

    # the same numbers as whitening each buffer of real data directly:
    # no output has seen the snapshotter's zero state or the end padding
    version = str(m.version)
    preprocessor = torch.jit.load(
        str(repository / "preprocessor" / version / "model.pt")
    )
    detector = onnxruntime.InferenceSession(
        str(repository / "aframe" / version / "model.onnx")
    )
    direct = []
    buffer, update = m.buffer_size, m.update_size
    for start in range(0, size - buffer + 1, update):
        kernels = preprocessor(
            torch.as_tensor(strain[:, start : start + buffer]).float()
        )
        (scores,) = detector.run(None, {"whitened": kernels.numpy()})
        direct.append(scores)
    direct = np.concatenate(direct)
    np.testing.assert_allclose(outputs[: len(direct)], direct, rtol=1e-5)
