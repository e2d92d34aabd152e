"""Background strain: the data stage's gravitational-wave strain files.

``background-<t0>-<duration>.hdf5`` under ``$AFRAME_TRAIN_DATA_DIR/background``
(training) and ``$AFRAME_TEST_DATA_DIR/background`` (testing), layout
``background-strain`` version 1:

```text
/      attrs: t0 (GPS s), sample_rate (Hz), ifos (list of str),
              layout, layout_version
/H1    float64 (duration * sample_rate,)   attrs: x0 (= t0), dx (s)
/L1    float64, as H1
/glitches  (optional) the glitches the strain holds, layout ``glitches``
           (``aframe_contracts.glitches``)
```

One dataset per ifo, all of one length, in ``ifos`` order; ``x0`` and
``dx`` make each readable with ``gwpy.timeseries.TimeSeries.read(path,
path="H1")``.  A file is read only when it holds that: floating-point
strain at a finite positive rate, every ifo's of one length
(``strain_checks``).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.errors import ContractError
from aframe_contracts.files import atomic_hdf5
from aframe_contracts.glitches import GROUP as GLITCHES
from aframe_contracts.glitches import GlitchTable
from aframe_contracts.layout import (
    check,
    open_hdf5,
    require,
    stamp,
)
from aframe_contracts.strain_checks import check_series, check_shared_span

LAYOUT, VERSION = "background-strain", 1
WHAT = "background strain"


@dataclass(frozen=True)
class StrainHeader:
    """What a strain file holds, without its samples.

    Args:
        ifos: the datasets, in order.
        t0: GPS time of the first sample (s).
        sample_rate: samples per second (Hz).
        size: samples per ifo.
    """

    ifos: list[str]
    t0: float
    sample_rate: float
    size: int

    @property
    def stop(self) -> float:
        """GPS time just after the last sample (s)."""
        return self.t0 + self.size / self.sample_rate


@dataclass(frozen=True)
class BackgroundStrain:
    """Strain of each ifo from GPS ``t0``, sampled at ``sample_rate``.

    Args:
        strain: each ifo's strain, (T,), in the ifos' order.
        t0: GPS time of the first sample (s).
        sample_rate: samples per second (Hz).
        glitches: the glitches the strain holds, where they are known.
    """

    strain: dict[str, np.ndarray]
    t0: float
    sample_rate: float
    glitches: GlitchTable | None = None

    @property
    def ifos(self) -> list[str]:
        return list(self.strain)

    @property
    def size(self) -> int:
        return len(next(iter(self.strain.values())))

    def write(self, path: Path) -> None:
        sizes = {ifo: np.shape(x) for ifo, x in self.strain.items()}
        if len(set(sizes.values())) != 1 or len(sizes[self.ifos[0]]) != 1:
            raise ContractError(
                f"{path}: strain must be equal-length vectors, not {sizes}"
            )
        with atomic_hdf5(path) as f:
            stamp(f.attrs, LAYOUT, VERSION)
            f.attrs["t0"] = self.t0
            f.attrs["sample_rate"] = self.sample_rate
            f.attrs["ifos"] = self.ifos
            for ifo, data in self.strain.items():
                dataset = f.create_dataset(
                    ifo, data=np.asarray(data, dtype=np.float64)
                )
                dataset.attrs["x0"] = self.t0
                dataset.attrs["dx"] = 1 / self.sample_rate
            if self.glitches is not None:
                self.glitches.write_group(f)

    @staticmethod
    def header(path: Path) -> StrainHeader:
        """The ifos, start, rate and length of a strain file."""
        with open_hdf5(path, WHAT) as f:
            ifos = _header(f, path)
            return StrainHeader(
                ifos,
                float(f.attrs["t0"]),
                float(f.attrs["sample_rate"]),
                f[ifos[0]].shape[-1],
            )

    @classmethod
    def read(
        cls, path: Path, ifos: list[str] | None = None
    ) -> "BackgroundStrain":
        """The strain of ``ifos`` (None: all the file's), in that order.

        Raises:
            ContractError: the file is missing, of another layout, or
                lacks one of ``ifos``.
        """
        return cls.read_span([path], -np.inf, np.inf, ifos)

    @classmethod
    def read_span(
        cls,
        paths: list[Path],
        start: float,
        stop: float,
        ifos: list[str] | None = None,
    ) -> "BackgroundStrain":
        """The strain of GPS [start, stop) from the first file holding it
        all; only the span is read (infinite bounds: the whole file).

        Raises:
            ContractError: no file holds the whole span.
        """
        for path in paths:
            with open_hdf5(path, WHAT) as f:
                found = _header(f, path)
                wanted = found if ifos is None else list(ifos)
                require(f, wanted, path, "ifo ")
                t0 = float(f.attrs["t0"])
                rate = float(f.attrs["sample_rate"])
                size = f[found[0]].shape[-1]
                first = 0 if start == -np.inf else round((start - t0) * rate)
                last = size if stop == np.inf else round((stop - t0) * rate)
                whole = start == -np.inf and stop == np.inf
                if whole or 0 <= first < last <= size:
                    glitches = None
                    if GLITCHES in f:
                        glitches = GlitchTable.read_group(f, path).between(
                            t0 + first / rate, t0 + last / rate
                        )
                    return cls(
                        {ifo: f[ifo][first:last] for ifo in wanted},
                        t0 + first / rate,
                        rate,
                        glitches,
                    )
        raise ContractError(
            f"no background file holds GPS [{start}, {stop}): "
            + ", ".join(str(p) for p in paths)
        )


def _header(f, path: Path) -> list[str]:
    """The file's ifos, once its layout and strain are checked."""
    check(f.attrs, LAYOUT, VERSION, path)
    require(f.attrs, ("t0", "sample_rate", "ifos"), path, "attribute ")
    ifos = [str(ifo) for ifo in np.atleast_1d(f.attrs["ifos"])]
    require(f, ifos, path, "ifo ")
    t0, rate = float(f.attrs["t0"]), float(f.attrs["sample_rate"])
    for ifo in ifos:
        check_series(path, ifo, f[ifo].dtype, sample_rate=rate)
    check_shared_span(
        path, {ifo: (t0, 1 / rate, f[ifo].shape[-1]) for ifo in ifos}, LAYOUT
    )
    return ifos
