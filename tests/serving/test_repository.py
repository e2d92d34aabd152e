"""An opened model repository (aframe_serving.repository) and the serving
settings (aframe_serving.backends.Serving)."""

import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.repository import TIMING_FILE, Manifest
from aframe_serving.backends import Serving
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository
from tests.infer.conftest import export_model


def test_the_manifest_is_read_and_verified_once(repository, repository_reads):
    model = ModelRepository.open(repository)
    reads, checksums = repository_reads
    assert len(reads) == 1
    assert len(checksums) == len(model.manifest.files)
    assert model.ifos == ["H1", "L1"] and model.sample_rate == 256
    assert model.geometry.buffer_size == model.manifest.buffer_size
    # an uncalibrated repository opens; only its timing is an error
    assert model.calibration is None
    with pytest.raises(RepositoryError, match="aframe-infer calibrate"):
        _ = model.timing


def test_a_changed_file_is_refused_at_opening(repository):
    manifest = Manifest.read(repository)
    name = next(iter(manifest.files))
    (repository / name).write_bytes(b"changed")
    with pytest.raises(ContractError, match="changed since it was exported"):
        ModelRepository.open(repository)


def test_a_calibration_of_other_weights_is_refused(calibrated, weights):
    assert ModelRepository.open(calibrated).timing.found == 40
    # new weights: a new version, which the old calibration did not measure
    export_model(weights, calibrated)
    with pytest.raises(RepositoryError, match="now holds version 2"):
        _ = ModelRepository.open(calibrated).timing
    (calibrated / TIMING_FILE).write_text('{"median": 0.0}')
    with pytest.raises(RepositoryError, match="not a timing calibration"):
        _ = ModelRepository.open(calibrated).timing
    (calibrated / TIMING_FILE).unlink()
    with pytest.raises(RepositoryError, match="aframe-infer calibrate"):
        _ = ModelRepository.open(calibrated).timing


def test_strain_of_another_rate_or_ifos_is_refused(repository):
    model = ModelRepository.open(repository)
    model.check_strain("the chunk", 256, ["L1", "H1", "V1"])
    with pytest.raises(RepositoryError, match="the chunk .512 Hz"):
        model.check_strain("the chunk", 512, ["H1", "L1"])
    with pytest.raises(RepositoryError, match="does not match the model"):
        model.check_strain("the chunk", 256, ["H1"])


def test_serving_names_its_backend():
    assert Serving() == Serving("local", "", "")
    with pytest.raises(RepositoryError, match="choose 'local' or 'triton'"):
        Serving("remote")
