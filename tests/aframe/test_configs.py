"""Every shipped config parses, through the loaders that read it."""

import json

import law
import pytest
import yaml

from aframe import paths
from aframe.init import MODE_FILES, presets
from aframe.parameters import SHARED_PARAMETERS, PipelineParams
from aframe.pipelines.sandbox import Sandbox, Tune


@pytest.mark.parametrize("preset", presets())
@pytest.mark.parametrize("mode", list(MODE_FILES))
def test_cfg_layers_parse(experiment, mode, preset):
    """law resolves the layers, and every [pipeline] value parses."""
    experiment(mode, preset)
    cfg = law.config.Config.instance()
    params = dict(PipelineParams.get_params())
    for name in SHARED_PARAMETERS:
        param = params[name]
        assert cfg.has_option("pipeline", name), name
        param.parse(cfg.get_expanded("pipeline", name))
    pipeline = {"sandbox": Sandbox, "tune": Tune, "review": Sandbox}[mode]()
    if preset in ("quickstart", "mlgwsc1"):
        assert pipeline.data_source == "simulated"
        assert pipeline.sample_rate == 1024
        # the MLGWSC-1 preset scores datasets 1 and 3, on seeds its
        # training never sees
        assert pipeline.mlgwsc_datasets == (
            (1, 3) if preset == "mlgwsc1" else ()
        )
    elif mode == "review":
        # upstream's review spans, a month of background
        assert pipeline.data_source == "gwosc"
        assert (pipeline.train_start, pipeline.test_stop) == (
            1250900000,
            1251109263,
        )
        assert pipeline.Tb == 30 * 24 * 3600
    else:
        assert pipeline.data_source == "gwosc"
        assert pipeline.sample_rate == 2048
        assert pipeline.Tb == 365 * 24 * 3600
    # the exit status of a failed run is not luigi's default of 0
    assert cfg.get_expanded("luigi_retcode", "task_failed") == "30"


def shipped_yamls():
    folders = [paths.CONFIG_DIR, *(paths.CONFIG_DIR / "presets").iterdir()]
    return [p for folder in folders for p in sorted(folder.glob("*.yaml"))]


@pytest.mark.parametrize(
    "path", shipped_yamls(), ids=lambda p: str(p.relative_to(paths.CONFIG_DIR))
)
def test_stage_yamls_hold_no_shared_parameter(path):
    """The shared physics is set once, in the cfg, never in a stage YAML."""
    config = yaml.safe_load(path.read_text())
    assert isinstance(config, dict)
    shared = set(SHARED_PARAMETERS)

    def keys(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)

    assert not shared & set(keys(config))


def preset_files(name):
    """The shipped copies of one stage YAML: default and each preset's."""
    found = [paths.CONFIG_DIR / name]
    found += sorted((paths.CONFIG_DIR / "presets").glob(f"*/{name}"))
    return found


@pytest.mark.parametrize(
    "path",
    preset_files("train.yaml"),
    ids=lambda p: str(p.relative_to(paths.CONFIG_DIR)),
)
def test_train_yamls_parse_against_the_train_cli(path, tmp_path, capsys):
    from aframe_train.cli import main

    # what the Train task adds: the shared physics and the data paths
    overrides = tmp_path / "fit.yaml"
    overrides.write_text(
        json.dumps(
            {
                "run_dir": str(tmp_path),
                "data": {
                    "ifos": ["H1", "L1"],
                    "sample_rate": 2048,
                    "kernel_length": 1.5,
                    "fduration": 1,
                    "psd_length": 8,
                    "highpass": 32,
                    "background_files": ["b.hdf5"],
                    "training_waveforms": ["w.hdf5"],
                    "validation_waveforms": "v.hdf5",
                },
            }
        )
    )
    args = ["fit", "--config", str(path), "--config", str(overrides)]
    with pytest.raises(SystemExit) as exit:
        main([*args, "--print_config"])
    assert exit.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    # every model setting of the yaml reaches the model
    for name, value in yaml.safe_load(path.read_text())["model"].items():
        assert printed["model"][name] == value, name
    assert printed["data"]["ifos"] == ["H1", "L1"]


@pytest.mark.parametrize(
    "path",
    preset_files("export.yaml"),
    ids=lambda p: str(p.relative_to(paths.CONFIG_DIR)),
)
def test_export_yamls_parse_against_the_export_cli(path, capsys):
    from aframe_export.cli import main

    args = ["export", "--config", str(path), "--weights=m.pt"]
    args += ["--repository=r", "--ifos=[H1,L1]", "--sample_rate=2048"]
    args += ["--kernel_length=1.5", "--fduration=1", "--psd_length=64"]
    args += ["--inference_sampling_rate=4", "--batch_size=128"]
    assert main([*args, "--print_config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["platform"] in (
        "auto",
        "onnx",
        "tensorrt",
    )


@pytest.mark.parametrize(
    "path",
    preset_files("tune.yaml"),
    ids=lambda p: str(p.relative_to(paths.CONFIG_DIR)),
)
def test_tune_yamls_parse_against_the_tune_stage(path):
    from ray.tune.schedulers import ASHAScheduler

    from aframe_train.tune import search_space

    spec = yaml.safe_load(path.read_text())
    assert search_space(spec["param_space"])
    ASHAScheduler(time_attr="training_iteration", **spec["scheduler"])
    assert set(spec["resources_per_trial"]) <= {"cpu", "gpu"}
    assert spec["metric"] == "valid_auroc" and spec["mode"] == "max"
