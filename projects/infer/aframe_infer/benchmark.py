"""The MLGWSC-1 benchmark: the challenge's data, our events, its score.

- ``mlgwsc_data`` makes one set of a dataset (1-4) with the challenge's
  generate_data.py: injections, foreground (noise + signals) and
  background (the same noise).
- ``mlgwsc`` writes the events of a file, or of a chunk of it, in the
  challenge's format, with the model's calibrated time window as var.
- ``mlgwsc_score`` runs the challenge's evaluate.py on the events, then
  measures each injection's optimal network SNR from foreground -
  background, and writes score.hdf5: the sensitive distance against FAR,
  and which injections were found at the lowest FAR the background
  resolves.
- ``mlgwsc_benchmark`` does all three for a model trained anywhere.
"""

import logging
from pathlib import Path

import h5py
import numpy as np

from aframe_contracts.errors import check_positive
from aframe_contracts.files import atomic_hdf5, check_output, check_outputs
from aframe_contracts.glitches import GlitchTable
from aframe_contracts.score import (
    MONTH,
    Score,
    resolved_fars,
    write_summary,
)
from aframe_contracts.strain_files import hdf5_spans
from aframe_infer.challenge import (
    ChallengeCode,
    ChallengeError,
    ChallengeSet,
    analysed_injections,
    evaluate,
    generate,
    read_evaluation,
    read_strain,
)
from aframe_serving.backends import Serving, streamer
from aframe_serving.postprocess import check_windows, stream_events
from aframe_serving.repository import ModelRepository
from aframe_signal.glitches import GlitchModel, loudest_near_glitches
from aframe_signal.resample import resample

logger = logging.getLogger("aframe_infer")

# the band of the optimal SNR when the foreground does not say where the
# injections start (f_lower): 20 Hz, the challenge's
F_LOWER = 20.0
# optimal SNRs use at most this much signal before coalescence (s)
SNR_WINDOW = 16.0


def mlgwsc(
    input_file: Path,
    output_file: Path,
    repository: Path,
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    time_uncertainty: float | None = None,
    start: float | None = None,
    stop: float | None = None,
    serving: Serving = Serving(),
    force: bool = False,
) -> None:
    """Analyse a Mock Data Challenge 1 file; write its event format.

    Args:
        input_file: strain in the MLGWSC-1 layout (H1/<gps start>,
            L1/<gps start> datasets with start_time and delta_t attrs),
            resampled to the model's rate when it differs.
        output_file: events as the challenge's evaluate.py reads them:
            datasets time (GPS s), stat (larger is louder) and var (the
            time window around each event that counts as a hit, s); its
            attributes record the integration and cluster windows.
        repository: the exported model repository.
        integration_window_length: moving average of the outputs (s);
            None: the window the model was calibrated with.
        cluster_window_length: one event per this many seconds (s);
            None: the model's, as for the integration window.
        time_uncertainty: the var of every event: how close to a
            coalescence it must be to count (s); None: the model's
            calibrated time window (timing.json), which holds for the
            windows it was calibrated with.
        start: only events from this GPS time on (a chunk of a long
            file); the strain they need before it is read too.
        stop: only events before this GPS time.
        serving: how the model is served: the backend, and for triton
            the address of a running server or the server to start.
        force: replace an existing output file (never the input file).
    """
    output_file = Path(output_file)
    check_windows(
        integration_window_length, cluster_window_length, time_uncertainty
    )
    check_output(output_file, [input_file], force)
    model = ModelRepository.open(repository)
    check_ifos(model)
    windows = model.windows(integration_window_length, cluster_window_length)
    file_events(
        input_file,
        output_file,
        model,
        windows,
        time_uncertainty,
        start,
        stop,
        serving,
    )


def file_events(
    input_file: Path,
    output_file: Path,
    model: ModelRepository,
    windows: tuple[float, float],
    time_uncertainty: float | None,
    start: float | None,
    stop: float | None,
    serving: Serving,
) -> None:
    """``mlgwsc`` for a repository opened and inputs checked already,
    with the (integration, cluster) windows (s)."""
    integration_window_length, cluster_window_length = windows
    if time_uncertainty is None:
        time_uncertainty = model.time_window(*windows)
    rate = model.sample_rate
    geometry = model.geometry
    # around a chunk, the strain its events need: a request's worth and
    # the integration and cluster windows before it, a kernel, the filter
    # and the windows after it; cut at whole updates of the segments, so
    # the chunk's outputs are those of the whole file
    context = integration_window_length + cluster_window_length
    before = geometry.buffer_size / rate + context
    after = geometry.kernel_length + geometry.fduration + context
    segments = []
    for t0, file_rate, strain in read_strain(
        input_file,
        model.ifos,
        -np.inf if start is None else start - before,
        np.inf if stop is None else stop + after,
        geometry.update_size / rate,
    ):
        if file_rate != rate:
            strain = np.stack([resample(x, file_rate, rate) for x in strain])
        # segments too short for one request are skipped, and said so
        if strain.shape[-1] >= geometry.buffer_size:
            segments.append((t0, strain))
        else:
            logger.warning(
                "segment at %.0f (%.0f s) is shorter than one request: "
                "skipped",
                t0,
                strain.shape[-1] / rate,
            )
    with streamer(model, serving, output_file.parent, 1) as run:
        outputs = run([x for _, x in segments])
    found_stat, found_time = [np.zeros(0)], [np.zeros(0)]
    for (t0, _), output in zip(segments, outputs, strict=True):
        statistic, time = stream_events(
            output,
            t0,
            geometry,
            integration_window_length,
            cluster_window_length,
        )
        found_stat.append(statistic)
        found_time.append(time)
    time, stat = np.concatenate(found_time), np.concatenate(found_stat)
    keep = (time >= (-np.inf if start is None else start)) & (
        time < (np.inf if stop is None else stop)
    )
    order = np.argsort(time[keep])
    with atomic_hdf5(output_file) as f:
        f["time"] = time[keep][order]
        f["stat"] = stat[keep][order]
        f["var"] = np.full(order.size, time_uncertainty)
        f.attrs["integration_window_length"] = integration_window_length
        f.attrs["cluster_window_length"] = cluster_window_length
    logger.info(
        "%d events in %d segments of %s", order.size, len(segments), input_file
    )


def check_ifos(model: ModelRepository) -> None:
    """Refuse a model of other ifos than MLGWSC-1's H1 and L1.

    Raises:
        ChallengeError: the model analyses other ifos.
    """
    if sorted(model.ifos) != ["H1", "L1"]:
        raise ChallengeError(
            f"the model in {model.path} analyses {model.ifos}; "
            "MLGWSC-1 data is H1 and L1"
        )


def optimal_snrs(
    data: ChallengeSet, tc: np.ndarray, f_lower: float
) -> np.ndarray:
    """Each injection's optimal network SNR, measured on the data.

    The foreground is the background plus the signals, so their
    difference is the signals alone; each is cut from at most SNR_WINDOW
    s before its coalescence (and after the previous one) to 1 s after,
    and its SNR is taken against the background's median-Welch PSD
    (4 s FFTs) above ``f_lower`` Hz, where the signals start.
    """
    from aframe_signal.psd import welch_psd
    from aframe_signal.snr import optimal_snrs

    ifos = ["H1", "L1"]
    result = np.full(tc.size, np.nan)
    order = np.argsort(tc)
    background = read_strain(data.background, ifos)
    foreground = {
        start: strain
        for start, _, strain in read_strain(data.foreground, ifos)
    }
    for start, rate, noise in background:
        stop = start + noise.shape[-1] / rate
        psd = welch_psd(dict(zip(ifos, noise, strict=True)), ifos, rate, 4.0)
        signal = foreground[start] - noise
        for rank, i in enumerate(order):
            if not start <= tc[i] < stop:
                continue
            previous = tc[order[rank - 1]] if rank else -np.inf
            first = max(tc[i] - SNR_WINDOW, previous + 0.5, start)
            last = min(tc[i] + 1, stop)
            window = signal[
                :, round((first - start) * rate) : round((last - start) * rate)
            ]
            per_ifo = optimal_snrs(window[None], psd, rate, f_lower, None)
            result[i] = float(np.sqrt(np.sum(per_ifo**2)))
    return result


def score(
    code: ChallengeCode,
    data: ChallengeSet,
    foreground_events: list[Path],
    background_events: list[Path],
    output_dir: Path,
) -> Score:
    """Run evaluate.py, measure the SNRs, and write score.hdf5.

    Outputs in ``output_dir``: eval.hdf (evaluate.py's own) and, last,
    score.hdf5 (``aframe_contracts.score.Score``).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    evaluation = output_dir / "eval.hdf"
    evaluate(code, data, foreground_events, background_events, evaluation)
    scored = analysed_injections(data)
    with h5py.File(data.injections, "r") as f:
        tc = f["tc"][()][scored]
    with h5py.File(data.foreground, "r") as f:
        attrs = dict(f.attrs)
    curve = read_evaluation(evaluation, tc.size)
    background = [_read_events(path) for path in background_events]
    foreground = [_read_events(path) for path in foreground_events]
    var = np.concatenate([events["var"] for events in foreground])
    # δD = D δV / (3 V), from D ∝ V^(1/3)
    volume = np.maximum(curve["volume"], np.finfo(float).tiny)
    error = curve["distance"] * curve["volume_error"] / (3 * volume)
    result = Score(
        dataset=int(attrs["dataset"]),
        seed=int(attrs["seed"]),
        far=curve["far"] * MONTH,
        distance=curve["distance"],
        distance_error=error,
        duration=sum(
            span.size / span.sample_rate
            for span in hdf5_spans(data.foreground, ["H1"])
        ),
        tc=tc,
        snr=optimal_snrs(data, tc, float(attrs.get("f_lower", F_LOWER))),
        statistic=curve["statistic"],
        threshold=float(
            max(events["stat"].max(initial=-np.inf) for events in background)
        ),
        var=float(var.max()) if var.size else float("nan"),
    )
    result.write(output_dir / "score.hdf5")
    logger.info(
        "%s: at FAR %.3g per month, sensitive distance %.0f ± %.0f Mpc; "
        "%d of %d injections found",
        result.name,
        result.lowest_far,
        result.distance[result.loudest],
        result.distance_error[result.loudest],
        result.found.sum(),
        tc.size,
    )
    for per, far, index in resolved_fars(result):
        if far > result.lowest_far:
            logger.info(
                "%s: at FAR 1 per %s, sensitive distance %.0f ± %.0f Mpc",
                result.name,
                per,
                result.distance[index],
                result.distance_error[index],
            )
    return result


def glitch_summary(data: ChallengeSet, background_events: list[Path]) -> dict:
    """For a set with glitches (glitches.hdf5): how many there are, and
    how many of the ten loudest background events lie within a second of
    one, with those events; for a set without: nothing."""
    if not data.glitches.exists():
        return {}
    events = [_read_events(path) for path in background_events]
    times = np.concatenate([e["time"] for e in events])
    summary = loudest_near_glitches(
        times,
        np.concatenate([e["stat"] for e in events]),
        np.zeros((times.size, 2)),
        ["H1", "L1"],
        GlitchTable.read(data.glitches),
    )
    logger.info(
        "%s glitches; %d of the %d loudest background events lie within "
        "%g s of one",
        ", ".join(f"{ifo}: {n}" for ifo, n in summary["glitches"].items()),
        summary["loudest_near_a_glitch"],
        summary["loudest"],
        summary["window_s"],
    )
    return {"glitches": summary}


def _read_events(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {key: f[key][()] for key in ("time", "stat", "var")}


def mlgwsc_data(
    dataset: int,
    duration: float,
    seed: int,
    output_dir: Path,
    mlgwsc_dir: str = "",
    mlgwsc_env: str = "",
    glitches: GlitchModel | None = None,
) -> None:
    """Make one set of an MLGWSC-1 dataset with the challenge's generator.

    Args:
        dataset: 1-4 (4 is real O3a noise, downloaded: not offline).
        duration: seconds of data.
        seed: the generator's seed.
        output_dir: gets injections.hdf, foreground.hdf, background.hdf,
            and last segments.txt (the foreground's segments).
        mlgwsc_dir: a checkout of the challenge; empty:
            $AFRAME_MLGWSC_DIR.
        mlgwsc_env: the environment that runs it; empty:
            $AFRAME_MLGWSC_ENV, else .venv-mlgwsc beside this venv.
        glitches: glitches added to both files, drawn from ``seed``
            (glitches.hdf5 records them); None: the generator's set as
            it is.
    """
    if glitches is not None:
        glitches.check(["H1", "L1"])
    code = ChallengeCode.locate(mlgwsc_dir, mlgwsc_env)
    generate(code, dataset, duration, seed, Path(output_dir), glitches)


# what scoring writes into its output directory
SCORE_OUTPUTS = ("eval.hdf", "score.hdf5", "summary.json")


def mlgwsc_score(
    data_dir: Path,
    foreground_events: list[Path],
    background_events: list[Path],
    output_dir: Path,
    mlgwsc_dir: str = "",
    mlgwsc_env: str = "",
    force: bool = False,
) -> None:
    """Score events with the challenge's evaluate.py; write score.hdf5.

    Args:
        data_dir: the set the events are of (``mlgwsc_data``).
        foreground_events: event files of its foreground (chunks).
        background_events: event files of its background (chunks).
        output_dir: gets eval.hdf (evaluate.py's), score.hdf5 and
            summary.json.
        mlgwsc_dir: a checkout of the challenge (see ``mlgwsc_data``).
        mlgwsc_env: the environment that runs it.
        force: replace an earlier score in output_dir.
    """
    check_outputs(
        [Path(output_dir) / name for name in SCORE_OUTPUTS],
        [*foreground_events, *background_events],
        force,
    )
    code = ChallengeCode.locate(mlgwsc_dir, mlgwsc_env)
    data = ChallengeSet(Path(data_dir))
    result = score(
        code, data, foreground_events, background_events, Path(output_dir)
    )
    write_summary(
        Path(output_dir) / "summary.json",
        result,
        {"data": str(data_dir), **glitch_summary(data, background_events)},
    )


def mlgwsc_benchmark(
    repository: Path,
    dataset: int,
    duration: float,
    seed: int,
    output_dir: Path,
    mlgwsc_dir: str = "",
    mlgwsc_env: str = "",
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    time_uncertainty: float | None = None,
    serving: Serving = Serving(),
    glitches: GlitchModel | None = None,
    force: bool = False,
) -> None:
    """The whole benchmark for one exported model: data, events, score.

    Args:
        repository: the exported model repository (calibrated, unless
            time_uncertainty is given).
        dataset: 1-4.
        duration: seconds of data.
        seed: the generator's seed.
        output_dir: gets data/ (the set; kept, so a rerun reuses it),
            events-foreground.hdf, events-background.hdf, eval.hdf,
            score.hdf5 and summary.json (which records the windows).
        mlgwsc_dir: a checkout of the challenge (see ``mlgwsc_data``).
        mlgwsc_env: the environment that runs it.
        integration_window_length: moving average of the outputs (s);
            None: the window the model was calibrated with.
        cluster_window_length: one event per this many seconds (s);
            None: the model's, as for the integration window.
        time_uncertainty: the events' var (s); None: the model's window.
        serving: how the model is served: the backend, and for triton
            the address of a running server or the server to start.
        glitches: glitches added to the set (see ``mlgwsc_data``).
        force: replace the events and score of an earlier benchmark in
            output_dir (its data/ is reused either way).
    """
    output_dir = Path(output_dir)
    # before the set is made and streamed
    check_positive(duration=duration)
    if glitches is not None:
        glitches.check(["H1", "L1"])
    check_windows(
        integration_window_length, cluster_window_length, time_uncertainty
    )
    names = ["events-foreground.hdf", "events-background.hdf"]
    names += SCORE_OUTPUTS
    check_outputs([output_dir / name for name in names], [], force)
    code = ChallengeCode.locate(mlgwsc_dir, mlgwsc_env)
    model = ModelRepository.open(repository)
    check_ifos(model)
    windows = model.windows(integration_window_length, cluster_window_length)
    data = generate(
        code, dataset, duration, seed, output_dir / "data", glitches
    )
    events = {}
    for kind, path in (
        ("foreground", data.foreground),
        ("background", data.background),
    ):
        events[kind] = output_dir / f"events-{kind}.hdf"
        check_output(events[kind], [path], force)
        file_events(
            path,
            events[kind],
            model,
            windows,
            time_uncertainty,
            None,
            None,
            serving,
        )
    result = score(
        code, data, [events["foreground"]], [events["background"]], output_dir
    )
    write_summary(
        output_dir / "summary.json",
        result,
        {
            "repository": str(repository),
            "data": str(data.directory),
            "integration_window_length": windows[0],
            "cluster_window_length": windows[1],
            **glitch_summary(data, [events["background"]]),
        },
    )
