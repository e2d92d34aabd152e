"""The run report: sensitive volume, efficiencies and background, as files.

``make_report`` writes into its output directory

- ``sensitive_volume.h5``: datasets ``thresholds`` (descending detection
  statistic: background statistics, at most 1000, see
  ``far.threshold_grid``) and ``fars`` (per year); a group per population,
  each mass combination ``"<m1>-<m2>"`` and ``"prior"`` (the sampling
  population), with datasets ``sv`` and ``err`` (Gpc^3) and ``sd`` (Mpc),
  or, where a population's volume cannot be given, none and an attribute
  ``message``;
- ``far.png``, ``sensitive_volume.png``, ``efficiency.png``,
  ``timing.png`` (event time - coalescence time of the found injections);
- ``report.html``, last: one self-contained page (the figures embedded),
  whose existence marks the report complete.
"""

import base64
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents
from aframe_contracts.files import atomic_hdf5, write_atomic
from aframe_data.priors import get_prior
from aframe_infer.score import SNR_EDGES, Score, found_by_snr, read_score
from aframe_plots import plotting
from aframe_plots.efficiency import bin_edges, binned_efficiency
from aframe_plots.errors import PlotsError
from aframe_plots.far import (
    PER_MONTH,
    PER_YEAR,
    OperatingPoint,
    background_years,
    far,
    operating_point,
    threshold_grid,
)
from aframe_plots.io import Draws, read_draws
from aframe_plots.timing import TimingBin, timing_bins
from aframe_plots.volume import (
    LogNormalPopulation,
    MassDensity,
    astrophysical_volume,
    effective_draws,
    importance_weights,
    sampling_density,
    sensitive_distance,
    sensitive_volume,
)

logger = logging.getLogger("aframe_plots")

MASS_COMBOS = ((35.0, 35.0), (35.0, 20.0), (20.0, 20.0), (20.0, 10.0))
# the table's FARs (per year), by name
TARGETS = {"1 / month": PER_MONTH, "1 / year": PER_YEAR}
# a population with more of its probability outside the sampled masses
# gets no volume: the reweighted estimate leaves that part out
MIN_COVERAGE = 0.99
# fewer effective draws than this make a noisy volume, which is flagged
MIN_EFFECTIVE_DRAWS = 100
LOUDEST = 10
EFFICIENCY_BINS = 20
PLOTS = ("far.png", "sensitive_volume.png", "efficiency.png", "timing.png")
# a table cell: its escaped content, or that and the columns it spans
Cell = str | tuple[str, int]


@dataclass
class Population:
    """A target population and what its reweighting gives.

    Args:
        name: ``"<m1>-<m2>"`` or ``"prior"``.
        coverage: fraction of its probability in the sampled masses.
        message: why it has no volume, or None.
        effective_draws: Kish's effective number of weighted draws.
        volume: V and δV (Gpc^3) at each threshold of the curve, (T,).
        at_points: (V, δV) (Gpc^3) at each operating point.
    """

    name: str
    coverage: float
    message: str | None = None
    effective_draws: float = 0.0
    volume: tuple[np.ndarray, np.ndarray] | None = None
    at_points: list[tuple[float, float]] | None = None


def _targets(
    mass_combos: Sequence[Sequence[float]], sigma: float, sampling: MassDensity
) -> list[tuple[str, MassDensity, float]]:
    """(name, density, coverage) of the sampling prior and each combo."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise PlotsError(f"sigma = {sigma}: it must be positive")
    targets = [("prior", sampling, 1.0)]
    for combo in mass_combos:
        if len(combo) != 2 or not all(np.isfinite(m) and m > 0 for m in combo):
            raise PlotsError(
                f"mass combo {combo}: give two positive masses [m1, m2]"
            )
        if combo[1] > combo[0]:
            raise PlotsError(f"mass combo {combo}: m2 must not exceed m1")
        population = LogNormalPopulation(combo[0], combo[1], sigma)
        if population.name in [name for name, _, _ in targets]:
            raise PlotsError(f"mass combo {combo} is given twice")
        coverage = population.coverage(sampling)
        targets.append((population.name, population, coverage))
    return targets


def _population(
    name: str,
    density: MassDensity,
    coverage: float,
    draws: Draws,
    sampling: MassDensity,
    v0: float,
    thresholds: np.ndarray,
    points: list[OperatingPoint],
) -> Population:
    if coverage < MIN_COVERAGE:
        return Population(
            name,
            coverage,
            f"{100 * (1 - coverage):.1f}% of its probability lies outside "
            f"the masses the prior {draws.prior} sampled, where there are "
            "no draws: its volume would be biased low and is not given",
        )
    if draws.snr.size == 0:
        return Population(name, coverage, "there are no injection draws")
    weights = importance_weights(
        density, sampling, draws.mass_1_source, draws.mass_2_source
    )
    if not weights.sum() > 0:
        return Population(name, coverage, "no draw has weight in it")
    volume = sensitive_volume(draws.statistic, weights, thresholds, v0)
    at = sensitive_volume(
        draws.statistic,
        weights,
        np.array([point.threshold for point in points]),
        v0,
    )
    return Population(
        name,
        coverage,
        effective_draws=effective_draws(weights),
        volume=volume,
        at_points=list(zip(*at, strict=True)),
    )


def _write_volumes(
    path: Path,
    thresholds: np.ndarray,
    fars: np.ndarray,
    populations: list[Population],
    attrs: dict,
) -> None:
    with atomic_hdf5(path) as f:
        f.attrs.update(attrs)
        f.create_dataset("thresholds", data=thresholds)
        f.create_dataset("fars", data=fars)
        for population in populations:
            group = f.create_group(population.name)
            group.attrs["coverage"] = population.coverage
            group.attrs["effective_draws"] = population.effective_draws
            if population.volume is None:
                group.attrs["message"] = population.message
                continue
            volume, error = population.volume
            group.create_dataset("sv", data=volume)
            group.create_dataset("err", data=error)
            group.create_dataset("sd", data=sensitive_distance(volume))


def make_report(
    background: Path,
    foreground: Path,
    output_dir: Path,
    mass_combos: Sequence[Sequence[float]] = MASS_COMBOS,
    sigma: float = 0.1,
    config_files: Sequence[Path] = (),
    title: str = "aframe search",
    mlgwsc_scores: Sequence[Path] = (),
) -> Path:
    """Write the sensitive volume, its figures and the HTML report.

    Outputs in ``output_dir``: ``sensitive_volume.h5``, ``far.png``,
    ``sensitive_volume.png``, ``efficiency.png``, ``timing.png`` and,
    last, ``report.html``.

    Args:
        background: HDF5 of the time-slid background events:
            detection_statistic, detection_time (GPS s), shift (s) and
            attribute Tb (s) (a ``background-events`` file).
        foreground: HDF5 of the injection draws (a ``foreground-events``
            file): parameters/ (analysed, with detection_statistic),
            rejected/, attributes prior, num_draws, snr_threshold, ifos
            (see ``read_draws``).
        output_dir: where the outputs go; created if missing.
        mass_combos: source-frame [m1, m2] (solar masses) of log-normal
            target populations, m2 <= m1.
        sigma: the populations' width in ln m.
        config_files: text files shown verbatim in the report.
        title: the report's title.
        mlgwsc_scores: MLGWSC-1 score.hdf5 files of the model
            (``aframe-infer mlgwsc-score``), shown in a section of their
            own, each figure also as ``mlgwsc-dataset<d>-<T>-<seed>.png``.

    Returns:
        the path of ``report.html``.

    Raises:
        ContractError: an input file is missing or of another layout.
        PlotsError: bad input, with what is wrong and where.
    """
    configs = {}
    for path in config_files:
        if not Path(path).is_file():
            raise PlotsError(f"the config file {path} does not exist")
        configs[str(path)] = Path(path).read_text(errors="replace")
    events = BackgroundEvents.read(background)
    draws = read_draws(foreground)
    try:
        scores = [read_score(path) for path in mlgwsc_scores]
    except DataError as error:
        raise PlotsError(str(error)) from None
    if events.statistic.size and events.shift.shape[1] != len(draws.ifos):
        raise PlotsError(
            f"{background}: {events.shift.shape[1]} shifts per event, but "
            f"{foreground} has {len(draws.ifos)} ifos {draws.ifos}"
        )
    try:
        prior = get_prior(draws.prior)
    except DataError as error:
        raise PlotsError(f"{foreground}: {error}") from None
    sampling = sampling_density(prior)
    v0 = astrophysical_volume(prior)
    targets = _targets(mass_combos, sigma, sampling)
    logger.info(
        "%d background events in %.0f s; %d injections analysed of %d draws",
        events.statistic.size,
        events.Tb,
        draws.num_analysed,
        draws.snr.size,
    )

    thresholds = threshold_grid(events.statistic)
    fars = far(thresholds, events.statistic, events.Tb)
    points = []
    if events.statistic.size:
        points = [
            operating_point(events.statistic, events.Tb, rate)
            for rate in TARGETS.values()
        ]
    populations = [
        _population(*target, draws, sampling, v0, thresholds, points)
        for target in targets
    ]
    # found at the 1 / month operating point (TARGETS lists it first)
    found = (
        draws.statistic >= points[0].threshold
        if points
        else np.zeros(draws.snr.size, bool)
    )
    timing = timing_bins(draws.residual, draws.snr, found)

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # a report left by an earlier run must not mark this one complete
    (output_dir / "report.html").unlink(missing_ok=True)
    window = (
        {} if draws.time_window is None else {"time_window": draws.time_window}
    )
    _write_volumes(
        output_dir / "sensitive_volume.h5",
        thresholds,
        fars,
        populations,
        {
            **window,
            "Tb": events.Tb,
            "V0": v0,
            "prior": draws.prior,
            "sigma": sigma,
            "units": "fars: 1/yr; sv, err: Gpc^3; sd: Mpc",
        },
    )
    problem = _problem(events, draws, thresholds)
    figures = _figures(
        events, draws, thresholds, fars, points, populations, problem
    )
    figures["timing.png"] = (
        plotting.timing_plot(timing, draws.time_window)
        if any(b.residuals.size for b in timing)
        else "No injection was found at the 1 / month operating point with "
        "its event time recorded."
    )
    for name in PLOTS:
        if isinstance(figures[name], bytes):
            write_atomic(output_dir / name, figures[name])
        else:
            (output_dir / name).unlink(missing_ok=True)
    challenge = [(score, plotting.mlgwsc_plot(score)) for score in scores]
    for score, figure in challenge:
        name = f"mlgwsc-dataset{score.dataset}-{score.duration:.0f}"
        write_atomic(output_dir / f"{name}-{score.seed}.png", figure)
    page = _page(
        title,
        events,
        draws,
        v0,
        sigma,
        points,
        populations,
        figures,
        problem,
        _warnings(draws, populations),
        configs,
        timing,
        challenge,
    )
    path = output_dir / "report.html"
    write_atomic(path, page.encode())
    logger.info("wrote %s", path)
    return path


def _problem(
    events: BackgroundEvents, draws: Draws, thresholds: np.ndarray
) -> str | None:
    """Why there is no sensitive volume or efficiency, or None."""
    if events.statistic.size == 0:
        return (
            f"The background has no events in Tb = {events.Tb:.6g} s: no "
            "threshold has a FAR estimate, so there is no FAR curve, "
            "sensitive volume or efficiency."
        )
    if draws.snr.size == 0:
        return "The foreground file has no injection draws."
    if not (draws.statistic >= thresholds.min()).any():
        return (
            "No injection was found: none has a detection statistic at or "
            f"above the quietest background event ({thresholds.min():.4g}), "
            "so the sensitive volume is 0 at every FAR of the curve and "
            "there is no efficiency to plot."
        )
    return None


def _warnings(draws: Draws, populations: list[Population]) -> list[str]:
    """What makes the numbers less trustworthy, or leaves some out."""
    warnings = []
    if draws.num_draws != draws.snr.size:
        warnings.append(
            f"The foreground file records {draws.num_draws} draws but holds "
            f"{draws.num_analysed} analysed and "
            f"{draws.snr.size - draws.num_analysed} rejected: draws missing "
            "from it (accepted injections never analysed, say) bias the "
            "sensitive volume."
        )
    for population in populations:
        if population.message is not None:
            warnings.append(
                f"Population {population.name}: {population.message}."
            )
        elif population.effective_draws < MIN_EFFECTIVE_DRAWS:
            warnings.append(
                f"Population {population.name}: only "
                f"{population.effective_draws:.0f} effective draws, so its "
                "volume is noisy."
            )
    return warnings


def _figures(
    events: BackgroundEvents,
    draws: Draws,
    thresholds: np.ndarray,
    fars: np.ndarray,
    points: list[OperatingPoint],
    populations: list[Population],
    problem: str | None,
) -> dict[str, bytes | str]:
    """Each figure as PNG bytes, or the reason it is missing."""
    if events.statistic.size == 0:
        return dict.fromkeys(PLOTS, problem)
    figures = {
        "far.png": plotting.far_plot(thresholds, fars, points),
        "sensitive_volume.png": problem,
        "efficiency.png": problem,
    }
    if problem is not None:
        return figures
    curves = {
        population.name: population.volume
        for population in populations
        if population.volume is not None
    }
    figures["sensitive_volume.png"] = (
        plotting.volume_plot(fars, curves, points)
        if curves
        else "No population has a sensitive volume (see the warnings)."
    )
    snr_edges = bin_edges(draws.snr, EFFICIENCY_BINS, log=True)
    distance_edges = bin_edges(
        draws.luminosity_distance, EFFICIENCY_BINS, log=False
    )
    if snr_edges is None or distance_edges is None:
        figures["efficiency.png"] = "No draw has a positive SNR to bin."
        return figures
    month = points[0]  # TARGETS lists 1 / month first
    found = draws.statistic >= month.threshold
    figures["efficiency.png"] = plotting.efficiency_plot(
        binned_efficiency(draws.snr, found, snr_edges),
        binned_efficiency(draws.luminosity_distance, found, distance_edges),
        draws.snr_threshold,
        month,
    )
    return figures


STYLE = """
body { font-family: sans-serif; max-width: 1200px; margin: 2em auto; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }
th { background: #eee; }
.message { background: #fff3cd; border: 1px solid #e0c060; padding: 0.6em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; }
"""


def _escape(value: object) -> str:
    return html.escape(str(value))


def _table(header: list[str] | None, rows: list[list[Cell]]) -> str:
    """An HTML table of already escaped cells, with a header row or not."""
    lines = ["<table>"]
    if header is not None:
        lines.append(_row("th", header))
    lines += [_row("td", row) for row in rows]
    return "\n".join([*lines, "</table>"])


def _row(tag: str, cells: list[Cell]) -> str:
    parts = []
    for cell in cells:
        text, span = (cell, 1) if isinstance(cell, str) else cell
        spans = f' colspan="{span}"' if span > 1 else ""
        parts.append(f"<{tag}{spans}>{text}</{tag}>")
    return "<tr>" + "".join(parts) + "</tr>"


def _message(text: str) -> str:
    return f'<p class="message">{_escape(text)}</p>'


def _figure(figure: bytes | str, alt: str) -> str:
    if isinstance(figure, str):
        return _message(figure)
    data = base64.b64encode(figure).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{_escape(alt)}">'


def _volume_cell(volume: float, error: float) -> list[str]:
    """V ± δV (Gpc^3) and the sensitive distance D ± δD (Mpc)."""
    distance = float(sensitive_distance(volume))
    # δD = D δV / (3 V), from D ∝ V^(1/3)
    spread = distance * error / (3 * volume) if volume > 0 else 0.0
    return [f"{volume:.3g} ± {error:.2g}", f"{distance:.0f} ± {spread:.0f}"]


def _volume_table(
    points: list[OperatingPoint], populations: list[Population], Tb: float
) -> str:
    header = ["population (m1-m2)", "mass coverage", "effective draws"]
    for label, point in zip(TARGETS, points, strict=True):
        mark = "" if point.supported else " †"
        at = (
            f"FAR {label}{mark}: {point.far:.3g} / yr, threshold "
            f"{point.threshold:.4g}"
        )
        header += [f"V (Gpc³) at {_escape(at)}", "D (Mpc)"]
    rows = []
    for population in populations:
        row: list[Cell] = [
            _escape(population.name),
            f"{population.coverage:.3f}",
            f"{population.effective_draws:.0f}",
        ]
        if population.at_points is None:
            # the message spans the V and D columns of every FAR
            row.append((_escape(population.message), 2 * len(points)))
        else:
            for volume, error in population.at_points:
                row += _volume_cell(volume, error)
        rows.append(row)
    notes = ""
    if not all(point.supported for point in points):
        notes = (
            "<p>† the background (Tb = "
            f"{background_years(Tb):.3g} yr) is too short for this FAR: "
            "the table gives the lowest FAR it supports, 1 / Tb.</p>"
        )
    return _table(header, rows) + notes


def _window_text(draws: Draws) -> str:
    if draws.time_window is None:
        return "not recorded"
    return f"±{draws.time_window:.3f} s (the model's calibrated window)"


def _timing_table(timing: list[TimingBin]) -> str:
    header = ["network SNR", "found", "median (s)", "95% within ± (s)"]
    rows = [
        [
            _escape(b.label),
            str(b.residuals.size),
            f"{b.median:+.3f}" if b.residuals.size else "",
            f"{b.spread:.3f}" if b.residuals.size else "",
        ]
        for b in timing
    ]
    return _table(header, rows)


def _mlgwsc_section(challenge: list[tuple[Score, bytes]]) -> list[str]:
    """The MLGWSC-1 scores: a table at the lowest FAR, and the figures."""
    header = [
        "set",
        "lowest FAR resolved (1 / month)",
        "sensitive distance there (Mpc)",
        "var (s)",
    ]
    header += [
        f"found at SNR {lower:g}-{upper:g}"
        if np.isfinite(upper)
        else f"found at SNR ≥ {lower:g}"
        for lower, upper in zip(SNR_EDGES[:-1], SNR_EDGES[1:], strict=True)
    ]
    rows = []
    for score, _ in challenge:
        best = score.loudest
        rows.append(
            [
                _escape(score.name),
                f"{score.lowest_far:.3g}",
                f"{score.distance[best]:.0f} ± "
                f"{score.distance_error[best]:.0f}",
                f"{score.var:.3f}",
                *(f"{hits}/{n}" for _, _, hits, n in found_by_snr(score)),
            ]
        )
    parts = [
        "<h2>MLGWSC-1</h2>",
        "<p>The model on sets made by the first Machine Learning "
        "Gravitational-Wave Search Mock Data Challenge's own generator, "
        "scored by its evaluate.py: an event finds an injection within "
        "var of its coalescence.  The background of a set resolves FARs "
        "down to one per its duration; the table gives the sensitive "
        "distance there, and the injections found there by optimal "
        "network SNR, measured as foreground - background.</p>",
        _table(header, rows),
    ]
    parts += [_figure(figure, f"MLGWSC-1 {s.name}") for s, figure in challenge]
    return parts


def _loudest_table(events: BackgroundEvents, ifos: list[str]) -> str:
    if events.statistic.size == 0:
        return _message("There are no background events.")
    order = np.argsort(events.statistic, kind="stable")[::-1][:LOUDEST]
    rates = far(events.statistic[order], events.statistic, events.Tb)
    header = ["rank", "GPS time (s)"]
    header += [f"shift {_escape(ifo)} (s)" for ifo in ifos]
    header += ["statistic", "FAR (1 / yr)"]
    rows = [
        [
            str(rank + 1),
            f"{events.time[i]:.3f}",
            *(f"{shift:g}" for shift in events.shift[i]),
            f"{events.statistic[i]:.6g}",
            f"{rate:.3g}",
        ]
        for rank, (i, rate) in enumerate(zip(order, rates, strict=True))
    ]
    return _table(header, rows)


METHOD = """
<h2>Method</h2>
<p>FAR(threshold) = (background events with statistic &ge; threshold) / Tb,
floored at 1 / Tb, in events per Julian year (365.25 days).</p>
<p>Every draw of the sampling prior, injected or rejected (rejected draws
are under the SNR threshold and count as not found), is weighted to a target
population by its source-frame masses, w = p<sub>target</sub>(m1, m2) /
p<sub>prior</sub>(m1, m2); every other parameter, the redshift included
(p(z) &prop; dV<sub>c</sub>/dz / (1 + z)), has the prior's distribution in
both, so its density cancels.  Targets are log-normal in m1 and m2 (width
&sigma; in ln m) restricted to m2 &le; m1.  V = V<sub>0</sub> &Sigma; w f /
&Sigma; w, with f = [statistic &ge; threshold] and V<sub>0</sub> =
4&pi; &int; dV<sub>c</sub>/dz / (1 + z) dz over the prior's redshifts
(Planck15); its error is the delta-method importance-sampling error
V<sub>0</sub> (&Sigma; w&sup2; (f - &mu;)&sup2;)<sup>1/2</sup> / &Sigma; w,
&mu; = &Sigma; w f / &Sigma; w.  The sensitive distance is the radius of a
sphere of volume V.  Mass coverage is the fraction of a target population
inside the masses the prior sampled; effective draws are
(&Sigma; w)&sup2; / &Sigma; w&sup2;.</p>
"""


def _page(
    title: str,
    events: BackgroundEvents,
    draws: Draws,
    v0: float,
    sigma: float,
    points: list[OperatingPoint],
    populations: list[Population],
    figures: dict[str, bytes | str],
    problem: str | None,
    warnings: list[str],
    configs: dict[str, str],
    timing: list[TimingBin],
    challenge: list[tuple[Score, bytes]],
) -> str:
    summary = [
        [
            "background time Tb",
            f"{events.Tb:.6g} s = {background_years(events.Tb):.4g} yr",
        ],
        ["background events", str(events.statistic.size)],
        ["injections analysed", str(draws.num_analysed)],
        [
            "draws rejected (SNR under threshold)",
            str(draws.snr.size - draws.num_analysed),
        ],
        ["draws recorded (num_draws)", str(draws.num_draws)],
        ["SNR threshold", f"{draws.snr_threshold:g}"],
        ["time window (event - coalescence)", _window_text(draws)],
        ["interferometers", _escape(", ".join(draws.ifos))],
        ["sampling prior", _escape(draws.prior)],
        ["V0 (the prior's volume)", f"{v0:.4g} Gpc³"],
        ["population width sigma (ln m)", f"{sigma:g}"],
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_escape(title)}</title><style>{STYLE}</style></head>",
        f"<body><h1>{_escape(title)}</h1>",
        _table(None, summary),
    ]
    if warnings:
        parts.append("<h2>Warnings</h2><ul>")
        parts += [f'<li class="message">{_escape(w)}</li>' for w in warnings]
        parts.append("</ul>")
    parts.append("<h2>Sensitive volume</h2>")
    parts.append(
        "<p>An injection is found at a threshold when an event at or above "
        "it lies within the time window of its coalescence time, "
        f"{_window_text(draws)}, and the injection is the nearest to the "
        "event.</p>"
    )
    if problem is None:
        parts.append(_volume_table(points, populations, events.Tb))
    else:
        parts.append(_message(problem))
    parts.append(_figure(figures["sensitive_volume.png"], "sensitive volume"))
    parts.append("<h2>Efficiency</h2>")
    parts.append(
        "<p>The found fraction of the sampling prior's draws, injected and "
        "rejected, at the 1 / month operating point, in bins of network "
        "optimal SNR and of luminosity distance; binomial error bars.</p>"
    )
    parts.append(_figure(figures["efficiency.png"], "efficiency"))
    parts.append("<h2>Event times</h2>")
    parts.append(
        "<p>Event time - coalescence time of the injections found at the "
        "1 / month operating point, by network optimal SNR: the median, "
        "the half-width that holds 95% of them (dashed) and the time "
        f"window events were matched in (shaded, {_window_text(draws)}).</p>"
    )
    parts.append(_figure(figures["timing.png"], "event-time residuals"))
    parts.append(_timing_table(timing))
    if challenge:
        parts += _mlgwsc_section(challenge)
    parts.append("<h2>Background</h2>")
    parts.append(_figure(figures["far.png"], "FAR against threshold"))
    parts.append(f"<h3>The {LOUDEST} loudest background events</h3>")
    parts.append(_loudest_table(events, draws.ifos))
    parts.append(METHOD)
    parts.append("<h2>Configuration</h2>")
    if not configs:
        parts.append("<p>No configuration files were given.</p>")
    for name, text in configs.items():
        parts.append(f"<h3>{_escape(name)}</h3><pre>{_escape(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
