"""An exported model repository, opened once for a command.

Every command that takes a repository (analyse, calibrate, the MLGWSC-1
commands, the online search) opens it with ``ModelRepository.open``: the
manifest is read and every file of its version checked against the
checksum export recorded, once, and its stream geometry and time
calibration (``timing.json``) come with it.  The engines, the streams and
the event windows all read them from here.

A model's integration and cluster windows are those it was calibrated
with, unless a command is given others (``windows``): its calibrated time
window holds for those only, so a command that uses it with other
windows says so (``time_window``).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from aframe_contracts.errors import ContractError
from aframe_contracts.repository import TIMING_FILE, Manifest, TimeCalibration
from aframe_serving.errors import RepositoryError
from aframe_serving.stream import Geometry

logger = logging.getLogger("aframe_serving")


@dataclass(frozen=True)
class ModelRepository:
    """A verified model repository.

    Args:
        path: the repository's directory.
        manifest: its manifest, verified against its files.
        geometry: the stream geometry the manifest records.
        calibration: its time calibration, when ``timing.json`` measured
            this version and weights; None otherwise.
        uncalibrated: why there is no calibration (the error of a
            command that needs one).
    """

    path: Path
    manifest: Manifest
    geometry: Geometry
    calibration: TimeCalibration | None
    uncalibrated: str = ""

    @classmethod
    def open(cls, path: Path) -> "ModelRepository":
        """Read and verify the repository at ``path``.

        Raises:
            ContractError: it is no exported repository, or its manifest
                or one of its files changed since export.
        """
        path = Path(path)
        manifest = Manifest.read(path)
        manifest.verify(path)
        calibration, uncalibrated = read_calibration(path, manifest)
        return cls(
            path,
            manifest,
            Geometry.from_manifest(manifest),
            calibration,
            uncalibrated,
        )

    @property
    def ifos(self) -> list[str]:
        """The stream's channels, in order."""
        return list(self.manifest.ifos)

    @property
    def sample_rate(self) -> float:
        """Strain samples per second (Hz)."""
        return self.manifest.sample_rate

    @property
    def timing(self) -> TimeCalibration:
        """The time calibration of this version of the model.

        Raises:
            RepositoryError: there is none, or it measured other weights.
        """
        if self.calibration is None:
            raise RepositoryError(self.uncalibrated)
        return self.calibration

    def windows(
        self, integration: float | None, cluster: float | None
    ) -> tuple[float, float]:
        """The integration and cluster windows of a command (s): those
        given, else those the model was calibrated with.

        Raises:
            RepositoryError: a window is not given, and the model has no
                calibration to take it from.
        """
        if integration is not None and cluster is not None:
            return integration, cluster
        if self.calibration is None:
            raise RepositoryError(
                "give integration_window_length and cluster_window_length: "
                "the model's own are those of its calibration, and "
                + self.uncalibrated
            )
        timing = self.calibration
        integration = (
            timing.integration_window_length
            if integration is None
            else integration
        )
        cluster = timing.cluster_window_length if cluster is None else cluster
        logger.info(
            "integration window %g s, cluster window %g s (the model "
            "was calibrated with %g s and %g s)",
            integration,
            cluster,
            timing.integration_window_length,
            timing.cluster_window_length,
        )
        return integration, cluster

    def time_window(self, integration: float, cluster: float) -> float:
        """The model's calibrated time window (s); a warning when it was
        measured with other integration or cluster windows than these.

        Raises:
            RepositoryError: the model has no calibration.
        """
        timing = self.timing
        calibrated = (
            timing.integration_window_length,
            timing.cluster_window_length,
        )
        if calibrated != (integration, cluster):
            logger.warning(
                "the time window %.3f s was calibrated with integration and "
                "cluster windows %s s, not %s s: it may not hold",
                timing.half_width,
                calibrated,
                (integration, cluster),
            )
        return timing.half_width

    def check_strain(
        self, what: str, sample_rate: float, ifos: list[str]
    ) -> None:
        """Refuse strain of another rate, or without one of the model's
        ifos, before any of it is streamed.

        Raises:
            RepositoryError: names ``what``, its rate and ifos, and the
                model's.
        """
        if sample_rate != self.sample_rate or set(self.ifos) - set(ifos):
            raise RepositoryError(
                f"{what} ({sample_rate} Hz, {sorted(ifos)}) does not match "
                f"the model ({self.sample_rate} Hz, {self.ifos})"
            )


def read_calibration(
    path: Path, manifest: Manifest
) -> tuple[TimeCalibration | None, str]:
    """The repository's time calibration, if it measured the manifest's
    version and weights; else None and why."""
    timing = path / TIMING_FILE
    if not timing.exists():
        return None, (
            f"{timing} is missing: measure the model's time window with "
            "`aframe-infer calibrate`, or give the window yourself"
        )
    try:
        calibration = TimeCalibration.read(path)
    except ContractError as error:
        return None, (
            f"{timing} is not a timing calibration this aframe reads "
            f"({error}): run `aframe-infer calibrate` again"
        )
    if not calibration.measured(manifest):
        return None, (
            f"{timing} measured version {calibration.version} of the model, "
            f"but the repository now holds version {manifest.version}: run "
            "`aframe-infer calibrate` again"
        )
    return calibration, ""
