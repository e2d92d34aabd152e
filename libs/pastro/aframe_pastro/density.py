"""Rate densities of the detection statistic from weighted samples.

A rate density rho(x) counts events per year per unit statistic: each
sample stands for a rate (a background event for 1 / Tb, an injection
for its share of the astrophysical rate), and

    rho(x) = sum_i w_i K_h(x - x_i)             for x <= x_t,
    rho(x) = A lambda exp(-lambda (x - x_t))     for x > x_t,

a Gaussian kernel density estimate in the bulk and an exponential tail
beyond x_t, the statistic of the k-th loudest sample (``tail_size``).  The
tail is there because the loudest samples are few: a kernel estimate
there is a row of bumps resting on a handful of samples each, and
beyond the loudest sample it falls like a Gaussian, faster than any
background, while events louder than every one seen are rare, not
impossible.  The exponential is the simplest tail that extrapolates;
its slope and its rate A are fitted by maximum likelihood to the samples above
x_t (a Poisson process of exponential excesses),

    A = sum w,    lambda = sum w / sum w (x - x_t),

the rate above x_t and the weighted mean excess's inverse.  The tail is
not forced to meet the kernel estimate at x_t: the estimate there rests
on a few samples, the count above x_t on k.

The kernel estimate is binned (the samples spread linearly onto a
uniform grid and convolved with the sampled kernel, cut at 6 h), so a
year of background, millions of events, costs a histogram.
"""

import numpy as np
from scipy.signal import fftconvolve

from aframe_pastro.errors import PAstroError

# the kernel is cut at this many bandwidths: exp(-18) of its peak
KERNEL_REACH = 6.0
# the tail holds this share of the samples, within these bounds
TAIL_FRACTION, TAIL_MIN, TAIL_MAX = 0.01, 20, 1000
# grid points per bandwidth, and the most grid points a table has
POINTS_PER_BANDWIDTH = 8
MAX_POINTS = 1 << 16


def effective_samples(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    return float(weights.sum() ** 2 / np.sum(weights**2))


def bandwidth(
    x: np.ndarray, weights: np.ndarray, what: str = "samples"
) -> float:
    """The normal-reference bandwidth 1.06 sigma n^(-1/5), with the
    weighted standard deviation and Kish's effective n.

    Raises:
        PAstroError: every sample has the same statistic.
    """
    mean = np.average(x, weights=weights)
    sigma = np.sqrt(np.average((x - mean) ** 2, weights=weights))
    if not sigma > 0:
        raise PAstroError(
            f"all {x.size} {what} have the statistic {x[0]:g}: a density "
            "needs a spread"
        )
    return 1.06 * sigma * effective_samples(weights) ** -0.2


def tail_size(count: int) -> int:
    """How many of ``count`` samples the tail is fitted to: the loudest
    1%, at least 20 (a slope from fewer is a guess) and at most 1000 (the
    statistic's far tail, where p_astro is decided, need not fall like
    its shoulder), and never more than there are."""
    wanted = round(TAIL_FRACTION * count)
    return min(count, max(TAIL_MIN, min(TAIL_MAX, wanted)))


def tail(
    x: np.ndarray, weights: np.ndarray, tail_count: int, what: str = "samples"
) -> tuple[float, float, float]:
    """The tail's start x_t, the ``tail_count``-th loudest sample (the
    quietest when there are fewer), its rate A above x_t and its slope
    lambda.

    Raises:
        PAstroError: no sample lies above x_t (the loudest are tied).
    """
    start = float(np.sort(x)[::-1][min(tail_count, x.size) - 1])
    above = x > start
    excess = np.sum(weights[above] * (x[above] - start))
    if not excess > 0:
        raise PAstroError(
            f"the loudest {min(tail_count, x.size)} {what} all have the "
            f"statistic {start:g}: no tail can be fitted above it"
        )
    total = float(weights[above].sum())
    return start, total, total / excess


def kernel_density(
    grid: np.ndarray, x: np.ndarray, weights: np.ndarray, h: float
) -> np.ndarray:
    """sum_i w_i K_h(grid - x_i) on a uniform ascending grid, binned.

    Samples beyond the grid's ends, which the cut kernel cannot carry
    onto it, are left out.
    """
    step = grid[1] - grid[0]
    position = (x - grid[0]) / step
    inside = (position >= 0) & (position <= grid.size - 1)
    position, weights = position[inside], weights[inside]
    left = np.minimum(np.floor(position).astype(int), grid.size - 2)
    share = position - left
    binned = np.bincount(left, weights * (1 - share), minlength=grid.size)
    binned += np.bincount(left + 1, weights * share, minlength=grid.size)
    reach = int(np.ceil(KERNEL_REACH * h / step))
    offsets = np.arange(-reach, reach + 1) * step
    kernel = np.exp(-0.5 * (offsets / h) ** 2)
    kernel /= kernel.sum() * step
    density = fftconvolve(binned, kernel, mode="same")
    # fftconvolve's round-off leaves tiny negatives where there is nothing
    return np.where(density > 1e-12 * density.max(), density, 0.0)


def with_tail(
    grid: np.ndarray,
    density: np.ndarray,
    start: float,
    at_start: float,
    slope: float,
) -> np.ndarray:
    """ln rho on the grid: ln of the kernel estimate up to the tail's
    start x_t, ``at_start`` - slope (x - x_t) beyond."""
    with np.errstate(divide="ignore"):
        log_density = np.log(density)
    beyond = grid > start
    log_density[beyond] = at_start - slope * (grid[beyond] - start)
    return log_density
