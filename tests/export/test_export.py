"""The model repository: detector, whitener, versions, errors."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from aframe_contracts.errors import ContractError
from aframe_contracts.model import WhiteningSpec
from aframe_export.export import ExportError, export, tensorrt_missing
from aframe_export.snapshotter import Snapshotter
from aframe_signal.whitening import STRAIN_SCALE, Whitener
from aframe_train.model import resnet

from .conftest import RATE, SETTINGS, save_model

STREAM = dict(psd_length=8.0, inference_sampling_rate=4.0, batch_size=8)


def run_export(weights, repository, **changes):
    settings = {k: SETTINGS[k] for k in ("ifos", "sample_rate")}
    settings.update(kernel_length=1.0, fduration=1.0, platform="onnx")
    settings.update(**STREAM, **changes)
    export(weights, repository, **settings)
    return json.loads((repository / "manifest.json").read_text())


def test_onnx_detector_matches_torch(weights, tmp_path):
    manifest = run_export(weights, tmp_path / "repo", serving="native")
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
    # the training whitener, given the same PSD window, on each window:
    # the same to float32 rounding of the raw strain (the preprocessor
    # filters the batch's span at once)
    whitener = Whitener(WhiteningSpec(RATE, 1.0, 1.0, 8.0, None, 20.0, None))
    x = torch.as_tensor(strain * STRAIN_SCALE)[None]
    psd = whitener.psd(x)
    window, stride = 2 * RATE, RATE // 4
    windows = x[0, :, -(7 * stride + window) :].unfold(-1, window, stride)
    each = whitener(windows.transpose(0, 1).float(), psd[0])
    np.testing.assert_allclose(kernels.numpy(), each.numpy(), atol=2e-3)
    assert abs(kernels.std().item() - 1) < 0.1
    # every kernel a slice of one whitened series, as the bank engine
    # filters it
    for i in range(1, 8):
        np.testing.assert_array_equal(
            kernels[i, :, : RATE - stride].numpy(),
            kernels[i - 1, :, stride:].numpy(),
        )


def test_reexport_is_a_noop_and_new_weights_a_new_version(weights, tmp_path):
    repository = tmp_path / "repo"
    run_export(weights, repository)
    stamp = (repository / "manifest.json").stat().st_mtime_ns
    run_export(weights, repository)
    assert (repository / "manifest.json").stat().st_mtime_ns == stamp
    torch.manual_seed(5)
    save_model(weights.parent, resnet(2, [1, 1], 8))
    manifest = run_export(weights, repository)
    assert manifest["version"] == 2
    assert (repository / "aframe" / "1" / "model.onnx").exists()
    # the ensemble pins the new export's models
    ensemble = (repository / "aframe-stream" / "config.pbtxt").read_text()
    assert ensemble.count("model_version: 2") == 3


def test_mismatched_model_is_refused(tmp_path):
    weights = save_model(tmp_path / "x", resnet(2, [1, 1], 8), sample_rate=512)
    with pytest.raises(
        ExportError, match="sample_rate = 512.*pipeline has 256"
    ):
        run_export(weights, tmp_path / "repo")
    with pytest.raises(ExportError, match="no trained weights"):
        run_export(tmp_path / "missing.pt", tmp_path / "repo")


@pytest.mark.skipif(
    not tensorrt_missing(), reason="tensorrt builds engines here"
)
def test_tensorrt_where_it_cannot_build_is_named(weights, tmp_path):
    repository = tmp_path / "repo"
    with pytest.raises(ExportError, match="platform: tensorrt needs the"):
        run_export(weights, repository, platform="tensorrt")
    assert not repository.exists() or versions(repository) == []


def versions(repository) -> list[str]:
    return sorted(
        p.relative_to(repository).as_posix()
        for p in repository.glob("*/[0-9]*")
    )


def test_unloadable_weights_are_named_and_nothing_is_written(
    weights, tmp_path
):
    repository = tmp_path / "repo"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ExportError, match=f"{weights} does not load"):
        run_export(weights, repository)
    assert not repository.exists() or versions(repository) == []


def test_weights_that_do_not_fit_model_json_are_refused(tmp_path):
    """A model.json of three ifos for two-ifo weights: the dry run finds
    it, before any file of the repository is written."""
    three = ["H1", "L1", "V1"]
    weights = save_model(tmp_path / "x", resnet(2, [1, 1], 8), ifos=three)
    repository = tmp_path / "repo"
    with pytest.raises(ExportError, match=r"does not take windows of \[8, 3"):
        run_export(weights, repository, ifos=three)
    assert not repository.exists() or versions(repository) == []


def test_an_edited_model_json_is_refused(weights, tmp_path):
    """kernel_length edited to 2 s for 1 s weights: the network pools
    over its window, so a dry run would pass; the settings' digest does
    not."""
    settings = weights.with_name("model.json")
    recorded = json.loads(settings.read_text())
    settings.write_text(json.dumps({**recorded, "kernel_length": 2.0}))
    repository = tmp_path / "repo"
    with pytest.raises(ContractError, match="edited after training"):
        run_export(weights, repository, kernel_length=2.0)
    assert not repository.exists() or versions(repository) == []


def test_a_failed_export_leaves_no_version(weights, tmp_path, monkeypatch):
    import aframe_export.export as module

    def fails(*args, **kwargs):
        raise RuntimeError("the disk is full")

    repository = tmp_path / "repo"
    with monkeypatch.context() as patch:
        patch.setattr(module, "write_detector", fails)
        with pytest.raises(RuntimeError, match="disk is full"):
            run_export(weights, repository)
    assert versions(repository) == []
    # the next export takes the number the failed one had
    assert run_export(weights, repository)["version"] == 1


def test_an_unknown_platform_is_named(weights, tmp_path, capsys):
    from aframe_export.cli import main

    args = ["export", f"--weights={weights}", f"--repository={tmp_path}/r"]
    args += ["--ifos=[H1,L1]", f"--sample_rate={RATE}", "--kernel_length=1"]
    args += ["--fduration=1", "--psd_length=8", "--batch_size=8"]
    args += ["--inference_sampling_rate=4", "--platform=onxx"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "platform" in err and "onxx" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "option, message",
    [
        ("--batch_size=0", "batch_size = 0: it must be positive"),
        ("--inference_sampling_rate=-4", "inference_sampling_rate = -4.0"),
        ("--repository={tmp}/file/r", "file is a file"),
    ],
)
def test_settings_no_repository_can_have_are_named(
    weights, tmp_path, capsys, option, message
):
    from aframe_export.cli import main

    (tmp_path / "file").write_text("in the way")
    args = ["export", f"--weights={weights}", f"--repository={tmp_path}/r"]
    args += ["--ifos=[H1,L1]", f"--sample_rate={RATE}", "--kernel_length=1"]
    args += ["--fduration=1", "--psd_length=8", "--batch_size=8"]
    args += ["--inference_sampling_rate=4"]
    args.append(option.format(tmp=tmp_path))
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_snapshotter_reproduces_the_unfolded_stream(weights, tmp_path):
    manifest = run_export(weights, tmp_path / "repo")
    session = onnxruntime.InferenceSession(
        str(tmp_path / "repo" / "snapshotter" / "1" / "model.onnx")
    )
    update, buffer = manifest["update_size"], manifest["buffer_size"]
    rng = np.random.default_rng(2)
    stream = rng.standard_normal((2, 12 * update)).astype(np.float32)
    state = np.zeros((2, buffer - update), np.float32)
    snapshots = []
    for chunk in np.split(stream, 12, axis=-1):
        snapshot, state = session.run(None, {"update": chunk, "state": state})
        snapshots.append(snapshot)
    # a direct unfold of the zero-prefixed stream, one buffer per update
    padded = np.pad(stream, ((0, 0), (buffer - update, 0)))
    unfolded = torch.as_tensor(padded).unfold(-1, buffer, update)
    np.testing.assert_array_equal(np.stack(snapshots, 1), unfolded.numpy())
    with pytest.raises(ValueError, match="cannot hold an update"):
        Snapshotter(update_size=10, buffer_size=5)


def test_python_flavour_runs_every_model_through_the_runner(weights, tmp_path):
    run_export(weights, tmp_path / "repo", serving="python")
    repository = tmp_path / "repo"
    for model in ("snapshotter", "preprocessor", "aframe"):
        config = (repository / model / "config.pbtxt").read_text()
        assert 'backend: "python"' in config
        assert (repository / model / "1" / "model.py").exists()
    snapshotter = (repository / "snapshotter" / "config.pbtxt").read_text()
    assert "CONTROL_SEQUENCE_START" in snapshotter


def test_native_flavour_uses_implicit_state(weights, tmp_path):
    manifest = run_export(weights, tmp_path / "repo", serving="native")
    repository = tmp_path / "repo"
    snapshotter = (repository / "snapshotter" / "config.pbtxt").read_text()
    state = manifest["buffer_size"] - manifest["update_size"]
    assert 'platform: "onnxruntime_onnx"' in snapshotter
    assert f"dims: [ 2, {state} ] zero_data: true" in snapshotter
    preprocessor = (repository / "preprocessor" / "config.pbtxt").read_text()
    assert 'platform: "pytorch_libtorch"' in preprocessor
    assert not (repository / "aframe" / "1" / "model.py").exists()


@pytest.mark.gpu
def test_tensorrt_engine_matches_torch(weights, tmp_path):
    pytest.importorskip(
        "tensorrt", reason="tensorrt is not installed (not on PyPI here)"
    )
    if not torch.cuda.is_available():
        pytest.skip("TensorRT needs a CUDA device")
    manifest = run_export(weights, tmp_path / "repo", platform="tensorrt")
    assert manifest["platform"] == "tensorrt"
    assert manifest["serving"] == "native"
    plan = tmp_path / "repo" / "aframe" / "1" / "model.plan"
    assert plan.stat().st_size > 0
    import tensorrt as trt

    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(plan.read_bytes())
    context = engine.create_execution_context()
    x = torch.randn(8, 2, RATE, device="cuda")
    out = torch.zeros(8, 1, device="cuda")
    context.set_tensor_address("whitened", x.data_ptr())
    context.set_tensor_address("detection_statistic", out.data_ptr())
    context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
    torch.cuda.synchronize()
    expected = torch.jit.load(str(weights)).cuda()(x)
    assert (out - expected).abs().max().item() < 1e-3
