"""The model repository: detector, whitener, versions, errors."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from aframe_export.export import ExportError, export
from aframe_train.augment import STRAIN_SCALE, Whitener
from aframe_train.model import resnet

from .conftest import RATE, SETTINGS, save_model

STREAM = dict(psd_length=8.0, inference_sampling_rate=4.0, batch_size=8)


def run_export(weights, repository, **changes):
    settings = {k: SETTINGS[k] for k in ("ifos", "sample_rate")}
    settings.update(kernel_length=1.0, fduration=1.0, **STREAM)
    settings.update(changes)
    export(weights, repository, platform="onnx", **settings)
    return json.loads((repository / "manifest.json").read_text())


def test_onnx_detector_matches_torch(weights, tmp_path):
    manifest = run_export(weights, tmp_path / "repo")
    model = tmp_path / "repo" / "aframe" / "1" / "model.onnx"
    session = onnxruntime.InferenceSession(str(model))
    x = torch.randn(8, 2, RATE)
    (ours,) = session.run(None, {"whitened": x.numpy()})
    expected = torch.jit.load(str(weights))(x).detach().numpy()
    assert np.abs(ours - expected).max() < 1e-4
    assert manifest["platform"] == "onnx"
    config = (tmp_path / "repo" / "aframe" / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config
    assert "dims: [ 8, 2, 256 ]" in config


def test_repository_whitener_matches_training(weights, tmp_path):
    manifest = run_export(weights, tmp_path / "repo")
    preprocessor = torch.jit.load(
        str(tmp_path / "repo" / "preprocessor" / "1" / "model.pt")
    )
    rng = np.random.default_rng(1)
    strain = rng.standard_normal((2, manifest["buffer_size"])) * 1e-21
    kernels = preprocessor(torch.as_tensor(strain).float())
    assert kernels.shape == (8, 2, RATE)
    # the training whitener, given the same PSD window and the last kernel
    whitener = Whitener(RATE, 1.0, 1.0, 8.0, None, 20.0, None)
    x = torch.as_tensor(strain * STRAIN_SCALE)[None]
    psd = whitener.psd(x)
    window = 2 * RATE
    last = whitener(x[..., -window:].float(), psd)
    np.testing.assert_allclose(
        kernels[-1].numpy(), last[0].numpy(), rtol=1e-4, atol=1e-4
    )
    assert abs(kernels.std().item() - 1) < 0.1


def test_reexport_is_a_noop_and_new_weights_a_new_version(weights, tmp_path):
    repository = tmp_path / "repo"
    run_export(weights, repository)
    stamp = (repository / "manifest.json").stat().st_mtime_ns
    run_export(weights, repository)
    assert (repository / "manifest.json").stat().st_mtime_ns == stamp
    torch.manual_seed(5)
    save_model(weights.parent, resnet(2, [1, 1], 8))
    manifest = run_export(weights, repository)
    assert manifest["versions"] == {"aframe": 2, "preprocessor": 2}
    assert (repository / "aframe" / "1" / "model.onnx").exists()


def test_mismatched_model_is_refused(tmp_path):
    weights = save_model(tmp_path / "x", resnet(2, [1, 1], 8), sample_rate=512)
    with pytest.raises(
        ExportError, match="sample_rate = 512.*pipeline has 256"
    ):
        run_export(weights, tmp_path / "repo")
    with pytest.raises(ExportError, match="no trained weights"):
        run_export(tmp_path / "missing.pt", tmp_path / "repo")
