"""The online store: p_astro, its column and the alert's p_astro.json;
an alert replaced by a louder event; a store written before either."""

import json
import sqlite3

from aframe_online.store import DATABASE, Candidate, CandidateStore


def candidate(gps_time: float, p_astro: float | None) -> Candidate:
    return Candidate(
        gps_time, 5.0, 1.0, ["H1", "L1"], "1:x", "f", 0.0, p_astro
    )


def test_an_alert_carries_gracedbs_p_astro_file(tmp_path):
    store = CandidateStore(tmp_path, cluster_length=8.0)
    store.add(candidate(1e9, 0.75), alert=True)
    store.add(candidate(1e9 + 20, None), alert=True)
    rows = store.candidates()
    store.close()
    assert [row["p_astro"] for row in rows] == [0.75, None]
    alerts = tmp_path / "alerts"
    classes = json.loads((alerts / "1000000000.000.p_astro.json").read_text())
    assert classes == {
        "BBH": 0.75,
        "BNS": 0.0,
        "NSBH": 0.0,
        "Terrestrial": 0.25,
    }
    record = json.loads((alerts / "1000000000.000.json").read_text())
    assert record["p_astro"] == 0.75
    # without a p_astro there is no file to claim one
    assert not (alerts / "1000000020.000.p_astro.json").exists()


def test_an_alert_takes_a_louder_events_values(tmp_path):
    store = CandidateStore(tmp_path, cluster_length=8.0)
    crossing = Candidate(1e9, 2.0, 10.0, ["H1", "L1"], "1:x", "f", 0.0, 0.1)
    row, _ = store.add(crossing, alert=True, final=False)
    peak = Candidate(1e9 + 0.5, 4.0, 2.0, ["H1", "L1"], "1:x", "g", 1.0, 0.6)
    store.replace(row, peak)
    louder = Candidate(1e9 + 3, 5.0, 1.0, ["H1", "L1"], "1:x", "h", 2.0, 0.8)
    store.replace(row, louder)
    rows = store.candidates()
    store.close()
    # the alert's row has the loudest event's values, keeps when and from
    # which frame it was first stored, and its alert record's name
    alert = next(r for r in rows if r["id"] == row)
    assert (alert["gps_time"], alert["detection_statistic"]) == (1e9 + 3, 5.0)
    assert (alert["far"], alert["p_astro"], alert["final"]) == (1.0, 0.8, 1)
    assert (alert["frame"], alert["alert"]) == ("f", "1000000000.000.json")
    assert alert["updated"] is not None
    # the event it gave way to keeps a row, without an alert; the
    # crossing's values are gone
    assert [
        (r["gps_time"], r["detection_statistic"], r["alert"], r["final"])
        for r in rows
        if r["id"] != row
    ] == [(1e9 + 0.5, 4.0, None, 1)]
    alerts = tmp_path / "alerts"
    record = json.loads((alerts / "1000000000.000.json").read_text())
    assert (record["gpstime"], record["detection_statistic"]) == (1e9 + 3, 5)
    classes = json.loads((alerts / "1000000000.000.p_astro.json").read_text())
    assert classes["BBH"] == 0.8


def test_a_store_from_before_p_astro_gains_the_columns(tmp_path):
    connection = sqlite3.connect(tmp_path / DATABASE)
    connection.executescript(
        "CREATE TABLE candidates (id INTEGER PRIMARY KEY, gps_time REAL "
        "NOT NULL, detection_statistic REAL NOT NULL, far REAL NOT NULL, "
        "ifos TEXT NOT NULL, model TEXT NOT NULL, frame TEXT NOT NULL, "
        "frame_on_disk REAL NOT NULL, stored REAL NOT NULL, latency REAL "
        "NOT NULL, alert TEXT, gracedb_id TEXT, run INTEGER NOT NULL);"
        "INSERT INTO candidates (gps_time, detection_statistic, far, ifos,"
        " model, frame, frame_on_disk, stored, latency, run) VALUES "
        "(5e8, 3.0, 2.0, 'H1,L1', '1:x', 'f', 0, 0, 0, 1);"
    )
    connection.close()
    store = CandidateStore(tmp_path, cluster_length=8.0)
    store.add(candidate(1e9, 0.5), alert=False)
    rows = store.candidates()
    store.close()
    assert [
        (row["run"], row["p_astro"], row["final"], row["updated"])
        for row in rows
    ] == [(1, None, 1, None), (2, 0.5, 1, None)]
