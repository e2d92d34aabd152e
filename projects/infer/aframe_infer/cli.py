"""The aframe-infer command line.

aframe-infer calibrate --config overrides.yaml # the model's time window
aframe-infer analyse --config overrides.yaml   # one (chunk, timeslide)
aframe-infer background --config overrides.yaml  # a chunk's timeslides
aframe-infer aggregate --config overrides.yaml # all branches' events
aframe-infer mlgwsc --input-file X.hdf --output-file Y.hdf --repository R
aframe-infer mlgwsc-data / mlgwsc-score / mlgwsc-benchmark  # MLGWSC-1

Those that serve the model take ``--serving.backend local|triton``
(``--serving.triton_url``, ``--serving.triton_server``).
"""

from aframe_contracts.cli import run_cli
from aframe_contracts.errors import DataError
from aframe_infer.benchmark import (
    mlgwsc,
    mlgwsc_benchmark,
    mlgwsc_data,
    mlgwsc_score,
)
from aframe_infer.challenge import ChallengeError
from aframe_infer.search import aggregate, analyse, background
from aframe_infer.timing import calibrate
from aframe_serving.errors import RepositoryError, ServerError, StreamError


def main(args: list[str] | None = None) -> int:
    return run_cli(
        "aframe-infer",
        {
            "calibrate": calibrate,
            "analyse": analyse,
            "background": background,
            "aggregate": aggregate,
            "mlgwsc": mlgwsc,
            "mlgwsc-data": mlgwsc_data,
            "mlgwsc-score": mlgwsc_score,
            "mlgwsc-benchmark": mlgwsc_benchmark,
        },
        (
            RepositoryError,
            ServerError,
            StreamError,
            DataError,
            ChallengeError,
        ),
        args,
    )
