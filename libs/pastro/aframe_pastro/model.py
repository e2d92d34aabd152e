"""The two-component p_astro of the detection statistic x:

    p_astro(x) = Lf(x) / (Lf(x) + Lb(x)),

Lb the background's rate density (events per year per unit statistic),
from the time-slid background, each event standing for 1 / Tb, and Lf
the astrophysical one, from the found injections, each injection i of
the N draws standing for

    R V0 w_i / sum_j w_j   per year,

R the merger rate density (Gpc^-3 yr^-1), V0 the volume the injection
prior's redshifts are normalised over (Gpc^3) and w the draws' weights
to the population (``aframe_plots.volume``): the rate of astrophysical
events louder than a threshold is then R V(threshold), the sensitive
volume's.  Both densities are those of ``density``.

Two guards make p_astro a ranking, non-decreasing in x.  Beyond the
data, the foreground's tail may not fall faster than the background's
(its slope is capped at the background's).  On the grid, where a ratio
of two kernel estimates wobbles (and spikes where one estimate reaches
past the other's data), p_astro is replaced by its isotonic regression
weighted by the rate density Lf + Lb (pool adjacent violators): where
p_astro falls, the stretch is given one value, the share of its events'
rate that is astrophysical.  A spike where there are few events is
pooled into its neighbours; where p_astro already rises, it is kept.
"""

import numpy as np
from scipy.special import expit

from aframe_contracts.pastro import Calibration, PAstroModel
from aframe_pastro import density
from aframe_pastro.errors import PAstroError

# how many p_astro bins the calibration has, and its halves' seed
CALIBRATION_BINS = 10
CALIBRATION_SEED = 20150914
# what the samples of each density are, in errors
WHAT = {"background": "background events", "foreground": "found injections"}


def _check_rates(
    background_years: float, mergers_per_year: float, weights: np.ndarray
) -> None:
    if not (np.isfinite(background_years) and background_years > 0):
        raise PAstroError(
            f"background time {background_years} yr: it must be positive"
        )
    if not (np.isfinite(mergers_per_year) and mergers_per_year >= 0):
        raise PAstroError(
            f"astrophysical rate {mergers_per_year} per year: it must not "
            "be negative"
        )
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise PAstroError("injection weights must be finite, >= 0")


def fit(
    background: np.ndarray,
    background_years: float,
    injections: np.ndarray,
    weights: np.ndarray,
    mergers_per_year: float,
    rate: float,
    population: str,
    tail_count: int | None = None,
    attrs: dict | None = None,
) -> PAstroModel:
    """Fit the background and foreground rate densities.

    Args:
        background: the time-slid background events' statistics, (B,).
        background_years: the background time they were found in (yr).
        injections: every injection draw's statistic, -inf where it was
            not found (rejected draws too), (N,).
        weights: every draw's weight to the population, (N,).
        mergers_per_year: R V0, the mergers per year in the volume the
            draws' redshifts span.
        rate: R (Gpc^-3 yr^-1), recorded with the model.
        population: the population's name, recorded with the model.
        tail_count: how many of the loudest samples of each set its
            tail is fitted to; None: ``density.tail_size``.
        attrs: more to record with the model.

    Raises:
        PAstroError: no background events, no injection found, a rate
            that is negative, or samples with no spread.
    """
    background = np.asarray(background, float)
    injections = np.asarray(injections, float)
    weights = np.asarray(weights, float)
    if background.size == 0:
        raise PAstroError(
            "there are no background events: the background's rate "
            "density cannot be fitted"
        )
    _check_rates(background_years, mergers_per_year, weights)
    if not weights.sum() > 0:
        raise PAstroError("no injection draw has weight in the population")
    found = np.isfinite(injections) & (weights > 0)
    if not found.any():
        raise PAstroError(
            "no injection was found: the foreground's rate density cannot "
            "be fitted"
        )
    shares = mergers_per_year * weights / weights.sum()
    samples = {
        "background": (
            background,
            np.full(background.size, 1 / background_years),
        ),
        "foreground": (injections[found], shares[found]),
    }
    # the foreground's rate may be 0 (R = 0); its density's shape is
    # fitted on the draws' weights, then scaled
    shapes = {
        "background": samples["background"][1],
        "foreground": weights[found],
    }
    bandwidths, tails, counts = {}, {}, {}
    for name, (x, _) in samples.items():
        what = WHAT[name]
        bandwidths[name] = density.bandwidth(x, shapes[name], what)
        counts[name] = tail_count or density.tail_size(x.size)
        tails[name] = density.tail(x, shapes[name], counts[name], what)
    widest, narrowest = max(bandwidths.values()), min(bandwidths.values())
    lowest = min(x.min() for x, _ in samples.values())
    top = max(start for start, _, _ in tails.values())
    low = lowest - density.KERNEL_REACH * widest
    high = top + density.KERNEL_REACH * widest
    step = max(
        narrowest / density.POINTS_PER_BANDWIDTH,
        (high - low) / (density.MAX_POINTS - 1),
    )
    # grid points at top - k step, so that the table ends at the top tail
    # start, and the kernel estimate reaches past it
    below = int(np.ceil((top - low) / step))
    above = int(np.ceil((high - top) / step))
    grid = top + step * np.arange(-below, above + 1)
    slopes = {name: slope for name, (_, _, slope) in tails.items()}
    slopes["foreground"] = min(slopes["foreground"], slopes["background"])
    logs = {}
    for name, (x, w) in samples.items():
        estimate = density.kernel_density(grid, x, w, bandwidths[name])
        start, _, fitted = tails[name]
        # the tail's rate density at its start, A lambda, in rates
        with np.errstate(divide="ignore"):
            at_start = np.log(w[x > start].sum() * fitted)
        logs[name] = density.with_tail(
            grid, estimate, start, at_start, slopes[name]
        )[: below + 1]
    record = {
        "Tb_years": background_years,
        "mergers_per_year": mergers_per_year,
        "num_background": background.size,
        "num_found": int(found.sum()),
        "num_draws": injections.size,
        **{f"{name}_tail_count": n for name, n in counts.items()},
        **{f"{name}_bandwidth": h for name, h in bandwidths.items()},
        **{f"{name}_tail_start": t[0] for name, t in tails.items()},
        **(attrs or {}),
    }
    return PAstroModel(
        grid[: below + 1],
        logs["background"],
        logs["foreground"],
        slopes["background"],
        slopes["foreground"],
        rate,
        population,
        record,
    )


def isotonic(
    values: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The weighted least-squares non-decreasing fit of ``values`` (pool
    adjacent violators), and whether each value was pooled with others.

    Args:
        values: (n,).
        weights: their weights, > 0, (n,).
    """
    means: list[float] = []
    sums: list[float] = []
    lengths: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(value)
        sums.append(weight)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            weight = sums[-2] + sums[-1]
            mean = (means[-2] * sums[-2] + means[-1] * sums[-1]) / weight
            means[-2:] = [mean]
            sums[-2:] = [weight]
            lengths[-2:] = [lengths[-2] + lengths[-1]]
    lengths_array = np.asarray(lengths)
    return (
        np.repeat(means, lengths_array),
        np.repeat(lengths_array > 1, lengths_array),
    )


class PAstro:
    """p_astro of any statistic, from a fitted model.

    Args:
        model: the tabulated rate densities.
    """

    def __init__(self, model: PAstroModel) -> None:
        self.model = model
        background = np.exp(model.background_log_density)
        foreground = np.exp(model.foreground_log_density)
        total = background + foreground
        events = total > 0
        # -inf - -inf where neither has events, which are left out
        with np.errstate(invalid="ignore"):
            ratio = model.foreground_log_density - model.background_log_density
        fitted, pooled = isotonic(
            foreground[events] / total[events], total[events]
        )
        with np.errstate(divide="ignore"):
            odds = np.where(
                pooled, np.log(fitted) - np.log1p(-fitted), ratio[events]
            )
        finite = odds[np.isfinite(odds)]
        # where there is no foreground, p_astro is 0: a log-odds far below
        # every finite one, so that interpolation stays monotonic; the
        # stretches without events take the value before them
        self.floor = min(finite.min(), 0.0) - 1000 if finite.size else -1e3
        table = np.full(total.shape, self.floor)
        table[events] = np.clip(odds, self.floor, -self.floor)
        last = np.maximum.accumulate(
            np.where(events, np.arange(events.size), 0)
        )
        table = np.where(events[last], table[last], self.floor)
        self.log_odds_table = np.maximum.accumulate(table)
        self.growth = model.background_slope - model.foreground_slope

    def log_odds(self, statistic) -> np.ndarray:
        """ln(Lf / Lb) at each statistic, made monotonic."""
        x = np.asarray(statistic, float)
        if np.isnan(x).any():
            raise PAstroError("a statistic is NaN: it has no p_astro")
        grid = self.model.statistic
        odds = np.atleast_1d(
            np.interp(x, grid, self.log_odds_table, left=self.floor)
        ).reshape(x.shape)
        beyond = x > grid[-1]
        odds[beyond] = self.log_odds_table[-1] + self.growth * (
            x[beyond] - grid[-1]
        )
        return odds

    def __call__(self, statistic) -> np.ndarray:
        """p_astro at each statistic (any shape; a float for a float)."""
        p = expit(self.log_odds(statistic))
        return float(p) if np.ndim(p) == 0 else p


def poisson_bounds(count: float) -> tuple[float, float]:
    """One-sigma (84%) lower and upper bounds on the mean of a Poisson
    count, by Gehrels' (1986, ApJ 303, 336) approximations, 0 and 1.87
    for a count of 0; for a count that is not whole (an effective
    count), the same formulas."""
    upper = count + np.sqrt(count + 0.75) + 1
    lower = count - np.sqrt(count - 0.25) if count >= 1 else 0.0
    return float(lower), float(upper)


def calibrate(
    background: np.ndarray,
    background_years: float,
    injections: np.ndarray,
    weights: np.ndarray,
    mergers_per_year: float,
    tail_count: int | None = None,
    bins: int = CALIBRATION_BINS,
    seed: int = CALIBRATION_SEED,
) -> Calibration:
    """Binned p_astro against the share of events that are injections,
    held out: the background events and the injection draws are split in
    random halves, a model fitted to each half gives the other half's
    events their p_astro, and in each p_astro bin the share of the
    events' rate that the found injections make (each event counting
    for the rate it stands for, as in ``fit``) is compared with their
    rate-weighted mean p_astro.  A calibrated p_astro has the two equal.

    A share F / (F + B), of the injections' rate F and the background's
    B in a bin, has for its one-sigma interval the shares of the bounds
    of the two (``poisson_bounds``): [F- / (F- + B+), F+ / (F+ + B-)].
    The background's count is Poisson; the injections', whose weights
    differ, is their effective count (sum v)^2 / sum v^2.  So a bin with
    injections and no background event is not "1 +- 0": one background
    event there would have weighed 1 / Tb.

    Raises:
        PAstroError: either half cannot be fitted (too few events).
    """
    background = np.asarray(background, float)
    injections = np.asarray(injections, float)
    weights = np.asarray(weights, float)
    _check_rates(background_years, mergers_per_year, weights)
    rng = np.random.default_rng(seed)
    halves = {
        "background": rng.permutation(background.size) % 2,
        "injections": rng.permutation(injections.size) % 2,
    }
    p_background = np.zeros(background.size)
    p_injections = np.zeros(injections.size)
    for half in (0, 1):
        fitted = halves["background"] != half
        drawn = halves["injections"] != half
        model = PAstro(
            fit(
                background[fitted],
                background_years / 2,
                injections[drawn],
                weights[drawn],
                mergers_per_year,
                0.0,
                "",
                tail_count,
            )
        )
        held = ~fitted
        p_background[held] = model(background[held])
        p_injections[~drawn] = model(injections[~drawn])
    found = np.isfinite(injections) & (weights > 0)
    p = np.concatenate([p_background, p_injections[found]])
    rates = np.concatenate(
        [
            np.full(background.size, 1 / background_years),
            mergers_per_year * weights[found] / weights.sum(),
        ]
    )
    astrophysical = np.concatenate(
        [np.zeros(background.size), np.ones(found.sum())]
    )
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    # a bin without injections could have held one of the mean weight
    typical = rates[background.size :].mean() if found.any() else 0.0
    mean, share, low, high = np.full((4, bins), np.nan)
    for k in range(bins):
        inside = index == k
        v, y = rates[inside], astrophysical[inside]
        total = v.sum()
        if not total > 0:
            continue
        mean[k] = np.sum(v * p[inside]) / total
        share[k] = np.sum(v * y) / total
        events = y == 1
        injected = v[events].sum()
        count = injected**2 / np.sum(v[events] ** 2) if injected else 0.0
        scale = injected / count if injected else typical
        f_low, f_high = (bound * scale for bound in poisson_bounds(count))
        b_low, b_high = (
            bound / background_years
            for bound in poisson_bounds(np.sum(~events))
        )
        low[k] = f_low / (f_low + b_high) if f_low else 0.0
        high[k] = f_high / (f_high + b_low) if f_high else 0.0
    return Calibration(
        edges,
        mean,
        share,
        low,
        high,
        np.bincount(index[: background.size], minlength=bins),
        np.bincount(index[background.size :], minlength=bins),
    )
