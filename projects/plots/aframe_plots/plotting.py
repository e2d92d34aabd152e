"""The report's figures, drawn with matplotlib's Agg canvas as PNG bytes.

Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas
rather than through pyplot, so no global backend or figure registry is
touched and nothing needs a display.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aframe_contracts.pastro import Calibration
from aframe_contracts.score import Score
from aframe_pastro.model import PAstro
from aframe_plots.efficiency import Efficiency
from aframe_plots.far import OperatingPoint, distinct_points
from aframe_plots.timing import TimingBin
from aframe_plots.volume import sensitive_distance


def _figure(columns: int) -> tuple[Figure, list]:
    figure = Figure(figsize=(5.5 * columns, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(1, columns, i + 1) for i in range(columns)]
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# the operating points' markers, one shape and colour each
MARKERS = ("o", "s", "^", "D")


def _mark_fars(ax, points: list[OperatingPoint]) -> None:
    for _, point, _ in distinct_points(points):
        ax.axvline(point.far, color="grey", ls=":", lw=1)


def far_plot(
    thresholds: np.ndarray,
    fars: np.ndarray,
    points: list[OperatingPoint],
) -> bytes:
    """``far_figure`` as PNG."""
    return _png(far_figure(thresholds, fars, points))


def far_figure(
    thresholds: np.ndarray,
    fars: np.ndarray,
    points: list[OperatingPoint],
) -> Figure:
    """FAR (per year) against the detection-statistic threshold.

    Args:
        thresholds: descending thresholds, (T,).
        fars: their FARs (per year), (T,).
        points: operating points, marked on the curve.
    """
    figure, (ax,) = _figure(1)
    ax.step(thresholds, fars, where="post", color="k")
    # one marker per distinct point, each of its own shape: targets
    # below 1 / Tb share the point of 1 / Tb and its label
    for number, (names, point, _) in enumerate(distinct_points(points)):
        ax.plot(
            point.threshold,
            point.far,
            MARKERS[number % len(MARKERS)],
            color=f"C{number}",
            markersize=8,
            label=f"{names}: {_far_label(point)}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("detection statistic threshold")
    ax.set_ylabel("FAR (1 / yr): background events louder / Tb")
    ax.legend()
    return figure


def _far_label(point: OperatingPoint) -> str:
    mark = "" if point.supported else " (lowest supported)"
    return f"FAR {point.far:.3g} / yr{mark}"


def volume_plot(
    fars: np.ndarray,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    points: list[OperatingPoint],
) -> bytes:
    """Sensitive volume and sensitive distance against FAR.

    Args:
        fars: FAR of each threshold (per year), (T,).
        curves: per population, the volume and its error (Gpc^3), (T,).
        points: operating points, marked as vertical lines.
    """
    figure, (left, right) = _figure(2)
    for name, (volume, error) in curves.items():
        (line,) = left.plot(fars, volume, label=name)
        left.fill_between(
            fars,
            volume - error,
            volume + error,
            color=line.get_color(),
            alpha=0.25,
        )
        right.plot(fars, sensitive_distance(volume), color=line.get_color())
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("FAR (1 / yr)")
        _mark_fars(ax, points)
    left.set_ylabel("sensitive volume (Gpc$^3$)")
    right.set_ylabel("sensitive distance (Mpc)")
    left.legend(title="population (m1-m2)")
    return _png(figure)


def efficiency_plot(
    by_snr: Efficiency,
    by_distance: Efficiency,
    snr_threshold: float,
    point: OperatingPoint,
) -> bytes:
    """Found fraction of the draws against network SNR and distance.

    Args:
        by_snr: efficiency in bins of network optimal SNR.
        by_distance: efficiency in bins of luminosity distance (Mpc).
        snr_threshold: the injection SNR threshold, marked.
        point: the operating point the efficiency is at.
    """
    figure, (left, right) = _figure(2)
    for ax, binned, log in ((left, by_snr, True), (right, by_distance, False)):
        centre = (
            np.sqrt(binned.lower * binned.upper)
            if log
            else (binned.lower + binned.upper) / 2
        )
        ax.errorbar(
            centre,
            binned.efficiency,
            yerr=binned.error,
            xerr=(centre - binned.lower, binned.upper - centre),
            fmt="o",
            ms=3,
        )
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("efficiency (found / drawn)")
    left.set_xscale("log")
    left.axvline(snr_threshold, color="grey", ls=":", label="SNR threshold")
    left.set_xlabel("network optimal SNR")
    left.legend()
    right.set_xlabel("luminosity distance (Mpc)")
    figure.suptitle(f"at threshold {point.threshold:.4g}, {_far_label(point)}")
    return _png(figure)


def timing_plot(bins: list[TimingBin], window: float | None) -> bytes:
    """Histograms of event time - coalescence time, one per SNR bin.

    Args:
        bins: the found injections' residuals, by SNR.
        window: the time window events were matched in (s), shaded.
    """
    figure, axes = _figure(len(bins))
    figure.set_size_inches(3.6 * len(bins), 3.4)
    limit = max(
        [window or 0.0]
        + [float(np.abs(b.residuals).max()) for b in bins if b.residuals.size]
    )
    edges = np.linspace(-1.2 * limit, 1.2 * limit, 49) if limit > 0 else 41
    for ax, timing in zip(axes, bins, strict=True):
        if window is not None:
            ax.axvspan(-window, window, color="C2", alpha=0.12, lw=0)
        if timing.residuals.size:
            ax.hist(timing.residuals, bins=edges, color="C0")
            ax.axvline(timing.median, color="k", lw=1.2, label="median")
            for side in (-1, 1):
                ax.axvline(
                    side * timing.spread,
                    color="C3",
                    ls="--",
                    lw=1,
                    label="95%" if side > 0 else None,
                )
            ax.set_title(
                f"{timing.label}: {timing.residuals.size} found\n"
                f"median {timing.median:+.3f} s, "
                f"95% in ±{timing.spread:.3f} s",
                fontsize=9,
            )
        else:
            ax.set_title(f"{timing.label}: none found", fontsize=9)
        ax.set_xlabel("event time - coalescence time (s)")
    axes[0].set_ylabel("found injections")
    axes[-1].legend(fontsize=8)
    return _png(figure)


def mlgwsc_plot(score: Score) -> bytes:
    """An MLGWSC-1 score: sensitive distance against FAR (evaluate.py's),
    and the injections found and missed at the lowest FAR the background
    resolves against their optimal network SNR."""
    figure, (left, right) = _figure(2)
    order = np.argsort(score.far)
    # evaluate.py gives the loudest background event's threshold FAR 0:
    # the background resolves one per its duration, drawn there
    far = np.maximum(score.far[order], score.lowest_far)
    distance = score.distance[order]
    error = score.distance_error[order]
    left.step(far, distance, where="post", color="C0")
    left.fill_between(
        far, distance - error, distance + error, step="post", alpha=0.25
    )
    left.axvline(
        score.lowest_far,
        color="grey",
        ls=":",
        label=f"lowest FAR resolved: {score.lowest_far:.3g} / month",
    )
    left.set_xscale("log")
    left.set_xlabel("FAR (1 / month)")
    left.set_ylabel("sensitive distance (Mpc)")
    left.legend()

    snr = np.maximum(score.snr, 0.5)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, snr.size)
    for found, colour, label in (
        (False, "C3", "missed"),
        (True, "C2", "found"),
    ):
        rows = score.found == found
        right.scatter(
            snr[rows], found + jitter[rows], s=10, color=colour, label=label
        )
    right.set_xscale("log")
    right.set_yticks([0, 1], ["missed", "found"])
    right.set_xlabel("optimal network SNR (from foreground - background)")
    figure.suptitle(
        f"MLGWSC-1 {score.name}: at the lowest FAR, {score.found.sum()} "
        f"of {score.found.size} injections found"
    )
    return _png(figure)


def p_astro_plot(calibration: Calibration, p_astro: PAstro) -> bytes:
    """Left: the held-out calibration, the share of each p_astro bin's
    rate that injections make against its mean p_astro, with the
    diagonal a calibrated p_astro lies on.  Right: p_astro against the
    statistic, over the fitted grid and a little beyond."""
    figure, (left, right) = _figure(2)
    left.plot([0, 1], [0, 1], color="gray", linestyle="--", label="calibrated")
    populated = np.isfinite(calibration.fraction)
    share = calibration.fraction[populated]
    left.errorbar(
        calibration.p_astro[populated],
        share,
        # the one-sigma interval, which need not hold the share's centre
        yerr=np.clip(
            [
                share - calibration.low[populated],
                calibration.high[populated] - share,
            ],
            0,
            None,
        ),
        marker="o",
        linestyle="none",
        capsize=3,
        label="held-out events",
    )
    left.set_xlim(0, 1)
    left.set_ylim(-0.02, 1.02)
    left.set_xlabel("mean p_astro in the bin")
    left.set_ylabel("share of the rate from injections")
    left.legend(loc="upper left")
    grid = p_astro.model.statistic
    span = grid[-1] - grid[0]
    x = np.linspace(grid[0], grid[-1] + 0.25 * span, 2000)
    right.plot(x, p_astro(x))
    right.set_xlabel("detection statistic")
    right.set_ylabel("p_astro")
    right.set_ylim(-0.02, 1.02)
    return _png(figure)
