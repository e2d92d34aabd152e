"""The p_astro model: the rate densities of the detection statistic that
give an event its probability of astrophysical origin.

``results/p_astro.hdf5``, written by ``aframe-plots p-astro``
(``aframe_plots.pastro``) from the offline events, and read by the
report and the online search (through ``aframe_pastro``), layout
``p-astro-model`` version 2:

```text
/                          attrs: rate (Gpc^-3 yr^-1), population,
                                  background_slope, foreground_slope
                                  (per unit statistic), and what the fit
                                  used (Tb, V0, counts, bandwidths, tail
                                  starts), layout, layout_version
/statistic                 (G,) ascending grid of the statistic
/background_log_density    (G,) ln b(x): background events per year
                                per unit statistic; -inf: none
/foreground_log_density    (G,) ln f(x): astrophysical events per year
                                per unit statistic; -inf: none
/calibration/edges         (K+1,) p_astro bin edges
/calibration/p_astro       (K,) mean p_astro of the events in each bin
/calibration/fraction      (K,) the share of their rate from injections
/calibration/low           (K,) its one-sigma (68%) interval: from the
/calibration/high          (K,) Poisson bounds of the events' counts
/calibration/background    (K,) background events in the bin
/calibration/injections    (K,) found injections in the bin
/events/background         (N,) p_astro of each time-slid background
                                event, in the background file's order
/events/injections         (M,) p_astro of each analysed injection, in
                                the order of the foreground file's
                                parameters/ (0 where nothing was found)
```

Beyond the grid's last point each log density falls linearly with its
slope (an exponential tail); below its first point both are zero.  The
``calibration`` group is the held-out check of the fit (see
docs/p_astro.md); a model written without one has the group empty.  The
``events`` group gives every offline event the model was fitted to its
p_astro, so that no reader has to evaluate the model again.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aframe_contracts.errors import ContractError
from aframe_contracts.files import atomic_hdf5
from aframe_contracts.layout import (
    check,
    open_hdf5,
    require,
    stamp,
    unstamped,
)

LAYOUT, VERSION = "p-astro-model", 2
CALIBRATION_KEYS = (
    "edges",
    "p_astro",
    "fraction",
    "low",
    "high",
    "background",
    "injections",
)


@dataclass(frozen=True)
class Calibration:
    """Binned p_astro against the share of events that are injections.

    Args:
        edges: p_astro bin edges, (K+1,).
        p_astro: the rate-weighted mean p_astro in each bin, (K,).
        fraction: the share of the bin's rate that injections make, (K,).
        low, high: its one-sigma (68%) interval, (K,): the shares that
            the Poisson bounds of the bin's background and injection
            counts give (``aframe_pastro.model.calibrate``).
        background: background events in each bin, (K,).
        injections: found injections in each bin, (K,).
    """

    edges: np.ndarray
    p_astro: np.ndarray
    fraction: np.ndarray
    low: np.ndarray
    high: np.ndarray
    background: np.ndarray
    injections: np.ndarray


@dataclass(frozen=True)
class PAstroModel:
    """The two rate densities of the statistic, tabulated.

    Args:
        statistic: ascending grid of the statistic, (G,).
        background_log_density: ln of background events per year per
            unit statistic at each grid point, (G,).
        foreground_log_density: ln of astrophysical events per year per
            unit statistic, (G,).
        background_slope: how fast ln b falls per unit statistic beyond
            the grid (>= 0).
        foreground_slope: the same of ln f (>= 0).
        rate: the astrophysical merger rate density (Gpc^-3 yr^-1).
        population: the name of the population the injections were
            weighted to.
        attrs: what the fit used, for the record (Tb, V0, counts,
            bandwidths, tail starts).
        calibration: the held-out calibration check, or None.
        events: p_astro of the offline events, by kind (``background``,
            ``injections``; see the layout above); empty: not given.
    """

    statistic: np.ndarray
    background_log_density: np.ndarray
    foreground_log_density: np.ndarray
    background_slope: float
    foreground_slope: float
    rate: float
    population: str
    attrs: dict = field(default_factory=dict)
    calibration: Calibration | None = None
    events: dict[str, np.ndarray] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        with atomic_hdf5(path) as f:
            for key, value in self.attrs.items():
                f.attrs[key] = value
            f.attrs["background_slope"] = self.background_slope
            f.attrs["foreground_slope"] = self.foreground_slope
            f.attrs["rate"] = self.rate
            f.attrs["population"] = self.population
            stamp(f.attrs, LAYOUT, VERSION)
            f["statistic"] = np.asarray(self.statistic, float)
            f["background_log_density"] = np.asarray(
                self.background_log_density, float
            )
            f["foreground_log_density"] = np.asarray(
                self.foreground_log_density, float
            )
            group = f.create_group("calibration")
            if self.calibration is not None:
                for key in CALIBRATION_KEYS:
                    group[key] = np.asarray(getattr(self.calibration, key))
            group = f.create_group("events")
            for kind, p_astro in self.events.items():
                group[kind] = np.asarray(p_astro, float)

    @classmethod
    def read(cls, path: Path) -> "PAstroModel":
        """A p_astro model file, checked.

        Raises:
            ContractError: the file is missing, malformed or inconsistent.
        """
        keys = (
            "statistic",
            "background_log_density",
            "foreground_log_density",
            "calibration",
        )
        with open_hdf5(path, "p_astro model") as f:
            check(f.attrs, LAYOUT, VERSION, path)
            require(f, keys, path)
            require(
                f.attrs,
                ("background_slope", "foreground_slope", "rate", "population"),
                path,
                "attribute ",
            )
            columns = {key: np.asarray(f[key][()], float) for key in keys[:3]}
            group = f["calibration"]
            calibration = None
            if len(group):
                require(group, CALIBRATION_KEYS, path, "calibration/")
                calibration = Calibration(
                    **{key: group[key][()] for key in CALIBRATION_KEYS}
                )
            events = {
                kind: np.asarray(values[()], float)
                for kind, values in f.get("events", {}).items()
            }
            attrs = unstamped(f.attrs)
        for kind, p_astro in events.items():
            if (
                p_astro.ndim != 1
                or not ((p_astro >= 0) & (p_astro <= 1)).all()
            ):
                raise ContractError(
                    f"{path}: events/{kind} must hold one p_astro in [0, 1] "
                    "per event"
                )
        grid = columns["statistic"]
        if grid.ndim != 1 or grid.size < 2 or not (np.diff(grid) > 0).all():
            raise ContractError(
                f"{path}: statistic must be an ascending grid of at least "
                "two points"
            )
        for key in keys[1:3]:
            if columns[key].shape != grid.shape:
                raise ContractError(
                    f"{path}: {key} {columns[key].shape} does not match "
                    f"statistic {grid.shape}"
                )
            if np.isnan(columns[key]).any():
                raise ContractError(f"{path}: {key} has NaNs")
        slopes = {
            key: float(attrs.pop(key))
            for key in ("background_slope", "foreground_slope")
        }
        for key, slope in slopes.items():
            if not slope >= 0:
                raise ContractError(f"{path}: {key} = {slope} is negative")
        population = attrs.pop("population")
        if isinstance(population, bytes):
            population = population.decode()
        return cls(
            grid,
            columns["background_log_density"],
            columns["foreground_log_density"],
            rate=float(attrs.pop("rate")),
            population=str(population),
            attrs=attrs,
            calibration=calibration,
            events=events,
            **slopes,
        )
