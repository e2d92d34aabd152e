"""Layout names and versions, and reading files with errors that name
them."""

import contextlib
import json
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import MISSING
from pathlib import Path

from aframe_contracts.errors import ContractError

# the root attribute (HDF5) or key (JSON) naming a file's layout
LAYOUT_KEY = "layout"
# ... and the version of that layout
VERSION_KEY = "layout_version"


def stamp(attrs: MutableMapping, layout: str, version: int) -> None:
    """Record a layout and its version in a file's attributes."""
    attrs[LAYOUT_KEY] = layout
    attrs[VERSION_KEY] = version


def unstamped(attrs: Mapping) -> dict:
    """A file's attributes without its layout and version."""
    return {
        key: value
        for key, value in attrs.items()
        if key not in (LAYOUT_KEY, VERSION_KEY)
    }


def check(attrs: Mapping, layout: str, version: int, path: Path) -> None:
    """Refuse a file of another layout, or of another version of it.

    Files written before layouts were recorded carry neither key: they
    are version 1 of the layout the reader expects.

    Raises:
        ContractError: the file names another layout or version.
    """
    found = attrs.get(LAYOUT_KEY, layout)
    found = found.decode() if isinstance(found, bytes) else str(found)
    if found != layout:
        raise ContractError(
            f"{path} is a {found} file, not the {layout} file expected here"
        )
    found_version = int(attrs.get(VERSION_KEY, 1))
    if found_version != version:
        raise ContractError(
            f"{path} has version {found_version} of the {layout} layout; "
            f"this aframe reads version {version}: rerun the stage that "
            "wrote it, or read it with the aframe that did"
        )


def require(mapping: Mapping, keys, path: Path, what: str = "") -> None:
    """Raise a ContractError naming the ``keys`` missing from ``mapping``."""
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise ContractError(f"{path}: no {what}{', '.join(missing)}")


def check_file(path: Path, what: str) -> None:
    """Refuse a path that is not a file, naming it and what it should be.

    Raises:
        ContractError: it is a directory, or nothing is there.
    """
    if path.is_dir():
        raise ContractError(f"{path} is a directory, not the {what} file")
    if not path.is_file():
        raise ContractError(f"the {what} file {path} does not exist")


@contextlib.contextmanager
def open_hdf5(path: Path, what: str) -> Iterator:
    """An HDF5 file open for reading; a missing file, one that is not
    HDF5 and a missing dataset are ContractErrors that name the file."""
    import h5py

    path = Path(path)
    check_file(path, what)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ContractError(
            f"the {what} file {path}: cannot read it as HDF5 ({error})"
        ) from None
    try:
        with f:
            yield f
    except KeyError as error:
        raise ContractError(
            f"{path}: the {what} file has no {error}"
        ) from None


def read_json(path: Path, what: str) -> dict:
    """A JSON object from a file; errors name the file."""
    path = Path(path)
    check_file(path, what)
    try:
        value = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ContractError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ContractError(f"{path}: the {what} must be a JSON object")
    return value


def to_json(value: dict) -> str:
    return json.dumps(value, indent=2) + "\n"


def write_record(record, path: Path, layout: str, version: int) -> None:
    """Write a dataclass as a JSON object, with its layout, atomically."""
    from dataclasses import asdict

    from aframe_contracts.files import write_atomic

    value = asdict(record)
    stamp(value, layout, version)
    write_atomic(path, to_json(value))


def content_digest(record) -> str:
    """The sha256 of a dataclass record's fields but its ``digest``: the
    record's own checksum, so that an edited file is recognised."""
    import hashlib
    from dataclasses import asdict, replace

    fields = asdict(replace(record, digest=""))
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_record(cls, path: Path, layout: str, version: int, what: str):
    """A dataclass from a JSON object written by ``write_record``.

    Raises:
        ContractError: the file is missing, not JSON, of another layout
            or version, or lacks or adds fields.
    """
    value = read_json(path, what)
    check(value, layout, version, path)
    return from_dict(cls, unstamped(value), path, what)


def from_dict(cls, value: dict, path: Path, what: str):
    """A dataclass from a dict of its fields, all of them known and every
    field without a default present."""
    from dataclasses import fields

    known = [f for f in fields(cls) if f.init]
    unknown = sorted(set(value) - {f.name for f in known})
    if unknown:
        raise ContractError(
            f"{path}: the {what} has unknown fields {', '.join(unknown)}"
        )
    required = [
        f.name
        for f in known
        if f.default is MISSING and f.default_factory is MISSING
    ]
    require(value, required, path, f"{what} field ")
    return cls(**value)
