"""The online search: live frames in, candidates with FARs out.

``search`` follows the frame directories from the newest complete frame
time on (or from ``start``), one frame time at a time:

1. it waits for every ifo's frame (``watch.FrameWatcher``); a frame
   missing past the timeout, once later ones are there, is a gap;
2. it reads and checks them (``frames.read_frame``): a frame that cannot
   be read, holds NaNs, has another rate than the others, or whose state
   vector says the detector was not observing, is skipped like a gap;
3. it feeds the strain to the stream (``stream.OnlineStream``), which
   returns the events that the new data made final, and the first
   crossings of the alert level: outputs whose FAR is already at most
   the alert threshold;
4. each event gets its FAR from the offline background and its p_astro
   from the offline p_astro model (``aframe_pastro``), and is stored
   (``store.CandidateStore``).  A first crossing is stored at once with
   an alert record and a p_astro.json, and uploaded to GraceDB when a
   server is named; the final events of the cluster window after it
   that are louder replace its values (and its GraceDB event file)
   instead of alerting again.  A final event whose FAR is at most the
   threshold, outside that window, alerts when it is stored.

A gap or a skipped frame ends the stream: its last events are decided as
the end of a segment decides them offline, and the next valid frame
starts a new stream, which makes events once it has a request's worth of
data (``psd_length`` and a kernel, as offline).  Nothing read from a
skipped frame reaches the model.  A restarted search starts at the
newest frame, and the store refuses a candidate it has (within half a
cluster window), so nothing is alerted twice.
"""

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.errors import check_not_negative, check_positive
from aframe_contracts.events import BackgroundEvents, far
from aframe_contracts.pastro import PAstroModel
from aframe_online.alerts import GraceDbAlerts
from aframe_online.frames import FrameError, read_frame
from aframe_online.store import Candidate, CandidateStore
from aframe_online.stream import Decimator, Event, OnlineStream
from aframe_online.watch import FrameSet, FrameWatcher, Gap
from aframe_pastro.model import PAstro
from aframe_serving.backends import Serving
from aframe_serving.errors import RepositoryError
from aframe_serving.postprocess import check_windows
from aframe_serving.repository import ModelRepository
from aframe_serving.sequences import open_sequences

logger = logging.getLogger("aframe_online")

# a progress line every this many seconds of data
HEARTBEAT = 60
# how long after its last change a frame that cannot be read may still
# be being written (s)
SETTLE = 1.0


@dataclass(frozen=True)
class FrameSettings:
    """What the frames are called and which channels they hold."""

    frame_dir: str
    frame_type: str
    channel: str
    state_channel: str
    state_mask: int


def read_settled(path: Path, settings: FrameSettings):
    """A frame, read again while it fails and is still being written (a
    writer that does not rename its frames into place shows them part
    written): a file changed in the last ``SETTLE`` seconds is given
    until then to become whole."""
    while True:
        try:
            return read_frame(
                path,
                settings.channel,
                settings.state_channel,
                settings.state_mask,
            )
        except FrameError:
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                age = SETTLE
            if age >= SETTLE:
                raise
            time.sleep(min(0.05, SETTLE - age))


@dataclass
class OpenAlert:
    """An alert stored at a first crossing, which the louder final
    events of the cluster window after ``first_time`` update."""

    row: int
    first_time: float
    candidate: Candidate
    graceid: str | None


def alert_level(background: BackgroundEvents, far_threshold: float) -> float:
    """The statistic above which the FAR read off ``background`` is at
    most ``far_threshold`` (per year): the loudest background event whose
    own FAR exceeds it; -inf when none does (all alert), inf when even a
    statistic above every event does (the FAR is floored at 1 / Tb).

    ``far`` falls with the statistic and is constant between background
    events, so this is exact, with ``far``'s own arithmetic.
    """
    statistic, Tb = background.statistic, background.Tb
    if far(np.asarray(math.inf), statistic, Tb) > far_threshold:
        return math.inf
    too_frequent = statistic[far(statistic, statistic, Tb) > far_threshold]
    if too_frequent.size == 0:
        return -math.inf
    return float(too_frequent.max())


class OnlineSearch:
    """The search's state between frames: the model's sequences, the
    stream of the current stretch of valid data, the store and the
    alerts."""

    def __init__(
        self,
        repository: ModelRepository,
        background: BackgroundEvents,
        frames: FrameSettings,
        store: CandidateStore,
        far_threshold: float,
        integration_window_length: float,
        cluster_window_length: float,
        sequences,
        alerts: GraceDbAlerts | None = None,
        p_astro: PAstro | None = None,
    ) -> None:
        manifest = repository.manifest
        self.geometry = repository.geometry
        self.ifos = repository.ifos
        self.model = f"{manifest.version}:{manifest.digest[:12]}"
        self.background = background
        self.frames = frames
        self.store = store
        self.far_threshold = far_threshold
        self.integration = integration_window_length
        self.cluster = cluster_window_length
        self.sequences = sequences
        self.alerts = alerts
        self.p_astro = p_astro
        self.alert_level = alert_level(background, far_threshold)
        self.open: OpenAlert | None = None
        self.stream: OnlineStream | None = None
        self.decimator: Decimator | None = None
        # the last frames fed: the store's record of a stream's end
        self.last: FrameSet | None = None
        # seconds from a frame on disk to its candidates in the store,
        # and to the frame analysed
        self.latencies: list[float] = []
        self.frame_latencies: list[float] = []

    def read(self, frames: FrameSet) -> tuple[np.ndarray, float] | None:
        """The frames' (C, n) strain at their rate, or None (and why, in
        the log) when they must not be analysed."""
        settings = self.frames
        data = []
        for ifo in self.ifos:
            path = frames.paths[ifo]
            try:
                frame = read_settled(path, settings)
            except FrameError as error:
                logger.warning("skipped: %s", error)
                return None
            if not frame.observing:
                logger.warning(
                    "skipped %s: its state vector says %s was not "
                    "observing (bits %d not all set)",
                    path.name,
                    ifo,
                    settings.state_mask,
                )
                return None
            bad = np.flatnonzero(~np.isfinite(frame.strain))
            if bad.size:
                logger.warning(
                    "skipped %s: %d NaN or infinite samples, the first at "
                    "GPS %.4f",
                    path.name,
                    bad.size,
                    frame.t0 + bad[0] / frame.sample_rate,
                )
                return None
            data.append(frame)
        rates = {frame.sample_rate for frame in data}
        rate = rates.pop()
        factor = rate / self.geometry.sample_rate
        if rates or factor != int(factor) or factor < 1:
            logger.warning(
                "skipped GPS %d: the frames' rates %s Hz are not one whole "
                "multiple of the model's %g Hz",
                frames.gps,
                sorted({f.sample_rate for f in data}),
                self.geometry.sample_rate,
            )
            return None
        return np.stack([f.strain for f in data]), rate

    def feed(self, frames: FrameSet) -> None:
        """Analyse one frame time."""
        read = self.read(frames)
        if read is None:
            self.end(f"at GPS {frames.gps}")
            return
        strain, rate = read
        factor = int(rate / self.geometry.sample_rate)
        if self.stream is None:
            self.decimator = Decimator(
                factor, len(self.ifos), self.geometry.sample_rate
            )
            self.stream = OnlineStream(
                self.sequences.open().push,
                self.geometry,
                frames.gps + self.decimator.delay,
                len(self.ifos),
                self.integration,
                self.cluster,
                self.alert_level,
            )
            logger.info(
                "stream starts at GPS %d: events from %.0f s of data on",
                frames.gps,
                self.geometry.buffer_size / self.geometry.sample_rate,
            )
        elif self.decimator.factor != factor:
            self.end(f"at GPS {frames.gps}: the frames' rate changed")
            self.feed(frames)
            return
        self.last = frames
        strain = self.decimator(strain)
        self.record(self.stream.add(strain), frames)
        self.frame_latencies.append(time.time() - frames.on_disk)
        if frames.gps % HEARTBEAT < frames.duration:
            logger.info(
                "analysed to GPS %d, %.3f s after its frame was on disk; "
                "%d candidates",
                frames.gps + frames.duration,
                self.frame_latencies[-1],
                len(self.latencies),
            )

    def end(self, why: str) -> None:
        """End the current stream (a gap, bad data, or a stop)."""
        if self.stream is None:
            return
        logger.info("stream ends %s after %.0f s", why, self.stream.duration)
        self.record(self.stream.flush(), self.last)
        self.sequences.close()
        self.stream = None

    def record(self, events: list[Event], frames: FrameSet) -> None:
        """Give each event its FAR and p_astro, store it, and alert: at
        a first crossing, or a final event's update of the open alert."""
        for event in events:
            candidate = self.candidate(event, frames)
            open_alert = self.open
            if open_alert is not None and (
                event.time - open_alert.first_time > self.cluster
            ):
                # its refractory period is over
                open_alert = self.open = None
            if open_alert is not None:
                # the refractory period: a crossing adds nothing, a
                # louder final event updates the alert, a quieter one is
                # stored without
                if not event.final:
                    continue
                if event.statistic >= open_alert.candidate.detection_statistic:
                    self.update(open_alert, candidate)
                else:
                    self.add(candidate, False, True)
                continue
            alert = candidate.far <= self.far_threshold
            row = self.add(candidate, alert, event.final)
            if row is not None and alert:
                graceid = None
                if self.alerts is not None:
                    graceid = self.alerts.upload(candidate)
                    if graceid is not None:
                        self.store.uploaded(row, graceid)
                self.open = OpenAlert(row, event.time, candidate, graceid)

    def candidate(self, event: Event, frames: FrameSet) -> Candidate:
        """An event with its FAR, p_astro and provenance."""
        rate = far(
            np.asarray(event.statistic),
            self.background.statistic,
            self.background.Tb,
        )
        return Candidate(
            event.time,
            event.statistic,
            float(rate),
            self.ifos,
            self.model,
            frames.paths[self.ifos[0]].name,
            frames.on_disk,
            None if self.p_astro is None else self.p_astro(event.statistic),
            tuple(f"{ifo}:{self.frames.channel}" for ifo in self.ifos),
        )

    def add(
        self, candidate: Candidate, alert: bool, final: bool
    ) -> int | None:
        """Store a candidate; its row, or None when an earlier run
        stored it."""
        stored = self.store.add(candidate, alert, final)
        if stored is None:
            logger.info(
                "candidate at %.3f was stored by an earlier run: skipped",
                candidate.gps_time,
            )
            return None
        row, latency = stored
        self.latencies.append(latency)
        logger.info(
            "%s at GPS %.3f: statistic %.3f, FAR %.3g per year, p_astro "
            "%s%s (%.3f s after its frame)",
            "candidate" if final else "first crossing",
            candidate.gps_time,
            candidate.detection_statistic,
            candidate.far,
            "none"
            if candidate.p_astro is None
            else f"{candidate.p_astro:.3g}",
            ", ALERT" if alert else "",
            latency,
        )
        return row

    def update(self, open_alert: OpenAlert, candidate: Candidate) -> None:
        """The open alert takes a louder final event's values."""
        self.store.replace(open_alert.row, candidate)
        logger.info(
            "alert at GPS %.3f updated to the event at %.3f: statistic "
            "%.3f, FAR %.3g per year",
            open_alert.first_time,
            candidate.gps_time,
            candidate.detection_statistic,
            candidate.far,
        )
        open_alert.candidate = candidate
        if self.alerts is not None and open_alert.graceid is not None:
            self.alerts.replace(open_alert.graceid, candidate)


def search(
    repository: Path,
    background_file: Path,
    frame_dir: str,
    output_dir: Path,
    p_astro_file: str = "",
    frame_type: str = "llhoft",
    channel: str = "GDS-CALIB_STRAIN_CLEAN",
    state_channel: str = "GDS-CALIB_STATE_VECTOR",
    state_mask: int = 3,
    far_threshold: float = 365.25,
    gracedb_url: str = "",
    gracedb_group: str = "Test",
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    frame_timeout: float = 8.0,
    poll_interval: float = 0.02,
    start: int | None = None,
    stop: float | None = None,
    serving: Serving = Serving(),
) -> "OnlineSearch":
    """Search live frames until stopped (SIGTERM, Ctrl-C) or ``stop``;
    return the search, with its latencies, when it reaches ``stop``.

    Args:
        repository: the exported model repository (an offline
            experiment's results/model_repo).
        background_file: the offline time-slid background events
            (results/background.hdf5) that FARs are read off.
        frame_dir: the frame directory; ``{ifo}`` in it stands for each
            ifo (the low-latency layout: one folder per ifo).
        output_dir: gets candidates.sqlite and alerts/.
        p_astro_file: the offline p_astro model (results/p_astro.hdf5)
            that gives each candidate its p_astro; empty: candidates
            have none (a warning says so).
        frame_type: the frame type of the file names (``llhoft``).
        channel: the strain channel, without the ifo prefix.
        state_channel: the state vector, without the ifo prefix.
        state_mask: the state vector's bits that must all be set.
        far_threshold: alert on candidates with at most this FAR (per
            year; 365.25: one a day).
        gracedb_url: the GraceDB server alerts are uploaded to; empty:
            none are.
        gracedb_group: the GraceDB group of the uploads.
        integration_window_length: moving average of the outputs (s);
            None: the window the model's time calibration used, which
            must be the offline background's (a warning says when the
            background records another).
        cluster_window_length: one event per this many seconds (s);
            None: the calibration's.
        frame_timeout: how long a late frame is waited for once later
            frames are there (s).
        poll_interval: how often the frame directories are read (s).
        start: the first frame time (GPS s); None: the newest there.
        stop: end the search at the frame time that reaches this GPS
            time, deciding the last events (replays and tests).
        serving: how the model is served: the backend, and for triton
            the address of a server that serves the repository.
    """
    check_windows(integration_window_length, cluster_window_length)
    check_not_negative(far_threshold=far_threshold)
    check_positive(frame_timeout=frame_timeout, poll_interval=poll_interval)
    model = ModelRepository.open(repository)
    integration_window_length, cluster_window_length = model.windows(
        integration_window_length, cluster_window_length
    )
    background = BackgroundEvents.read(background_file)
    p_astro = None
    if p_astro_file:
        p_astro = PAstro(PAstroModel.read(Path(p_astro_file)))
    else:
        logger.warning(
            "no p_astro_file: candidates get no p_astro, and alerts no "
            "p_astro.json"
        )
    if sorted(background.ifos) != sorted(model.ifos):
        raise RepositoryError(
            f"{background_file} is the background of {background.ifos}, "
            f"the model in {repository} analyses {model.ifos}"
        )
    check_background_windows(
        background_file,
        background,
        integration_window_length,
        cluster_window_length,
    )
    settings = FrameSettings(
        frame_dir, frame_type, channel, state_channel, state_mask
    )
    watcher = FrameWatcher(frame_dir, model.ifos, frame_type, poll_interval)
    store = CandidateStore(Path(output_dir), cluster_window_length)
    store.record_run(integration_window_length)
    alerts = GraceDbAlerts(gracedb_url, gracedb_group) if gracedb_url else None
    with open_sequences(model, serving) as sequences:
        online = OnlineSearch(
            model,
            background,
            settings,
            store,
            far_threshold,
            integration_window_length,
            cluster_window_length,
            sequences,
            alerts,
            p_astro,
        )
        logger.info(
            "searching %s frames in %s, integration window %g s, cluster "
            "window %g s: FAR from %.0f s of background, alerts at FAR <= "
            "%g per year%s",
            frame_type,
            frame_dir,
            integration_window_length,
            cluster_window_length,
            background.Tb,
            far_threshold,
            f" to {gracedb_url}" if gracedb_url else "",
        )
        try:
            gps = start if start is not None else first_frame(watcher)
            while stop is None or gps < stop:
                found = watcher.wait(gps, frame_timeout)
                if isinstance(found, Gap):
                    logger.warning(
                        "frames from GPS %d to %d are missing: skipped",
                        found.start,
                        found.resume,
                    )
                    online.end(f"at the gap from GPS {found.start}")
                    gps = found.resume
                    continue
                online.feed(found)
                gps += found.duration
            online.end(f"at GPS {gps}, the end asked for")
        finally:
            store.close()
            report_latency(online.latencies)
    return online


def check_background_windows(
    path: Path,
    background: BackgroundEvents,
    integration_window_length: float,
    cluster_window_length: float,
) -> None:
    """Warn when the offline background records other windows than the
    search's: the FARs read off it are those of another statistic."""
    recorded = tuple(
        background.attrs.get(name)
        for name in ("integration_window_length", "cluster_window_length")
    )
    used = (integration_window_length, cluster_window_length)
    if None not in recorded and tuple(map(float, recorded)) != used:
        logger.warning(
            "%s was made with integration and cluster windows %s s, the "
            "search uses %s s: its FARs are those of another statistic",
            path,
            tuple(map(float, recorded)),
            used,
        )


def first_frame(watcher: FrameWatcher) -> int:
    """The newest complete frame time, once there is one."""
    for ifo, directory in watcher.directories.items():
        if not directory.is_dir():
            logger.warning(
                "the %s frame directory %s does not exist (yet)",
                ifo,
                directory,
            )
    logger.info("waiting for frames")
    while (gps := watcher.newest()) is None:
        time.sleep(watcher.poll_interval)
    return gps


def report_latency(latencies: list[float]) -> None:
    if latencies:
        values = np.asarray(latencies)
        logger.info(
            "%d candidates stored, %.3f s after their frame (median; "
            "99%%: %.3f s)",
            values.size,
            np.median(values),
            np.quantile(values, 0.99),
        )
