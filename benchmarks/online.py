"""The online search's latency on replayed frames.

Replays ``--seconds`` of a finished offline experiment's test background,
with its first timeslide's injections, into a temporary frame directory
at ``--speed`` times real time, and runs the online search on it with the
experiment's model and background.  Latency is the issue's definition:
the time from the moment a frame is on disk (its mtime) to the moment
the candidate it made final is in the store.  Also given:

- per frame: from the frame on disk to the frame analysed;
- from the coalescence to the store (at 1x real time only: the replay's
  clock is GPS time): for the alerts that found an injection, from its
  true coalescence; and for the other candidates, from their estimated
  one.  An alert is stored at its first crossing: it waits for the rest
  of the update its crossing is in, which the repository's
  ``batch_size`` sets.  Another candidate waits, as well, for half a
  cluster window of outputs after its peak.  ``--far-threshold`` sets
  what alerts; by default, events louder than all but two events of the
  offline background (2 / Tb): the loud injections;
- the alerts' times against their injections' (geocentric) coalescence;
- the baseline, measured in the same run: one update of the repository
  through the same engine, from memory; the ratio is the candidate
  latency's median over it (a candidate's frame runs one update, so the
  rest is what reading frames and storing candidates add).

``--batch-size`` re-exports the experiment's model with that many
outputs per update (1 s updates at 4 Hz with 4) and calibrates its time
window, as a low-latency deployment would, before the replay;
``--repository`` uses one exported so before instead.

Usage::

    .venv/bin/python benchmarks/online.py --experiment quickstart-run \\
        [--seconds 300] [--speed 1] [--batch-size 4 | --repository R] \\
        [--far-threshold 2000]
"""

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def low_latency_repository(experiment: Path, batch_size: int, out: Path):
    """The experiment's model exported with ``batch_size`` outputs per
    update, and calibrated as the experiment's own repository was."""
    from aframe_export.cli import main as export_main
    from aframe_infer.cli import main as infer_main

    logs = experiment / "results/model_repo/logs"
    repository = out / "model_repo"
    export_config = json.loads((logs / "manifest/export.yaml").read_text())
    export_config.update(repository=str(repository), batch_size=batch_size)
    (out / "export.yaml").write_text(json.dumps(export_config))
    assert export_main(["export", "--config", str(out / "export.yaml")]) == 0
    calibrate_config = json.loads((logs / "timing/calibrate.yaml").read_text())
    calibrate_config["repository"] = str(repository)
    (out / "calibrate.yaml").write_text(json.dumps(calibrate_config))
    assert (
        infer_main(["calibrate", "--config", str(out / "calibrate.yaml")]) == 0
    )
    return repository


def update_time(repository: Path, repeats: int = 20) -> float:
    """Median seconds of one update through the local engine."""
    from aframe_serving.engine import LocalEngine
    from aframe_serving.repository import ModelRepository

    engine = LocalEngine(ModelRepository.open(repository))
    manifest = engine.manifest
    sequence = engine.sequence(len(manifest.ifos))
    rng = np.random.default_rng(0)
    shape = (len(manifest.ifos), manifest.update_size)
    times = []
    for _ in range(repeats):
        update = (rng.normal(size=shape) * 1e-21).astype(np.float32)
        start = time.perf_counter()
        sequence.push(update)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=0)
    parser.add_argument("--repository", type=Path, default=None)
    parser.add_argument("--far-threshold", type=float, default=None)
    args = parser.parse_args()

    from aframe_contracts.events import BackgroundEvents, background_years
    from aframe_contracts.repository import Manifest
    from aframe_contracts.waveforms import WaveformSet
    from aframe_online.replay import replay
    from aframe_online.search import search
    from aframe_online.store import CandidateStore

    experiment = args.experiment.resolve()
    work = Path(tempfile.mkdtemp(prefix="aframe-online-"))
    repository = experiment / "results/model_repo"
    if args.repository is not None:
        repository = args.repository.resolve()
    elif args.batch_size:
        repository = low_latency_repository(experiment, args.batch_size, work)
    background = experiment / "results/background.hdf5"
    far_threshold = args.far_threshold
    if far_threshold is None:
        Tb = BackgroundEvents.read(background).Tb
        far_threshold = 2 / background_years(Tb)
    strain = sorted((experiment / "data/test/background").glob("*.hdf5"))[0]
    t0 = int(strain.stem.split("-")[1])
    injections = strain.parent.parent / "injections"
    injections = sorted(injections.glob(f"injections-{strain.stem[11:]}-1.*"))
    frames = str(work / "frames" / "{ifo}")

    started = time.time()
    writer = threading.Thread(
        target=replay,
        args=([str(strain)], frames),
        kwargs={
            "speed": args.speed,
            "injections_file": injections[0] if injections else None,
            "retain": 120.0,
        },
        daemon=True,
    )
    writer.start()
    output = work / "events"
    p_astro = experiment / "results/p_astro.hdf5"
    online = search(
        repository,
        background,
        frames,
        output,
        p_astro_file=str(p_astro) if p_astro.exists() else "",
        start=t0,
        stop=t0 + args.seconds,
        far_threshold=far_threshold,
    )
    manifest = Manifest.read(repository)
    store = CandidateStore(output, 8.0)
    candidates = store.candidates()
    store.close()
    latency = np.array([c["latency"] for c in candidates])
    per_frame = np.array(online.frame_latencies)
    baseline = update_time(repository)
    print(
        f"repository: {manifest.batch_size} outputs per update "
        f"({manifest.update_size / manifest.sample_rate:g} s), "
        f"{args.seconds} s replayed at {args.speed:g}x"
    )
    for name, values in (
        ("candidate: frame on disk -> stored", latency),
        ("frame: on disk -> analysed", per_frame),
    ):
        print(
            f"{name}: n = {values.size}, median {np.median(values):.3f} s, "
            f"90% {np.quantile(values, 0.9):.3f} s, 99% "
            f"{np.quantile(values, 0.99):.3f} s, max {values.max():.3f} s"
        )
    if args.speed == 1.0:
        # GPS t was on disk at started + (t - t0) (the replay's clock)
        def on_disk(gps):
            return started + np.asarray(gps) - t0

        alerts = [c for c in candidates if c["alert"]]
        times = np.zeros(0)
        if injections:
            signals = WaveformSet.read(injections[0], manifest.ifos)
            times = signals.parameters["injection_time"]
        found, residuals = [], []
        for alert in alerts if times.size else []:
            nearest = times[np.argmin(np.abs(times - alert["gps_time"]))]
            if abs(nearest - alert["gps_time"]) < 1.0:
                found.append(alert["stored"] - on_disk(nearest))
                residuals.append(alert["gps_time"] - nearest)
        if residuals:
            # the alerts' times against the geocentric coalescence
            residuals = np.abs(residuals)
            print(
                f"alert time - injection time: n = {residuals.size}, "
                f"median |Δt| {np.median(residuals) * 1e3:.1f} ms, max "
                f"{residuals.max() * 1e3:.1f} ms"
            )
        others = [
            c["stored"] - on_disk(c["gps_time"])
            for c in candidates
            if not c["alert"]
        ]
        print(f"alert threshold: FAR {far_threshold:.4g} per year")
        for name, delay in (
            ("alerts, from the injection's coalescence", found),
            ("other candidates, from the estimated coalescence", others),
        ):
            if not delay:
                print(f"coalescence -> stored, {name}: none")
                continue
            delay = np.asarray(delay)
            print(
                f"coalescence -> stored, {name}: n = {delay.size}, median "
                f"{np.median(delay):.2f} s, 99% "
                f"{np.quantile(delay, 0.99):.2f} s, max {delay.max():.2f} s"
            )
    print(
        f"baseline, one update through the engine: {baseline:.3f} s; "
        f"candidate latency median / baseline: "
        f"{np.median(latency) / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
