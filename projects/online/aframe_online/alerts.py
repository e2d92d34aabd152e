"""Alerts: significant candidates uploaded to GraceDB.

Uploads go through the ligo-gracedb client (``GraceDb.create_event``) to
the server URL the configuration names; with none named nothing is
uploaded, and the JSON alert records are the only alerts.  The client
authenticates as it does elsewhere (a SciToken or X.509 proxy in the
environment); without credentials it connects unauthenticated, which a
real GraceDB refuses for uploads, and says so in the log.

A candidate with a p_astro gets its ``p_astro.json`` (GraceDB's source
classes) attached to the event, as a log message tagged ``p_astro``, the
way GraceDB shows it.

An alert is uploaded at its first crossing; a louder event within the
cluster window after it replaces the event file of the same GraceDB
event (``GraceDb.replace_event``), with its p_astro.json again, rather
than creating a second event.

A failed upload never stops the search: it is logged, and the candidate
stays in the store without a GraceDB id (a failed p_astro upload keeps
the id, and is logged).
"""

import json
import logging

from aframe_online.store import Candidate

logger = logging.getLogger("aframe_online")


class GraceDbAlerts:
    """Upload candidates to one GraceDB server.

    Args:
        url: the server's API root, e.g. https://gracedb-test.ligo.org/api/.
        group: the analysis group (``Test`` until the search is trusted,
            then ``CBC``).
        search: the search type (``AllSky``).
    """

    def __init__(self, url: str, group: str = "Test", search: str = "AllSky"):
        from ligo.gracedb.rest import GraceDb

        self.url = url
        self.group = group
        self.search = search
        # few retries: a candidate waits for its upload
        self.client = GraceDb(service_url=url, retries=2)

    def upload(self, candidate: Candidate) -> str | None:
        """Create the event; return its GraceDB id, or None on failure."""
        try:
            response = self.client.create_event(
                self.group,
                "aframe",
                event_file(candidate),
                search=self.search,
                filecontents=json.dumps(candidate.record()),
            )
            graceid = str(response.json()["graceid"])
        except Exception as error:
            # the client raises HTTPError, connection errors, or KeyError
            # for an answer without an id: each is one failed upload
            self.failed("upload of", candidate, error)
            return None
        logger.info(
            "uploaded the candidate at %.3f to %s as %s",
            candidate.gps_time,
            self.url,
            graceid,
        )
        self.attach_p_astro(graceid, candidate)
        return graceid

    def replace(self, graceid: str, candidate: Candidate) -> None:
        """Replace the event file of ``graceid`` with a louder event's."""
        try:
            self.client.replace_event(
                graceid,
                event_file(candidate),
                filecontents=json.dumps(candidate.record()),
            )
        except Exception as error:
            self.failed(f"update of {graceid} by", candidate, error)
            return
        logger.info(
            "updated %s on %s to the candidate at %.3f",
            graceid,
            self.url,
            candidate.gps_time,
        )
        self.attach_p_astro(graceid, candidate)

    def attach_p_astro(self, graceid: str, candidate: Candidate) -> None:
        classes = candidate.p_astro_file()
        if classes is None:
            return
        try:
            self.client.writeLog(
                graceid,
                "source classification (p_astro)",
                filename="p_astro.json",
                filecontents=json.dumps(classes),
                tag_name=["p_astro"],
            )
        except Exception as error:
            logger.error(
                "the p_astro.json of %s did not reach %s: %s",
                graceid,
                self.url,
                error,
            )

    def failed(self, what: str, candidate: Candidate, error) -> None:
        logger.error(
            "GraceDB %s the candidate at %.3f to %s failed: %s",
            what,
            candidate.gps_time,
            self.url,
            error,
        )


def event_file(candidate: Candidate) -> str:
    """The name of a candidate's event file on GraceDB."""
    return f"aframe-{candidate.gps_time:.3f}.json"
