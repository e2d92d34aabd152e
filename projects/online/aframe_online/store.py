"""The online search's record: every candidate in an SQLite database, and
a JSON file for each one significant enough to alert on.

``<output_dir>/candidates.sqlite`` has two tables, ``candidates``:

| column | what |
| --- | --- |
| gps_time | the estimated coalescence time (GPS s) |
| detection_statistic | the integrated network output |
| far | false alarm rate from the offline background (per year) |
| p_astro | probability it is a BBH, not noise; NULL: no p_astro model |
| ifos | the interferometers, comma-separated |
| model | the repository's version and manifest digest |
| frame | the frame file whose data made the candidate (first stored) |
| frame_on_disk | when that frame was on disk (its mtime, Unix s) |
| stored | when the candidate was first stored (Unix s) |
| latency | stored - frame_on_disk (s) |
| alert | the alert record's file name, or NULL below the threshold |
| gracedb_id | the event's GraceDB id once uploaded, or NULL |
| run | which start of the search stored it (1, 2, ...) |
| final | 1: an offline event; 0: a first crossing, not replaced |
| updated | when an event replaced a crossing's values (Unix s) |

An alert is stored at the first crossing of the alert level, and its
row then takes the values of the louder final events within the cluster
window after it (``replace``): one row, one alert record and one GraceDB
event per alert.  A final event it gave way to keeps a row of its own,
so the final rows are the offline search's events.

and ``runs``, the windows each run found its candidates with (the
model's calibrated ones unless others were given):

| column | what |
| --- | --- |
| run | the run, as in ``candidates`` |
| integration_window_length | the statistic's moving average (s) |
| cluster_window_length | one event per this many seconds (s) |
| started | when the run started (Unix s) |

and ``<output_dir>/alerts/<gps_time>.json`` the record of each candidate
whose FAR is at most the alert threshold, with
``<gps_time>.p_astro.json`` beside it, GraceDB's p_astro file, when the
candidate has a p_astro; both written atomically, named by the time the
alert was first stored with and rewritten when its values are replaced.  SQLite
keeps the database whole through a crash: a candidate is stored or not.
"""

import json
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from aframe_contracts.events import SECONDS_PER_YEAR
from aframe_contracts.files import make_directory, write_atomic

DATABASE = "candidates.sqlite"
ALERTS = "alerts"
# the columns a store made before them lacks, and their types
ADDED_COLUMNS = {
    "p_astro": "REAL",
    "final": "INTEGER NOT NULL DEFAULT 1",
    "updated": "REAL",
}
# the columns of a candidate's values, which ``replace`` changes
VALUES = ("gps_time", "detection_statistic", "far", "p_astro")

SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    gps_time REAL NOT NULL,
    detection_statistic REAL NOT NULL,
    far REAL NOT NULL,
    p_astro REAL,
    ifos TEXT NOT NULL,
    model TEXT NOT NULL,
    frame TEXT NOT NULL,
    frame_on_disk REAL NOT NULL,
    stored REAL NOT NULL,
    latency REAL NOT NULL,
    alert TEXT,
    gracedb_id TEXT,
    run INTEGER NOT NULL,
    final INTEGER NOT NULL DEFAULT 1,
    updated REAL
);
CREATE INDEX IF NOT EXISTS by_time ON candidates (gps_time);
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY,
    integration_window_length REAL NOT NULL,
    cluster_window_length REAL NOT NULL,
    started REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Candidate:
    """An online event with its significance."""

    gps_time: float
    detection_statistic: float
    far: float  # per year
    ifos: list[str]
    model: str
    frame: str
    frame_on_disk: float
    p_astro: float | None = None
    # the strain channels searched, "H1:GDS-CALIB_STRAIN_CLEAN", ...
    channels: tuple[str, ...] = ()

    def p_astro_file(self) -> dict | None:
        """GraceDB's p_astro.json: the probability of each source class.
        This search looks for BBHs only, so every astrophysical
        candidate is a BBH; None without a p_astro."""
        if self.p_astro is None:
            return None
        return {
            "BBH": self.p_astro,
            "BNS": 0.0,
            "NSBH": 0.0,
            "Terrestrial": 1.0 - self.p_astro,
        }

    def record(self) -> dict:
        """The alert record, the event file uploaded to GraceDB: GraceDB's
        names (gpstime, far in Hz, ifos and channels comma-separated, the
        time's whole seconds and nanoseconds) first."""
        seconds = math.floor(self.gps_time)
        return {
            "gpstime": self.gps_time,
            "far": self.far / SECONDS_PER_YEAR,
            "ifos": ",".join(self.ifos),
            "channels": ",".join(self.channels),
            "end_time": seconds,
            "end_time_ns": round((self.gps_time - seconds) * 1e9),
            "pipeline": "aframe",
            "detection_statistic": self.detection_statistic,
            "far_per_year": self.far,
            "p_astro": self.p_astro,
            "model": self.model,
            "frame": self.frame,
            "frame_on_disk": self.frame_on_disk,
        }


def p_astro_name(alert: str) -> str:
    """The name of the p_astro file beside an alert record."""
    return alert.removesuffix(".json") + ".p_astro.json"


class CandidateStore:
    """The candidates of one online experiment.

    Each start of the search is a new run.  A run's events are distinct
    (the stream's clustering makes them so), but a run that analyses
    data an earlier one did finds its candidates again, a little apart
    in time: a candidate within half a cluster window of an earlier
    run's is that one, and is neither stored nor alerted again.

    Args:
        directory: the search's output directory.
        cluster_length: the cluster window (s).
    """

    def __init__(self, directory: Path, cluster_length: float) -> None:
        self.directory = Path(directory)
        make_directory(self.directory)
        self.cluster_length = cluster_length
        self.connection = sqlite3.connect(self.directory / DATABASE)
        with self.connection:
            self.connection.executescript(SCHEMA)
            columns = {
                row[1]
                for row in self.connection.execute(
                    "PRAGMA table_info(candidates)"
                )
            }
            # a store from before these columns: its candidates have no
            # p_astro, and are final events stored once
            for name, kind in ADDED_COLUMNS.items():
                if name not in columns:
                    self.connection.execute(
                        f"ALTER TABLE candidates ADD COLUMN {name} {kind}"
                    )
        (last,) = self.connection.execute(
            "SELECT MAX(run) FROM candidates"
        ).fetchone()
        self.run = (last or 0) + 1

    def record_run(self, integration_length: float) -> None:
        """Record the windows this run searches with in ``runs``: the
        integration window (s), and the store's cluster window.  A run
        that stored no candidate left its number to this one, whose row
        replaces its."""
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO runs (run, integration_window_length,"
                " cluster_window_length, started) VALUES (?, ?, ?, ?)",
                (
                    self.run,
                    integration_length,
                    self.cluster_length,
                    time.time(),
                ),
            )

    def close(self) -> None:
        self.connection.close()

    def known(self, gps_time: float) -> bool:
        """Whether an earlier run stored this candidate: one within half
        a cluster window."""
        half = self.cluster_length / 2
        row = self.connection.execute(
            "SELECT 1 FROM candidates WHERE run < ? AND "
            "gps_time BETWEEN ? AND ?",
            (self.run, gps_time - half, gps_time + half),
        ).fetchone()
        return row is not None

    def add(
        self, candidate: Candidate, alert: bool, final: bool = True
    ) -> tuple[int, float] | None:
        """Store a candidate (and its alert record when ``alert``);
        ``final``: False for a first crossing.  Return its row and its
        latency (s), or None when an earlier run stored it."""
        if self.known(candidate.gps_time):
            return None
        name = None
        if alert:
            name = f"{candidate.gps_time:.3f}.json"
            self.write_alert(name, candidate)
        stored = time.time()
        latency = stored - candidate.frame_on_disk
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO candidates (gps_time, detection_statistic, far,"
                " p_astro, ifos, model, frame, frame_on_disk, stored, latency,"
                " alert, run, final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                (
                    candidate.gps_time,
                    candidate.detection_statistic,
                    candidate.far,
                    candidate.p_astro,
                    ",".join(candidate.ifos),
                    candidate.model,
                    candidate.frame,
                    candidate.frame_on_disk,
                    stored,
                    latency,
                    name,
                    self.run,
                    int(final),
                ),
            )
        return cursor.lastrowid, latency

    def replace(self, row: int, candidate: Candidate) -> None:
        """Give a stored alert the values of a louder final event (its
        time, statistic, FAR and p_astro), and rewrite its alert record.
        A final event the row held before keeps a row of its own, without
        an alert."""
        (before,) = self.rows("SELECT * FROM candidates WHERE id = ?", (row,))
        with self.connection:
            if before["final"]:
                kept = {
                    k: v
                    for k, v in before.items()
                    if k not in ("id", "alert", "gracedb_id", "updated")
                }
                self.connection.execute(
                    f"INSERT INTO candidates ({', '.join(kept)}) VALUES "
                    f"({', '.join('?' * len(kept))})",
                    tuple(kept.values()),
                )
            self.connection.execute(
                "UPDATE candidates SET gps_time = ?, detection_statistic = ?,"
                " far = ?, p_astro = ?, final = 1, updated = ? WHERE id = ?",
                (
                    *(getattr(candidate, name) for name in VALUES),
                    time.time(),
                    row,
                ),
            )
        if before["alert"]:
            self.write_alert(before["alert"], candidate)

    def write_alert(self, name: str, candidate: Candidate) -> None:
        """The alert record ``name`` of a candidate, and its p_astro file
        beside it when it has a p_astro."""
        classes = candidate.p_astro_file()
        if classes is not None:
            write_atomic(
                self.directory / ALERTS / p_astro_name(name),
                json.dumps(classes, indent=2) + "\n",
            )
        record = json.dumps(candidate.record(), indent=2) + "\n"
        write_atomic(self.directory / ALERTS / name, record)

    def uploaded(self, row: int, gracedb_id: str) -> None:
        """Record the GraceDB id of the candidate in ``row``."""
        with self.connection:
            self.connection.execute(
                "UPDATE candidates SET gracedb_id = ? WHERE id = ?",
                (gracedb_id, row),
            )

    def candidates(self) -> list[dict]:
        """Every stored candidate, by time."""
        return self.rows("SELECT * FROM candidates ORDER BY gps_time")

    def runs(self) -> list[dict]:
        """Every run's windows, by run."""
        return self.rows("SELECT * FROM runs ORDER BY run")

    def rows(self, query: str, parameters: tuple = ()) -> list[dict]:
        cursor = self.connection.execute(query, parameters)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
