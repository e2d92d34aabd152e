"""Files written atomically, and their checksums.

A file appears at its path only once complete.

The data go to a hidden file beside the target that then replaces it, so
an interrupted write leaves no half file behind, and a path that exists
is complete: that is what marks a pipeline task done.
"""

import contextlib
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """A temporary path to write; it replaces ``path`` if the block ends
    without an error, and is removed either way.

    Args:
        path: the file to write (its directory is made).
        mode: permission bits of the new file; None keeps the default.
    """
    path = Path(path)
    make_directory(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_directory(path: Path) -> None:
    """Refuse a path that cannot be made a directory, before any work.

    Raises:
        DataError: a file stands at ``path`` or above it, or the
            nearest existing directory above it is not writable.
    """
    from aframe_contracts.errors import DataError

    path = Path(path).absolute()
    if path.is_dir():
        return
    if path.exists():
        raise DataError(f"{path} is a file, not a directory")
    above = next(p for p in path.parents if p.exists())
    if not above.is_dir():
        raise DataError(
            f"cannot make the directory {path}: {above} is a file, not a "
            "directory"
        )
    if not os.access(above, os.W_OK):
        raise DataError(
            f"cannot make the directory {path}: {above} is not writable"
        )


def make_directory(path: Path) -> Path:
    """``path`` made a directory, with its parents, unless it is one.

    Raises:
        DataError: it cannot be (``check_directory``).
    """
    check_directory(path)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomic(path: Path, data: bytes | str, mode: int | None = None):
    """Write text or bytes to ``path`` atomically."""
    with atomic_path(path, mode) as tmp:
        if isinstance(data, str):
            tmp.write_text(data)
        else:
            tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_hdf5(path: Path):
    """An HDF5 file, open for writing, that appears at ``path`` only once
    fully written."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            yield f


def sha256(path: Path) -> str:
    """The sha256 of a file, e.g. of the weights a repository holds."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output(output: Path, inputs: Iterable[Path], force: bool) -> None:
    """Refuse to write ``output`` over one of the command's ``inputs``, or
    over any existing file unless ``force``.

    Raises:
        DataError: which, and what to do instead.
    """
    from aframe_contracts.errors import DataError

    output = Path(output)
    check_directory(output.parent)
    for path in map(Path, inputs):
        same = output.resolve() == path.resolve() or (
            output.exists()
            and path.exists()
            and os.path.samefile(output, path)
        )
        if same:
            raise DataError(
                f"the output {output} is the input {path}: writing it would "
                "destroy the input; choose another output file"
            )
    if output.exists() and not force:
        raise DataError(
            f"the output {output} exists: pass --force=true to replace it, or "
            "choose another output file"
        )


def check_outputs(
    outputs: Iterable[Path], inputs: Iterable[Path], force: bool
) -> None:
    """``check_output`` for each of a command's ``outputs``, before it
    writes any of them; two outputs may not be one file."""
    from aframe_contracts.errors import DataError

    inputs, outputs = list(inputs), list(map(Path, outputs))
    for i, output in enumerate(outputs):
        if any(output.resolve() == o.resolve() for o in outputs[:i]):
            raise DataError(
                f"{output} is named for two outputs: give each its own file"
            )
        check_output(output, inputs, force)
