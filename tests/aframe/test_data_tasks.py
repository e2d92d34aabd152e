"""The data tasks, run through law on the quickstart's simulated noise."""

import h5py
import luigi
import pytest

from aframe.pipelines.sandbox import Sandbox
from aframe.tasks.data import TrainingBackground
from aframe_contracts.segments import read_segments


def test_segments_and_background(experiment):
    directory = experiment()
    background = TrainingBackground.req(Sandbox())
    assert luigi.build([background], local_scheduler=True, log_level="WARNING")

    segments = read_segments(directory / "data/train/segments.txt")
    assert segments == [(1240579783, 1240583383)]
    outputs = [b.output() for b in background.get_branch_tasks().values()]
    assert [o.path for o in outputs] == [
        str(
            directory / "data/train/background/background-1240579783-3600.hdf5"
        )
    ]
    with h5py.File(outputs[0].path) as f:
        assert list(f.attrs["ifos"]) == ["H1", "L1"]
        assert f.attrs["t0"] == 1240579783
        assert f.attrs["sample_rate"] == 1024
        assert f["L1"].shape == (3600 * 1024,)
        assert f["H1"].dtype == "float64"
    # the stage's parameters and log are kept beside the output
    logs = directory / "data/train/background/logs/background-1240579783-3600"
    assert (
        '"noise_psd": "aLIGO_O4_high"'
        in (logs / "background.yaml").read_text()
    )
    assert (logs / "background.log").exists()


def test_noise_psd_may_name_the_challenge_checkout(
    experiment, tmp_path, monkeypatch
):
    experiment()
    noise_psd = "aLIGO_O4_high {mlgwsc_dir}/psds/{ifo}/psd-*.hdf"
    monkeypatch.delenv("AFRAME_MLGWSC_DIR", raising=False)
    background = TrainingBackground.req(Sandbox(), noise_psd=noise_psd)
    with pytest.raises(ValueError, match="neither.*mlgwsc_dir nor"):
        background.noise_psds()

    monkeypatch.setenv("AFRAME_MLGWSC_DIR", str(tmp_path))
    assert background.noise_psds() == (
        f"aLIGO_O4_high {tmp_path}/psds/{{ifo}}/psd-*.hdf"
    )
    # a container sees the checkout
    assert background.external_paths() == [tmp_path]
    plain = TrainingBackground.req(Sandbox())
    assert plain.noise_psds() == "aLIGO_O4_high"
    assert plain.external_paths() == []
