import json
from dataclasses import replace

import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.repository import Manifest, TimeCalibration

from .test_model import SETTINGS

MANIFEST = Manifest(
    weights="/run/model.pt",
    weights_sha256="ab" * 32,
    settings=SETTINGS,
    platform="onnx",
    serving="python",
    ensemble="aframe-stream",
    ifos=["H1", "L1"],
    sample_rate=2048.0,
    kernel_length=1.5,
    fduration=1.0,
    psd_length=64.0,
    inference_sampling_rate=4.0,
    batch_size=64,
    stride=512,
    buffer_size=200_000,
    update_size=32768,
    streams_per_gpu=1,
    aframe_instances=1,
    merger_offsets=True,
    version=3,
)


def test_manifest_round_trip(tmp_path):
    MANIFEST.write(tmp_path)
    again = Manifest.read(tmp_path)
    assert again.digest == MANIFEST.content_digest()
    assert replace(again, digest="") == MANIFEST
    assert again.whitening == SETTINGS.whitening
    # the model's settings sit in the manifest as an object
    recorded = json.loads((tmp_path / "manifest.json").read_text())
    assert recorded["settings"]["ifos"] == ["H1", "L1"]


def test_bad_manifests_are_named(tmp_path):
    with pytest.raises(ContractError, match="manifest.json is missing"):
        Manifest.read(tmp_path)
    MANIFEST.write(tmp_path)
    path = tmp_path / "manifest.json"
    recorded = json.loads(path.read_text())
    recorded["settings"]["kernel"] = 1
    path.write_text(json.dumps(recorded))
    with pytest.raises(ContractError, match="model settings has unknown"):
        Manifest.read(tmp_path)


def test_time_calibration_round_trip(tmp_path):
    timing = TimeCalibration(
        median=-0.01,
        spread=0.12,
        half_width=0.14,
        window_quantile=0.99,
        found=197,
        injected=500,
        threshold=3.2,
        livetime=3600.0,
        integration_window_length=1.5,
        cluster_window_length=8.0,
        version=3,
        weights_sha256="ab" * 32,
    )
    timing.write(tmp_path)
    assert TimeCalibration.read(tmp_path) == timing
    assert replace(timing, found=1) != timing
    # it holds for the version and the weights it measured only
    assert timing.measured(MANIFEST)
    assert not timing.measured(replace(MANIFEST, version=4))
    assert not timing.measured(replace(MANIFEST, weights_sha256="cd" * 32))
    # a bank's merger offsets add their figures; a calibration written
    # without them reads as a model without offsets
    timed = replace(timing, arrival_spread=0.009, grid_spread=0.127)
    timed.write(tmp_path)
    assert TimeCalibration.read(tmp_path) == timed
    path = tmp_path / "timing.json"
    recorded = json.loads(path.read_text())
    del recorded["arrival_spread"], recorded["grid_spread"]
    path.write_text(json.dumps(recorded))
    assert TimeCalibration.read(tmp_path) == timing


def test_an_edited_manifest_is_refused(tmp_path):
    """A manifest edited by hand (sample_rate 2048 -> 4096, say) would
    stream the model at the wrong rate without an error."""
    MANIFEST.write(tmp_path)
    path = tmp_path / "manifest.json"
    recorded = json.loads(path.read_text())
    recorded["sample_rate"] = 4096.0
    path.write_text(json.dumps(recorded))
    with pytest.raises(ContractError, match="edited after export"):
        Manifest.read(tmp_path)
    # a manifest of the first layout has no checksums: export again
    recorded.update(sample_rate=2048.0, layout_version=1)
    path.write_text(json.dumps(recorded))
    with pytest.raises(ContractError, match="version 1.*3"):
        Manifest.read(tmp_path)


def test_the_files_of_a_version_are_checked(tmp_path):
    for name in ("aframe/config.pbtxt", "aframe/3/model.onnx", "old/2/x"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    manifest = MANIFEST.with_files(tmp_path)
    # the version's files and the configs, not another version's
    assert sorted(manifest.files) == [
        "aframe/3/model.onnx",
        "aframe/config.pbtxt",
    ]
    manifest.verify(tmp_path)
    (tmp_path / "aframe/3/model.onnx").write_text("truncated")
    with pytest.raises(ContractError, match="model.onnx changed since"):
        manifest.verify(tmp_path)
    (tmp_path / "aframe/3/model.onnx").unlink()
    with pytest.raises(ContractError, match="model.onnx is missing"):
        manifest.verify(tmp_path)
