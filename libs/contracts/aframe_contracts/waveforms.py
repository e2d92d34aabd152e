"""Waveform sets: waveforms with the parameters that made them.

Layout ``waveform-set`` version 1, written by the data stage for three
uses.  Training waveforms, ``waveforms-<branch>.hdf5`` under
``$AFRAME_TRAIN_DATA_DIR/training_waveforms``:

```text
/                 attrs: prior, approximant, sample_rate (Hz), duration (s),
                         minimum_frequency (Hz), reference_frequency (Hz),
                         right_pad (s), layout, layout_version
/parameters/<p>   float64 (N,): the prior's draws (below)
/waveforms/cross  (N, duration * sample_rate)  cross polarisation
/waveforms/plus   (N, duration * sample_rate)  plus polarisation
```

Validation signals, ``$AFRAME_TRAIN_DATA_DIR/validation_waveforms.hdf5``:

```text
/                 attrs: as above, and ifos, snr_threshold, num_draws
/parameters/<p>   (N,) the accepted draws, with snr (N,), ifo_snrs (N, n_ifo),
                  slot, and phi (rad, Earth-fixed azimuth) in place of ra
/waveforms/<ifo>  float32 (N, duration * sample_rate)  projected responses
```

Testing injections, ``injections-<t0>-<duration>-<k>.hdf5`` under
``$AFRAME_TEST_DATA_DIR/injections``:

```text
/                 attrs: as training, and ifos, shifts (s, per ifo),
                         t0 (GPS s), chunk_duration (s), snr_threshold,
                         num_draws
/parameters/<p>   (N,) the accepted draws, with snr, ifo_snrs (N, n_ifo),
                  injection_time (GPS s, geocentre) and ra (rad)
/waveforms/<ifo>  float32 (N, duration * sample_rate)  projected responses
/rejected/<p>     (M,) every rejected draw, the same columns, no waveforms
```

Every waveform coalesces at sample ``(duration - right_pad) *
sample_rate`` (``coalescence_sample``).  ``num_draws`` = N + M.  The
parameter columns are ``mass_1_source``, ``mass_2_source`` (solar
masses), ``mass_1``, ``mass_2`` (detector frame), ``redshift``,
``luminosity_distance`` (Mpc), ``a_1``, ``a_2``, ``tilt_1``, ``tilt_2``,
``phi_12``, ``phi_jl``, ``theta_jn``, ``phase``, ``psi``, ``dec`` and
``ra`` (rad).  Waveforms are chunked a row at a time, so training reads
random rows without loading whole files.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aframe_contracts.files import atomic_hdf5
from aframe_contracts.layout import (
    check,
    open_hdf5,
    require,
    stamp,
    unstamped,
)

LAYOUT, VERSION = "waveform-set", 1
WHAT = "waveform set"


def coalescence_sample(attrs: dict, sample_rate: float) -> int:
    """The sample of each waveform at which it coalesces.

    Waveforms span ``duration`` seconds and coalesce ``right_pad`` seconds
    before their end.
    """
    return round((attrs["duration"] - attrs["right_pad"]) * sample_rate)


@dataclass(frozen=True)
class WaveformSet:
    """Waveforms, their parameters and the file's attributes.

    Args:
        attrs: the root attributes.
        parameters: one (N,) column per parameter.
        waveforms: (N, T) arrays by name (cross, plus or an ifo); empty
            when read without them.
        rejected: the draws never injected (testing injections).
    """

    attrs: dict
    parameters: dict[str, np.ndarray]
    waveforms: dict[str, np.ndarray] = field(default_factory=dict)
    rejected: dict[str, np.ndarray] | None = None

    @property
    def sample_rate(self) -> float:
        return float(self.attrs["sample_rate"])

    @property
    def coalescence(self) -> int:
        """The sample of each waveform at which it coalesces."""
        return coalescence_sample(self.attrs, self.sample_rate)

    def stacked(self, names: Sequence[str]) -> np.ndarray:
        """The waveforms ``names`` as one (N, len(names), T) array."""
        return np.stack([self.waveforms[name] for name in names], axis=1)

    def write(self, path: Path) -> None:
        groups = {"parameters": self.parameters, "waveforms": self.waveforms}
        if self.rejected is not None:
            groups["rejected"] = self.rejected
        with atomic_hdf5(path) as f:
            for key, value in self.attrs.items():
                f.attrs[key] = value
            stamp(f.attrs, LAYOUT, VERSION)
            for name, arrays in groups.items():
                group = f.require_group(name)
                for key, array in arrays.items():
                    array = np.asarray(array)
                    chunks = None
                    if array.ndim > 1 and array.size:
                        chunks = (1, *array.shape[1:])
                    group.create_dataset(key, data=array, chunks=chunks)

    @classmethod
    def read(
        cls,
        path: Path,
        waveforms: Sequence[str] | None = None,
        rows: np.ndarray | None = None,
    ) -> "WaveformSet":
        """A waveform set.

        Args:
            path: the file.
            waveforms: the waveforms to read; None for all of them.
            rows: the rows of the waveforms to read, ascending; None for
                all (the parameters are always read whole).

        Raises:
            ContractError: the file is missing, of another layout, or
                lacks a waveform asked for.
        """
        with open_hdf5(path, WHAT) as f:
            check(f.attrs, LAYOUT, VERSION, path)
            require(f, ("parameters",), path, "group ")
            attrs = unstamped(f.attrs)
            parameters = _columns(f["parameters"])
            rejected = _columns(f["rejected"]) if "rejected" in f else None
            group = f.get("waveforms", {})
            names = list(group) if waveforms is None else list(waveforms)
            require(group, names, path, "waveforms/")
            read = {
                name: group[name][()] if rows is None else group[name][rows]
                for name in names
            }
        return cls(attrs, parameters, read, rejected)

    @staticmethod
    def count(path: Path) -> int:
        """How many signals a file holds."""
        with open_hdf5(path, WHAT) as f:
            check(f.attrs, LAYOUT, VERSION, path)
            group = f.get("waveforms", {})
            if not len(group):
                return 0
            return len(group[next(iter(group))])

    @staticmethod
    def attributes(path: Path) -> dict:
        """The root attributes of a waveform set."""
        with open_hdf5(path, WHAT) as f:
            check(f.attrs, LAYOUT, VERSION, path)
            return unstamped(f.attrs)


def _columns(group) -> dict[str, np.ndarray]:
    import h5py

    return {
        key: group[key][()]
        for key in group
        if isinstance(group[key], h5py.Dataset)
    }
