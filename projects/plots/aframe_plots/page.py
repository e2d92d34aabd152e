"""The report page, from templates/report.html: tables, figures and
messages as HTML.  The numbers come computed (``report``); this module
only shows them."""

import base64
import html
import string
from pathlib import Path

import numpy as np

from aframe_contracts.events import BackgroundEvents
from aframe_contracts.repository import TimeCalibration
from aframe_contracts.score import SNR_EDGES, Score, found_by_snr
from aframe_pastro.model import PAstro
from aframe_plots.far import (
    OperatingPoint,
    background_years,
    distinct_points,
    far,
)
from aframe_plots.io import Draws
from aframe_plots.timing import TimingBin
from aframe_plots.volume import Population, sensitive_distance

TEMPLATE = Path(__file__).with_name("templates") / "report.html"
# the background events the page lists
LOUDEST = 10

# a table cell: its escaped content, or that and the columns it spans
Cell = str | tuple[str, int]


def render(
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
    glitches: tuple[dict, bytes | str] | None = None,
    p_astro: tuple[PAstro, bytes | str] | None = None,
    calibration: TimeCalibration | None = None,
) -> str:
    """The report page: templates/report.html, filled in; ``glitches``:
    the glitch summary and figure (``aframe_plots.glitches``), where the
    background has glitches; ``p_astro``: the p_astro model and its
    figure (or why there is none), where one was fitted; ``calibration``:
    the model's time calibration, where known."""
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
    listed = "".join(
        f'<li class="message">{_escape(w)}</li>' for w in warnings
    )
    volumes = (
        _volume_table(points, populations, events.Tb)
        if problem is None
        else _message(problem)
    )
    shown = "".join(
        f"<h3>{_escape(name)}</h3><pre>{_escape(text)}</pre>"
        for name, text in configs.items()
    )
    template = string.Template(TEMPLATE.read_text())
    return template.substitute(
        title=_escape(title),
        summary=_table(None, summary),
        warnings=f"<h2>Warnings</h2><ul>{listed}</ul>" if warnings else "",
        window=_window_text(draws),
        volumes=volumes,
        volume_figure=_figure(
            figures["sensitive_volume.png"], "sensitive volume"
        ),
        efficiency_figure=_figure(figures["efficiency.png"], "efficiency"),
        timing_figure=_figure(figures["timing.png"], "event-time residuals"),
        timing_table=_timing_table(timing),
        timing_estimators=_timing_estimators(calibration, draws.ifos),
        mlgwsc="\n".join(_mlgwsc_section(challenge)) if challenge else "",
        far_figure=_figure(figures["far.png"], "FAR against threshold"),
        loudest_count=LOUDEST,
        loudest=_loudest_table(
            events, draws.ifos, None if p_astro is None else p_astro[0]
        ),
        glitches=_glitch_section(*glitches) if glitches else "",
        p_astro=_p_astro_section(events, draws, *p_astro)
        if p_astro
        else "<h2>p_astro</h2>"
        + _message("No p_astro model was given to the report."),
        configs=shown or "<p>No configuration files were given.</p>",
    )


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
    # one column per distinct FAR: targets the background is too short
    # for share the lowest FAR it supports
    columns = distinct_points(points)
    for label, point, _ in columns:
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
            row.append((_escape(population.message), 2 * len(columns)))
        else:
            for _, _, index in columns:
                row += _volume_cell(*population.at_points[index])
        rows.append(row)
    notes = ""
    if not all(point.supported for point in points):
        notes = (
            "<p>† the background (Tb = "
            f"{background_years(Tb):.3g} yr) is too short for this FAR: "
            "the table gives the lowest FAR it supports, 1 / Tb, once for "
            "every FAR below it.</p>"
        )
    return _table(header, rows) + notes


def _window_text(draws: Draws) -> str:
    if draws.time_window is None:
        return "not recorded"
    return f"±{draws.time_window:.3f} s (the model's calibrated window)"


def _timing_estimators(
    calibration: TimeCalibration | None, ifos: list[str]
) -> str:
    """Both event-time estimates, from the time calibration of a model
    that gives merger offsets; nothing for others."""
    if calibration is None or calibration.arrival_spread is None:
        return ""
    return (
        "<p>The template bank times events by its winning template's "
        f"merger at {_escape(ifos[0])}, to a sample.  In the model's time "
        "calibration, 95% of the validation signals found above network "
        f"SNR 12 lie within ±{1e3 * calibration.arrival_spread:.1f} ms of "
        f"their coalescence at {_escape(ifos[0])}, where the output "
        f"grid's estimate puts 95% within ±{calibration.grid_spread:.3f} "
        "s.  Of all the signals found, 95% lie within "
        f"±{1e3 * calibration.spread:.0f} ms of the geocentric "
        "coalescence, which the light travel time to the ifo widens.</p>"
    )


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


def _glitch_section(summary: dict, figure: bytes | str) -> str:
    """The glitches of the testing background against the loudest
    background events."""
    counts = ", ".join(
        f"{_escape(ifo)}: {n}" for ifo, n in summary["glitches"].items()
    )
    header = ["statistic", "GPS time (s)", "nearest glitch", "its SNR"]
    rows = [
        [
            f"{event['statistic']:.6g}",
            f"{event['time']:.3f}",
            "none"
            if event["glitch_ifo"] is None
            else f"{_escape(event['glitch_ifo'])}, "
            f"{event['glitch_offset_s']:+.3f} s",
            ""
            if event["glitch_snr"] is None
            else f"{event['glitch_snr']:.1f}",
        ]
        for event in summary["events"]
    ]
    return "\n".join(
        [
            "<h3>Glitches</h3>",
            f"<p>The testing background holds {counts} glitches.  "
            f"{summary['loudest_near_a_glitch']} of the "
            f"{summary['loudest']} loudest background events lie within "
            f"{summary['window_s']:g} s of one (in the ifo's own time, "
            "the timeslide undone):</p>",
            _table(header, rows),
            _noise_model_text(summary.get("noise_model")),
            _figure(figure, "whitened data around glitch-driven events"),
        ]
    )


def _noise_model_text(model: dict | None) -> str:
    """What the bank's fitted noise (``model.glitch_tails``) says of each
    template, where the detector has it."""
    if model is None:
        return ""
    flagged = ", ".join(
        f"{_escape(t['ifo'])} template {t['template']} ({t['rate_ratio']:.2g})"
        for t in model["glitchy"]
    )
    found = (
        f"these templates have glitches there: {flagged} (their rate, "
        "over a Gaussian template's rate above "
        f"{model['tail_start']:g})"
        if flagged
        else "no template has any there"
    )
    return (
        "<p>The bank's noise, fitted to its training background "
        "(<code>model.glitch_tails</code>): a Gaussian tail of slope "
        f"{model['gaussian_slope']:.2f} per unit SNR, glitches counted "
        f"above a reweighted SNR of {model['glitch_start']:.2f}, of slope "
        f"{model['glitch_slope']:.2f}; {found}.  In a template with "
        "glitches, an SNR counts for the value at which Gaussian noise is "
        "as common.</p>"
    )


def _loudest_table(
    events: BackgroundEvents, ifos: list[str], p_astro: PAstro | None
) -> str:
    if events.statistic.size == 0:
        return _message("There are no background events.")
    order = np.argsort(events.statistic, kind="stable")[::-1][:LOUDEST]
    rates = far(events.statistic[order], events.statistic, events.Tb)
    header = ["rank", "GPS time (s)"]
    header += [f"shift {_escape(ifo)} (s)" for ifo in ifos]
    header += ["statistic", "FAR (1 / yr)"]
    header += ["p_astro"] if p_astro is not None else []
    rows = [
        [
            str(rank + 1),
            f"{events.time[i]:.3f}",
            *(f"{shift:g}" for shift in events.shift[i]),
            f"{events.statistic[i]:.6g}",
            f"{rate:.3g}",
            *(
                [_probability(p_astro(events.statistic[i]))]
                if p_astro is not None
                else []
            ),
        ]
        for rank, (i, rate) in enumerate(zip(order, rates, strict=True))
    ]
    return _table(header, rows)


def _probability(p: float) -> str:
    """A probability to the digits that tell it from 0 and from 1."""
    if 0.001 <= p <= 0.999 or p in (0.0, 1.0):
        return f"{p:.3f}"
    return f"{p:.3g}" if p < 0.5 else f"1 - {1 - p:.2g}"


def _p_astro_section(
    events: BackgroundEvents,
    draws: Draws,
    p_astro: PAstro,
    figure: bytes | str,
) -> str:
    """The p_astro model, the loudest found injections with their
    p_astro, and the held-out calibration check."""
    model = p_astro.model
    found = np.flatnonzero(np.isfinite(draws.statistic))
    order = found[np.argsort(draws.statistic[found], kind="stable")[::-1]]
    order = order[:LOUDEST]
    statistic = draws.statistic[order]
    rates = (
        far(statistic, events.statistic, events.Tb)
        if events.statistic.size
        else np.full(statistic.size, np.nan)
    )
    header = [
        "rank",
        "statistic",
        "FAR (1 / yr)",
        "p_astro",
        "network SNR",
        "m1, m2 (source, M☉)",
        "distance (Mpc)",
    ]
    rows = [
        [
            str(rank + 1),
            f"{draws.statistic[i]:.6g}",
            f"{rate:.3g}",
            _probability(p_astro(draws.statistic[i])),
            f"{draws.snr[i]:.1f}",
            f"{draws.mass_1_source[i]:.1f}, {draws.mass_2_source[i]:.1f}",
            f"{draws.luminosity_distance[i]:.0f}",
        ]
        for rank, (i, rate) in enumerate(zip(order, rates, strict=True))
    ]
    injections = (
        _table(header, rows)
        if rows
        else _message("No injection was found, so none has a p_astro.")
    )
    parts = [
        "<h2>p_astro</h2>",
        "<p>The probability that an event is astrophysical: p_astro = "
        "Lf / (Lf + Lb), Lb and Lf the rate densities of the statistic in "
        "the time-slid background and among the found injections, these "
        f"weighted to the population {_escape(model.population)} at a "
        f"merger rate of {model.rate:g} Gpc⁻³ yr⁻¹ "
        f"({float(model.attrs.get('mergers_per_year', np.nan)):.4g} "
        "mergers a year in the injections' volume) (docs/p_astro.md).  "
        "The background events above have theirs in the table of the "
        "loudest.</p>",
        f"<h3>The {LOUDEST} loudest found injections</h3>",
        injections,
        "<h3>Calibration</h3>",
        "<p>Held out: each half of the events gets its p_astro from a "
        "model fitted to the other half.  In each p_astro bin, the share "
        "of the events' rate that injections make (each background event "
        "standing for 1 / Tb, each injection for its share of the "
        "astrophysical rate) against the rate-weighted mean p_astro; a "
        "calibrated p_astro has the two equal.</p>",
        _calibration_table(model.calibration),
        _figure(figure, "p_astro calibration"),
    ]
    return "\n".join(parts)


def _calibration_table(calibration) -> str:
    if calibration is None:
        return ""
    header = [
        "p_astro bin",
        "background events",
        "found injections",
        "mean p_astro",
        "share from injections",
    ]
    rows = []
    edges = calibration.edges
    for k in range(len(edges) - 1):
        empty = not np.isfinite(calibration.fraction[k])
        rows.append(
            [
                f"{edges[k]:.1f}-{edges[k + 1]:.1f}",
                str(int(calibration.background[k])),
                str(int(calibration.injections[k])),
                "" if empty else f"{calibration.p_astro[k]:.3f}",
                ""
                if empty
                else f"{calibration.fraction[k]:.3f} "
                f"({calibration.low[k]:.3f}-{calibration.high[k]:.3f})",
            ]
        )
    return _table(header, rows)
