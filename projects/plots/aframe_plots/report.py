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
- ``p_astro.png``, given a p_astro model with its calibration check;
- ``report.html``, last: one self-contained page (the figures embedded),
  whose existence marks the report complete.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bilby.core.prior import PriorDict

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents
from aframe_contracts.files import (
    atomic_hdf5,
    check_outputs,
    make_directory,
    write_atomic,
)
from aframe_contracts.pastro import PAstroModel
from aframe_contracts.score import Score
from aframe_pastro.model import PAstro
from aframe_plots import page, plotting
from aframe_plots.efficiency import bin_edges, binned_efficiency
from aframe_plots.errors import PlotsError
from aframe_plots.far import (
    TARGETS,
    OperatingPoint,
    far,
    operating_point,
    threshold_grid,
)
from aframe_plots.glitches import glitch_summary
from aframe_plots.io import Draws, read_draws
from aframe_plots.timing import TimingBin, timing_bins
from aframe_plots.volume import (
    LogNormalPopulation,
    MassDensity,
    Population,
    astrophysical_volume,
    effective_draws,
    importance_weights,
    sampling_density,
    sensitive_distance,
    sensitive_volume,
)
from aframe_priors.priors import get_prior
from aframe_serving.repository import ModelRepository

logger = logging.getLogger("aframe_plots")

MASS_COMBOS = ((35.0, 35.0), (35.0, 20.0), (20.0, 20.0), (20.0, 10.0))
# a population with more of its probability outside the sampled masses
# gets no volume: the reweighted estimate leaves that part out
MIN_COVERAGE = 0.99
# fewer effective draws than this make a noisy volume, which is flagged
MIN_EFFECTIVE_DRAWS = 100
EFFICIENCY_BINS = 20
PLOTS = ("far.png", "sensitive_volume.png", "efficiency.png", "timing.png")


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


def _mlgwsc_figure(score: Score) -> str:
    return (
        f"mlgwsc-dataset{score.dataset}-{score.duration:.0f}-{score.seed}.png"
    )


def _output_names(
    scores: Sequence[Score], glitches: bool, p_astro: bool
) -> list[str]:
    """Every file a report writes, with ``scores`` shown, and with a
    glitch figure and a p_astro figure or not."""
    return [
        "sensitive_volume.h5",
        *PLOTS,
        *map(_mlgwsc_figure, scores),
        *(["glitches.png"] if glitches else []),
        *(["p_astro.png"] if p_astro else []),
        "report.html",
    ]


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
    glitch_files: Sequence[Path] = (),
    repository: Path | None = None,
    p_astro_model: Path | None = None,
    force: bool = False,
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
        glitch_files: the testing background files, whose recorded
            glitches the report counts against the loudest background
            events; a figure of the events they drive, ``glitches.png``
            (``aframe_plots.glitches``).
        repository: the exported model that made the events: the glitch
            figure shows its output around them.
        p_astro_model: the search's p_astro model (``aframe-plots
            p-astro``): the loudest events get their p_astro, and its
            calibration check is shown, also as ``p_astro.png``.
        force: replace the outputs of an earlier report.  No output is
            ever written over an input.

    Returns:
        the path of ``report.html``.

    Raises:
        ContractError: an input file is missing or of another layout.
        PlotsError: bad input, with what is wrong and where.
    """
    configs = _read_configs(config_files)
    events = BackgroundEvents.read(background)
    draws = read_draws(foreground)
    p_astro = None
    if p_astro_model is not None:
        p_astro = PAstro(PAstroModel.read(p_astro_model))
    output_dir = Path(output_dir)
    try:
        scores = [Score.read(path) for path in mlgwsc_scores]
        names = _output_names(scores, bool(glitch_files), p_astro is not None)
        check_outputs(
            [output_dir / name for name in names],
            [
                background,
                foreground,
                *mlgwsc_scores,
                *config_files,
                *glitch_files,
                *([p_astro_model] if p_astro_model is not None else []),
            ],
            force,
        )
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
    logger.info(
        "%d background events in %.0f s; %d injections analysed of %d draws",
        events.statistic.size,
        events.Tb,
        draws.num_analysed,
        draws.snr.size,
    )
    findings = measure(events, draws, prior, mass_combos, sigma)

    make_directory(output_dir)
    # a report left by an earlier run must not mark this one complete
    (output_dir / "report.html").unlink(missing_ok=True)
    window = (
        {} if draws.time_window is None else {"time_window": draws.time_window}
    )
    _write_volumes(
        output_dir / "sensitive_volume.h5",
        findings.thresholds,
        findings.fars,
        findings.populations,
        {
            **window,
            "Tb": events.Tb,
            "V0": findings.v0,
            "prior": draws.prior,
            "sigma": sigma,
            "units": "fars: 1/yr; sv, err: Gpc^3; sd: Mpc",
        },
    )
    problem = _problem(events, draws, findings.thresholds)
    figures = _write_figures(output_dir, events, draws, findings, problem)
    glitches = None
    model = None
    if repository is not None:
        model = ModelRepository.open(repository)
    if glitch_files:
        glitches = glitch_summary(
            events, draws.ifos, list(glitch_files), model
        )
        if isinstance(glitches[1], bytes):
            write_atomic(output_dir / "glitches.png", glitches[1])
        else:
            (output_dir / "glitches.png").unlink(missing_ok=True)
    p_astro_figure = None
    if p_astro is not None:
        p_astro_figure = _p_astro_figure(output_dir, p_astro)
    challenge = [(score, plotting.mlgwsc_plot(score)) for score in scores]
    for score, figure in challenge:
        write_atomic(output_dir / _mlgwsc_figure(score), figure)
    text = page.render(
        title,
        events,
        draws,
        findings.v0,
        sigma,
        findings.points,
        findings.populations,
        figures,
        problem,
        _warnings(draws, findings.populations),
        configs,
        findings.timing,
        challenge,
        glitches,
        None if p_astro is None else (p_astro, p_astro_figure),
        None if model is None else model.calibration,
    )
    path = output_dir / "report.html"
    write_atomic(path, text.encode())
    logger.info("wrote %s", path)
    return path


@dataclass(frozen=True)
class Findings:
    """What the report measures from the events and the draws.

    Args:
        v0: the sampling prior's volume (Gpc^3).
        thresholds: the detection-statistic grid, descending.
        fars: the FAR of each threshold (1/yr).
        points: the operating points of TARGETS (none without
            background events).
        populations: the sampling prior's and each mass combination's
            volumes at each threshold.
        timing: the found injections' event-time residuals by SNR, found
            at the first operating point (1 / month).
    """

    v0: float
    thresholds: np.ndarray
    fars: np.ndarray
    points: list[OperatingPoint]
    populations: list[Population]
    timing: list[TimingBin]


def measure(
    events: BackgroundEvents,
    draws: Draws,
    prior: PriorDict,
    mass_combos: Sequence[Sequence[float]],
    sigma: float,
) -> Findings:
    """The FAR curve, operating points, volumes and timing of a search.

    Args:
        events: the time-slid background.
        draws: the injection draws, analysed and rejected.
        prior: the prior the draws were sampled from.
        mass_combos: source-frame [m1, m2] of log-normal populations.
        sigma: their width in ln m.
    """
    sampling = sampling_density(prior)
    v0 = astrophysical_volume(prior)
    targets = _targets(mass_combos, sigma, sampling)
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
    return Findings(v0, thresholds, fars, points, populations, timing)


def _read_configs(config_files: Sequence[Path]) -> dict[str, str]:
    """Each config file's text, by its path."""
    configs = {}
    for path in config_files:
        if not Path(path).is_file():
            raise PlotsError(f"the config file {path} does not exist")
        configs[str(path)] = Path(path).read_text(errors="replace")
    return configs


def _write_figures(
    output_dir: Path,
    events: BackgroundEvents,
    draws: Draws,
    findings: Findings,
    problem: str | None,
) -> dict[str, bytes | str]:
    """Draw the figures and write them; a figure that cannot be drawn
    gets its reason instead, and an earlier run's file is removed."""
    figures = _figures(
        events,
        draws,
        findings.thresholds,
        findings.fars,
        findings.points,
        findings.populations,
        problem,
    )
    figures["timing.png"] = (
        plotting.timing_plot(findings.timing, draws.time_window)
        if any(b.residuals.size for b in findings.timing)
        else "No injection was found at the 1 / month operating point with "
        "its event time recorded."
    )
    for name in PLOTS:
        if isinstance(figures[name], bytes):
            write_atomic(output_dir / name, figures[name])
        else:
            (output_dir / name).unlink(missing_ok=True)
    return figures


def _p_astro_figure(output_dir: Path, p_astro: PAstro) -> bytes | str:
    """The p_astro figure, written as p_astro.png, or why there is none."""
    calibration = p_astro.model.calibration
    if calibration is None:
        (output_dir / "p_astro.png").unlink(missing_ok=True)
        return "The model has no calibration check: " + str(
            p_astro.model.attrs.get("calibration_message", "none was made")
        )
    figure = plotting.p_astro_plot(calibration, p_astro)
    write_atomic(output_dir / "p_astro.png", figure)
    return figure


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
