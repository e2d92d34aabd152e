"""The aframe-train command line.

    aframe-train fit --config train.yaml --config overrides.yaml
    aframe-train tune --config overrides.yaml

``fit`` (and Lightning's other commands) is a LightningCLI over the model
and its data (``aframe_train.fit``); ``tune`` a Ray Tune search over such
fits (``aframe_train.tune``).  Both end with the best model's weights in
the run directory (``aframe_train.weights``).
"""

import logging
import sys

from aframe_contracts.cli import stop_on_signals


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    args = sys.argv[1:] if args is None else args
    # Lightning calls this SIGTERM handler after its own (which stops the
    # other ranks): the fit ends at once with 143, where Lightning alone
    # would end it at the batch's end with status 0
    stop_on_signals()
    # each imports torch and Lightning (and tune, Ray): only the one asked
    if args[:1] == ["tune"]:
        from aframe_train import tune

        return tune.main(args[1:])
    from aframe_train import fit

    return fit.main(args)
