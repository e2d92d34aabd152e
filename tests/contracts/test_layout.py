import h5py
import pytest

from aframe_contracts.errors import ContractError, DataError
from aframe_contracts.layout import (
    LAYOUT_KEY,
    VERSION_KEY,
    check,
    open_hdf5,
    read_json,
    stamp,
)


def test_other_layouts_and_versions_are_refused(tmp_path):
    attrs = {}
    stamp(attrs, "waveform-set", 1)
    check(attrs, "waveform-set", 1, "f.hdf5")
    # files from before layouts were recorded are version 1
    check({}, "waveform-set", 1, "f.hdf5")
    with pytest.raises(ContractError, match="f.hdf5 is a waveform-set file"):
        check(attrs, "background-strain", 1, "f.hdf5")
    attrs[VERSION_KEY] = 2
    with pytest.raises(
        ContractError,
        match="version 2 of the waveform-set layout; this aframe reads "
        "version 1",
    ):
        check(attrs, "waveform-set", 1, "f.hdf5")
    with pytest.raises(ContractError, match="reads version 3"):
        check({LAYOUT_KEY: "waveform-set"}, "waveform-set", 3, "f.hdf5")


def test_unreadable_files_are_named(tmp_path):
    # every contract error is bad input, which every stage reports
    assert issubclass(ContractError, DataError)
    missing = tmp_path / "absent.hdf5"
    with pytest.raises(ContractError, match=f"the strain file {missing} does"):
        with open_hdf5(missing, "strain"):
            pass
    text = tmp_path / "text.hdf5"
    text.write_text("not HDF5")
    with pytest.raises(ContractError, match="cannot read it as HDF5"):
        with open_hdf5(text, "strain"):
            pass
    with h5py.File(tmp_path / "empty.hdf5", "w"):
        pass
    with pytest.raises(ContractError, match="empty.hdf5: the strain file has"):
        with open_hdf5(tmp_path / "empty.hdf5", "strain") as f:
            f["H1"]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ContractError, match="bad.json: not valid JSON"):
        read_json(tmp_path / "bad.json", "manifest")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ContractError, match="must be a JSON object"):
        read_json(tmp_path / "list.json", "manifest")
