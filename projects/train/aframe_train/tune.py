"""Hyperparameter search with Ray Tune over ``aframe-train fit``.

    aframe-train tune --config overrides.yaml

Each trial is one fit of the training YAML with the search space's values
(dotted keys of that YAML, e.g. ``model.learning_rate``), in its own
directory under ``<run_dir>/ray``; it reports the validation metrics after
every epoch, and ASHA stops the poor ones early.  The best trial's best
checkpoint becomes ``<run_dir>/model.pt``, as a single fit would write it.
Ray runs locally unless ``ray_address`` names a cluster, and is shut down
when the search ends.
"""

import logging
import os
from pathlib import Path

import yaml
from lightning.pytorch.callbacks import Callback

from aframe_contracts.cli import run_cli
from aframe_contracts.files import make_directory
from aframe_train.fit import fit
from aframe_train.weights import write_weights

logger = logging.getLogger("aframe_train")

# the search-space distributions a tune YAML may name: ray.tune functions
DISTRIBUTIONS = ("uniform", "loguniform", "choice", "randint", "quniform")


class ReportToRay(Callback):
    """Hand each epoch's validation metrics to Ray Tune."""

    def on_train_epoch_end(self, trainer, module):
        from ray import tune

        metrics = {
            name: float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith("valid_")
        }
        if metrics:
            tune.report({**metrics, "epoch": trainer.current_epoch})


def search_space(space: dict) -> dict:
    """``{key: {distribution: args}}`` as Ray Tune samplers."""
    from ray import tune

    samplers = {}
    for key, spec in space.items():
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ValueError(
                f"param_space.{key}: expected one distribution, e.g. "
                "{loguniform: [0.0001, 0.001]}"
            )
        ((name, args),) = spec.items()
        if name not in DISTRIBUTIONS:
            raise ValueError(
                f"param_space.{key}: unknown distribution {name!r}; use one "
                f"of {', '.join(DISTRIBUTIONS)}"
            )
        samplers[key] = getattr(tune, name)(*args)
    return samplers


def trial(config: dict, train_config: str, fit_overrides: str) -> None:
    """One trial: a fit with the sampled values, in the trial directory."""
    from ray import tune

    directory = tune.get_context().get_trial_dir()
    args = ["fit", "--config", train_config, "--config", fit_overrides]
    args += [f"--run_dir={directory}", "--trainer.enable_progress_bar=false"]
    args += [f"--{key}={value}" for key, value in config.items()]
    fit(args, callbacks=[ReportToRay()])


def tune(
    train_config: Path,
    tune_config: Path,
    fit_overrides: Path,
    run_dir: Path,
    ray_address: str = "",
) -> None:
    """Search hyperparameters; write the best trial's weights to run_dir.

    Args:
        train_config: the training YAML every trial starts from.
        tune_config: the search: num_samples, metric, mode, scheduler
            (ASHA's max_t, grace_period, reduction_factor, in epochs),
            resources_per_trial and param_space.
        fit_overrides: the YAML the pipeline adds to each fit (the shared
            physics and data paths).
        run_dir: gets ray/ (the trials) and the best model.pt/model.json.
        ray_address: an existing Ray cluster; empty starts a local Ray.
    """
    import ray
    from ray import tune as ray_tune
    from ray.tune.schedulers import ASHAScheduler

    spec = yaml.safe_load(Path(tune_config).read_text())
    metric, mode = spec.get("metric", "valid_auroc"), spec.get("mode", "max")
    scheduler = ASHAScheduler(
        time_attr="training_iteration", **spec.get("scheduler", {})
    )
    resources = spec.get("resources_per_trial", {"cpu": 1, "gpu": 0})
    run_dir = Path(run_dir).resolve()
    make_directory(run_dir)
    if ray_address:
        ray.init(address=ray_address)
    else:
        ray.init(
            num_cpus=os.cpu_count(),
            include_dashboard=False,
            log_to_driver=True,
        )
    try:
        trainable = ray_tune.with_parameters(
            trial,
            train_config=str(Path(train_config).resolve()),
            fit_overrides=str(Path(fit_overrides).resolve()),
        )
        tuner = ray_tune.Tuner(
            ray_tune.with_resources(trainable, resources),
            param_space=search_space(spec.get("param_space", {})),
            tune_config=ray_tune.TuneConfig(
                metric=metric,
                mode=mode,
                scheduler=scheduler,
                num_samples=spec.get("num_samples", 1),
            ),
            run_config=ray_tune.RunConfig(
                name="tune", storage_path=str(run_dir / "ray")
            ),
        )
        results = tuner.fit()
        best = results.get_best_result(metric, mode, scope="all")
    finally:
        ray.shutdown()
    if best is None or best.metrics is None:
        raise RuntimeError("no trial of the search reported its metric")
    checkpoint = Path(best.path) / "checkpoints" / "best.ckpt"
    score = float(best.metrics_dataframe[metric].agg(mode))
    logger.info("best trial %s: %s %.4f", best.path, metric, score)
    write_weights(checkpoint, run_dir, score)


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-train tune", tune, ValueError, args)
