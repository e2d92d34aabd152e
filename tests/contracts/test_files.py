import h5py
import pytest

from aframe_contracts.errors import DataError
from aframe_contracts.files import (
    atomic_hdf5,
    atomic_path,
    check_directory,
    check_output,
    check_outputs,
    make_directory,
    sha256,
    write_atomic,
)


def test_a_write_appears_whole_or_not_at_all(tmp_path):
    path = tmp_path / "deep" / "file.txt"
    write_atomic(path, "first")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half of the second")
        raise RuntimeError("interrupted")
    # the interrupted write left the complete first file, and no litter
    assert path.read_text() == "first"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.txt"]
    write_atomic(path, b"\x00bytes", mode=0o755)
    assert path.read_bytes() == b"\x00bytes"
    assert path.stat().st_mode & 0o777 == 0o755


def test_atomic_hdf5(tmp_path):
    path = tmp_path / "a.hdf5"
    with pytest.raises(KeyError), atomic_hdf5(path) as f:
        f["x"] = [1, 2]
        raise KeyError("interrupted")
    assert not path.exists() and not list(tmp_path.iterdir())
    with atomic_hdf5(path) as f:
        f["x"] = [1, 2]
    with h5py.File(path) as f:
        assert list(f["x"][:]) == [1, 2]


def test_sha256_is_hashlib_s(tmp_path):
    path = tmp_path / "weights"
    path.write_bytes(b"abc" * 1_000_000)
    import hashlib

    assert sha256(path) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_outputs_never_replace_inputs(tmp_path):
    data = tmp_path / "strain.hdf"
    data.write_text("precious")
    link = tmp_path / "link.hdf"
    link.symlink_to(data)
    hard = tmp_path / "hard.hdf"
    hard.hardlink_to(data)
    for output in (data, link, hard):
        with pytest.raises(DataError, match="would destroy the input"):
            check_output(output, [data], force=True)
    # an existing file needs force; a new one does not
    other = tmp_path / "events.hdf"
    check_output(other, [data], force=False)
    other.write_text("old events")
    with pytest.raises(DataError, match="exists: pass --force"):
        check_output(other, [data], force=False)
    check_output(other, [data], force=True)
    assert data.read_text() == "precious"


def test_every_output_is_checked_against_every_input(tmp_path):
    data = tmp_path / "strain.hdf"
    data.write_text("precious")
    new = tmp_path / "new.hdf"
    # inputs given once, as a generator, still reach the last output
    with pytest.raises(DataError, match="would destroy the input"):
        check_outputs([new, data], (p for p in [data]), force=True)
    check_outputs([new, tmp_path / "other.hdf"], [data], force=False)


def test_two_outputs_may_not_be_one_file(tmp_path):
    events = tmp_path / "events.hdf5"
    with pytest.raises(DataError, match="named for two outputs"):
        check_outputs([events, tmp_path / "." / "events.hdf5"], [], True)
    assert not events.exists()


def test_a_file_in_the_way_of_a_directory_is_named(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a directory")
    with pytest.raises(DataError, match="results is a file, not a dir"):
        make_directory(blocker)
    deeper = blocker / "infer" / "branch"
    with pytest.raises(DataError, match=f"{blocker} is a file"):
        check_directory(deeper)
    # outputs are checked before any work: their folder must be possible
    with pytest.raises(DataError, match=f"{blocker} is a file"):
        check_output(deeper / "events.hdf5", [], force=True)
    with pytest.raises(DataError, match=f"{blocker} is a file"):
        write_atomic(deeper / "events.hdf5", "x")
    assert blocker.read_text() == "not a directory"
    made = make_directory(tmp_path / "a" / "b")
    assert made.is_dir() and make_directory(made) == made
