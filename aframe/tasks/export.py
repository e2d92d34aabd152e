"""Export: the trained detector as a Triton model repository."""

from pathlib import Path

import law
import luigi

from aframe.base import StageCall, StageTask, resolve_config_path
from aframe.tasks.train import TrainedModelParams
from aframe_contracts.errors import ContractError
from aframe_contracts.files import sha256
from aframe_contracts.repository import Manifest


class Export(TrainedModelParams, StageTask):
    """Write the detector, the whitener and the snapshotter for Triton.

    The repository's manifest, written last, records what was exported.
    """

    stage = "export"
    uses_gpu = True

    export_config = luigi.Parameter(
        description="the export YAML (platform, instances); relative "
        "paths are relative to the cfg"
    )

    def requires(self):
        return self.train_task.req(self)

    def output(self):
        return law.LocalFileTarget(
            self.root("results") / "model_repo" / "manifest.json"
        )

    def configs(self):
        return (resolve_config_path(self.export_config),)

    def complete(self):
        """Done when the repository holds the current weights.

        New weights (a retrained model) make the export incomplete again;
        the stage then writes a new version beside the old one.
        """
        weights = Path(self.input().path)
        try:
            manifest = Manifest.read(Path(self.output().path).parent)
        except ContractError:
            return False
        return (
            weights.exists()
            and manifest.weights_sha256 == sha256(weights)
            and self.up_to_date()
        )

    def stage_call(self):
        return StageCall(
            "export",
            {
                "weights": self.input().path,
                "repository": str(Path(self.output().path).parent),
                "ifos": list(self.ifos),
                "sample_rate": self.sample_rate,
                "kernel_length": self.kernel_length,
                "fduration": self.fduration,
                "psd_length": self.inference_psd_length,
                "inference_sampling_rate": self.inference_sampling_rate,
                "batch_size": self.inference_batch_size,
                "streams_per_gpu": self.streams_per_gpu,
            },
            configs=self.configs(),
        )
