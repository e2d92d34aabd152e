"""Glitch records: which glitches a strain file holds.

Every glitch that aframe adds to strain, or that a table says real strain
holds, is recorded beside that strain: as the ``glitches`` group of a
background file (``aframe_contracts.strain``), or as ``glitches.hdf5``
beside an MLGWSC-1 set.  Layout ``glitches`` version 1:

```text
/glitches  attrs: layout, layout_version, source (gengli | table),
                  and the parameters of the draw (rates_per_minute,
                  snr_min, snr_max, snr_index, seed, ...)
  time     float64 (N,)  GPS time of the glitch's peak (s)
  ifo      str (N,)      the interferometer
  snr      float64 (N,)  optimal SNR against the strain's PSD
  seed     int64 (N,)    the generator's seed of its shape; -1: a real
                         glitch, whose shape is the strain's own
```
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aframe_contracts.errors import ContractError
from aframe_contracts.files import atomic_hdf5
from aframe_contracts.layout import check, open_hdf5, require, stamp

LAYOUT, VERSION = "glitches", 1
GROUP = "glitches"
COLUMNS = ("time", "ifo", "snr", "seed")
# the seed of a glitch that was not made but found in the data
REAL = -1


@dataclass(frozen=True)
class GlitchTable:
    """Glitches, one row each, sorted by time.

    Args:
        time: GPS time of each glitch's peak (s).
        ifo: the interferometer of each.
        snr: the optimal SNR of each against its strain's PSD.
        seed: the seed of each generated shape; ``REAL`` for glitches
            that were in the data.
        attrs: how they were drawn (the source and its parameters).
    """

    time: np.ndarray
    ifo: np.ndarray
    snr: np.ndarray
    seed: np.ndarray
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = {len(getattr(self, name)) for name in COLUMNS}
        if len(sizes) != 1:
            raise ContractError(
                "glitch columns time, ifo, snr and seed differ in length"
            )

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls, attrs: dict | None = None) -> "GlitchTable":
        return cls(
            np.zeros(0),
            np.zeros(0, dtype=str),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            dict(attrs or {}),
        )

    @classmethod
    def concatenate(cls, tables: list["GlitchTable"]) -> "GlitchTable":
        """The rows of all ``tables``, sorted by time, with the first's
        attrs."""
        if not tables:
            return cls.empty()
        columns = {
            name: np.concatenate([getattr(t, name) for t in tables])
            for name in COLUMNS
        }
        order = np.argsort(columns["time"], kind="stable")
        return cls(
            **{name: column[order] for name, column in columns.items()},
            attrs=dict(tables[0].attrs),
        )

    def counts(self, ifos: list[str]) -> dict[str, int]:
        """How many glitches each of ``ifos`` has."""
        return {ifo: int(np.sum(self.ifo == ifo)) for ifo in ifos}

    def describe(self, ifos: list[str]) -> str:
        """The count per ifo, for logs: 'H1: 3, L1: 12'."""
        return ", ".join(f"{i}: {n}" for i, n in self.counts(ifos).items())

    def of(self, ifo: str) -> "GlitchTable":
        """The glitches of one ifo."""
        return self.where(self.ifo == ifo)

    def between(self, start: float, stop: float) -> "GlitchTable":
        """The glitches with peaks in GPS [start, stop)."""
        return self.where((self.time >= start) & (self.time < stop))

    def where(self, keep: np.ndarray) -> "GlitchTable":
        return GlitchTable(
            *(getattr(self, name)[keep] for name in COLUMNS),
            attrs=dict(self.attrs),
        )

    # ------------------------------------------------------------ files
    def write_group(self, parent) -> None:
        """Write the table as the ``glitches`` group of an open HDF5
        file."""
        group = parent.create_group(GROUP)
        stamp(group.attrs, LAYOUT, VERSION)
        for key, value in self.attrs.items():
            group.attrs[key] = value
        group.create_dataset("time", data=np.asarray(self.time, float))
        group.create_dataset(
            "ifo", data=np.asarray(self.ifo, dtype=str).astype("S")
        )
        group.create_dataset("snr", data=np.asarray(self.snr, float))
        group.create_dataset(
            "seed", data=np.asarray(self.seed, dtype=np.int64)
        )

    def write(self, path: Path) -> None:
        """Write the table as a file of its own, atomically."""
        with atomic_hdf5(path) as f:
            self.write_group(f)

    @classmethod
    def read_group(cls, parent, path: Path) -> "GlitchTable":
        """The table in the ``glitches`` group of an open HDF5 file."""
        require(parent, (GROUP,), path, "group ")
        group = parent[GROUP]
        check(group.attrs, LAYOUT, VERSION, path)
        require(group, COLUMNS, path, "glitches/")
        attrs = {
            key: value
            for key, value in group.attrs.items()
            if key not in ("layout", "layout_version")
        }
        return cls(
            group["time"][()],
            group["ifo"][()].astype(str),
            group["snr"][()],
            group["seed"][()],
            attrs,
        )

    @classmethod
    def read(cls, path: Path) -> "GlitchTable":
        """The table of a glitch file, or of a background file's group."""
        with open_hdf5(path, "glitch record") as f:
            return cls.read_group(f, Path(path))

    @staticmethod
    def recorded(path: Path) -> bool:
        """Whether an HDF5 file holds a glitch record."""
        with open_hdf5(path, "strain") as f:
            return GROUP in f
