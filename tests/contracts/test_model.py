import json
from dataclasses import replace

import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.layout import content_digest
from aframe_contracts.model import ModelSettings, WhiteningSpec

SETTINGS = ModelSettings(
    sample_rate=2048.0,
    kernel_length=1.5,
    fduration=1.0,
    psd_length=64.0,
    fftlength=None,
    highpass=32.0,
    lowpass=None,
    ifos=["H1", "L1"],
    strain_scale=1e21,
    checkpoint="/run/checkpoints/best.ckpt",
    valid_auroc=0.9,
    validation_span=[1e9, 1e9 + 3600],
)


def test_round_trip(tmp_path):
    path = tmp_path / "model.json"
    SETTINGS.write(path)
    # read back with the digest write computed
    read = ModelSettings.read(path)
    assert read == replace(SETTINGS, digest=content_digest(SETTINGS))
    assert SETTINGS.whitening == WhiteningSpec(
        2048.0, 1.5, 1.0, 64.0, None, 32.0, None
    )
    # plain JSON, the layout named in it
    recorded = json.loads(path.read_text())
    assert recorded["layout"] == "model-settings"
    assert recorded["highpass"] == 32.0


def test_settings_of_older_models_and_bad_files(tmp_path):
    path = tmp_path / "model.json"
    SETTINGS.write(path)
    recorded = json.loads(path.read_text())
    # written before the layout was recorded, or the span, or the digest
    for key in ("layout", "layout_version", "validation_span", "digest"):
        del recorded[key]
    path.write_text(json.dumps(recorded))
    assert ModelSettings.read(path).validation_span is None
    path.write_text(json.dumps({**recorded, "sample_rat": 1}))
    with pytest.raises(ContractError, match="unknown fields sample_rat"):
        ModelSettings.read(path)
    del recorded["ifos"]
    path.write_text(json.dumps(recorded))
    with pytest.raises(ContractError, match="no model settings field ifos"):
        ModelSettings.read(path)


def test_an_edited_file_is_refused(tmp_path):
    """The weights were trained behind the settings training recorded:
    an edit would export them behind another preprocessing."""
    path = tmp_path / "model.json"
    SETTINGS.write(path)
    recorded = json.loads(path.read_text())
    assert len(recorded["digest"]) == 64
    path.write_text(json.dumps({**recorded, "kernel_length": 2.0}))
    with pytest.raises(ContractError, match="edited after training"):
        ModelSettings.read(path)
