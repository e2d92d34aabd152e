"""aframe-plots end to end on small synthetic files, and its bad input."""

import h5py
import pytest

from aframe_plots.cli import main
from tests.plots.synthetic import write_foreground


def report_args(background, foreground, output_dir, *extra):
    return [
        "report",
        f"--background={background}",
        f"--foreground={foreground}",
        f"--output_dir={output_dir}",
        *extra,
    ]


def test_report_end_to_end(files, tmp_path):
    background, foreground = files
    config = tmp_path / "sandbox.cfg"
    config.write_text("[luigi_base]\nifos = [H1, L1]\n")
    args = report_args(
        background,
        foreground,
        tmp_path / "out",
        "--mass_combos=[[30, 20], [22.5, 12.5]]",
        "--sigma=0.05",
        f"--config_files=[{config}]",
        "--title=CLI run",
    )
    assert main(args) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<h1>CLI run</h1>" in page
    assert "<td>22.5-12.5</td>" in page
    assert "ifos = [H1, L1]" in page
    with h5py.File(tmp_path / "out" / "sensitive_volume.h5") as f:
        assert set(f) == {"thresholds", "fars", "prior", "30-20", "22.5-12.5"}
        assert f.attrs["sigma"] == 0.05


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--mass_combos=[[20, 30]]"], "m2 must not exceed m1"),
        (["--mass_combos=[[30, 20, 10]]"], "two positive masses"),
        (["--sigma=0"], "sigma = 0.0"),
        (["--config_files=[missing.cfg]"], "missing.cfg does not exist"),
    ],
)
def test_bad_arguments(files, tmp_path, capsys, extra, message):
    args = report_args(*files, tmp_path / "out", *extra)
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("aframe-plots: error: ")
    assert message in error
    assert not (tmp_path / "out" / "report.html").exists()


def test_missing_file(files, tmp_path, capsys):
    _, foreground = files
    missing = tmp_path / "absent.hdf5"
    assert main(report_args(missing, foreground, tmp_path / "out")) == 2
    assert capsys.readouterr().err == (
        f"aframe-plots: error: the background events file {missing} does not "
        "exist\n"
    )


def test_not_hdf5(files, tmp_path, capsys):
    background, _ = files
    text = tmp_path / "foreground.hdf5"
    text.write_text("not HDF5")
    assert main(report_args(background, text, tmp_path / "out")) == 2
    assert "cannot read it as HDF5" in capsys.readouterr().err


def test_unknown_prior(files, tmp_path, capsys, prior_draws):
    background, _ = files
    found = prior_draws["luminosity_distance"] < 2000
    foreground = write_foreground(
        tmp_path / "fg.hdf5", prior_draws, found, prior="nonesuch"
    )
    assert main(report_args(background, foreground, tmp_path / "out")) == 2
    assert "unknown prior 'nonesuch'" in capsys.readouterr().err


def test_unparseable_argument_exits_2(files, tmp_path):
    args = report_args(*files, tmp_path / "out", "--sigma=wide")
    assert main(args) == 2
