"""Fixtures shared by the test suite."""

import signal
from pathlib import Path

import law
import luigi
import pytest
from law.job.dashboard import NoJobDashboard
from law.util import mp_manager
from luigi.cmdline_parser import CmdlineParser

from aframe import paths, provenance
from aframe.init import init


def reset_config() -> None:
    """Forget the law and luigi configuration and luigi's task instances.

    Both keep their configuration in process-wide singletons, luigi
    caches task instances by their parameters, and law remembers which
    local workflows yielded their branches (by task id, so a workflow of
    the same parameters in the next test would not run its branches);
    aframe keeps the digests of task records by task id.
    """
    provenance.forget()
    law.config.Config._instance = None
    luigi.configuration.LuigiConfigParser._instance = None
    luigi.task_register.Register.clear_instance_cache()
    mp_manager.get("local_workflow_tasks_yielded", "dict").clear()


def load_law_config(cfg: Path) -> None:
    """Make law and luigi read ``cfg`` as if the process started with it."""
    reset_config()
    law.config.Config.instance(str(cfg))


def first_job_file(task: law.BaseWorkflow, monkeypatch, *branches) -> Path:
    """The job file law writes for ``task``'s job of ``branches`` (the
    arguments of its scheduler's ``create_job_file``), as ``law run``
    would write it before submitting.

    law builds the job's command line from the one it was started with,
    so a luigi command line is set up as ``law run`` would.
    """
    for name in ("_root_task_parser", "_global_cmdline_args", "_full_parser"):
        monkeypatch.setattr(law.parser, name, None)
    with CmdlineParser.global_instance([task.task_family]):
        proxy = task.workflow_proxy
        proxy.dashboard = NoJobDashboard()
        proxy.job_file_factory = proxy.create_job_file_factory()
        return Path(proxy.create_job_file(*branches)["job"])


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """A factory of experiment directories, loaded as the law config.

    ``experiment(mode, preset)`` runs aframe-init into ``tmp_path/exp``,
    exports the data roots run.sh would export, and loads the mode's cfg.
    """

    def make(mode: str = "sandbox", preset: str = "quickstart") -> Path:
        directory = tmp_path / f"{mode}-{preset}"
        init(directory, mode, preset)
        for name, variable in paths.ROOTS.items():
            monkeypatch.setenv(
                variable, str(directory / paths.ROOT_LAYOUT[name])
            )
        cfg = directory / f"{mode}.cfg"
        monkeypatch.setenv("LAW_CONFIG_FILE", str(cfg))
        load_law_config(cfg)
        return directory

    yield make
    reset_config()


@pytest.fixture(
    params=[signal.SIG_DFL, signal.SIG_IGN],
    ids=["sigint-default", "sigint-ignored"],
)
def inherited_sigint(request):
    """A ``preexec_fn`` starting a process with SIGINT at the default or
    ignored, as a non-interactive shell's ``&`` and ``nohup`` leave it:
    a process of ours that ends on signals must do so either way."""
    return lambda: signal.signal(signal.SIGINT, request.param)


def pytest_addoption(parser):
    parser.addoption(
        "--run-network",
        action="store_true",
        help="run the tests that fetch data from GWOSC",
    )


def pytest_collection_modifyitems(config, items):
    """Skip, with the reason shown, tests whose optional part is missing."""
    from aframe_serving.server import default_server

    if not (default_server() / "bin" / "python").exists():
        skip = pytest.mark.skip(
            reason=f"no Triton server environment at {default_server()} "
            "(build it with `make triton-env`; make test does)"
        )
        for item in items:
            if "triton" in item.keywords:
                item.add_marker(skip)
    if not config.getoption("--run-network"):
        skip = pytest.mark.skip(
            reason="needs internet access to GWOSC (pass --run-network)"
        )
        for item in items:
            if "network" in item.keywords:
                item.add_marker(skip)
