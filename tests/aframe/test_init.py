"""aframe-init: the files it writes, run.sh, and its errors."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aframe import paths
from aframe.init import MODE_FILES, InitError, init, main, presets

PRESETS = presets()


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("mode", list(MODE_FILES))
def test_writes_configs_and_run_script(tmp_path, mode, preset):
    directory = tmp_path / "exp"
    init(directory, mode, preset)

    expected = {"base.cfg", "run.sh", *MODE_FILES[mode]}
    if preset != "default":
        expected.add(f"{preset}.cfg")
    assert {p.name for p in directory.iterdir()} == expected

    # shipped files are copied verbatim, comments and all; the preset's
    # YAMLs replace the defaults
    preset_dir = paths.CONFIG_DIR / "presets" / preset
    for name in expected - {"run.sh", f"{mode}.cfg"}:
        source = preset_dir / name
        if not source.exists():
            source = paths.CONFIG_DIR / name
        assert (directory / name).read_text() == source.read_text()

    # the mode cfg inherits base.cfg, then the preset, by relative path
    inherit = [
        line
        for line in (directory / f"{mode}.cfg").read_text().splitlines()
        if line.startswith("inherit")
    ]
    layers = ["base.cfg"] + ([f"{preset}.cfg"] if preset != "default" else [])
    assert inherit == [f"inherit = {', '.join(layers)}"]

    # nothing points back into the source tree but the environment used
    # to run
    law = str(Path(sys.executable).parent / "law")
    for path in directory.iterdir():
        text = path.read_text().replace(law, "").replace(sys.executable, "")
        assert str(paths.REPO_DIR) not in text


@pytest.mark.parametrize("mode", list(MODE_FILES))
def test_run_script(tmp_path, mode):
    directory = tmp_path / "exp"
    init(directory, mode)
    run_sh = directory / "run.sh"
    assert run_sh.stat().st_mode & stat.S_IXUSR
    text = run_sh.read_text()
    # no path of the experiment is written in: run.sh finds it
    assert str(directory) not in text
    for name, variable in paths.ROOTS.items():
        expected = f'"$EXPERIMENT/{paths.ROOT_LAYOUT[name]}"'
        assert f"export {variable}={expected}\n" in text
    pipeline = {"sandbox": "Sandbox", "tune": "Tune", "review": "Sandbox"}[
        mode
    ]
    law = Path(sys.executable).parent / "law"
    assert f'LAW_CONFIG_FILE="$EXPERIMENT/{mode}.cfg"' in text
    assert f"{law} run \\\n    aframe.pipelines.sandbox.{pipeline}" in text
    assert "--workers 5 --gpus 0" in text


def print_status(run_sh: Path, cwd: Path) -> str:
    """``bash run.sh --print-status -1`` with no venv and no AFRAME_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AFRAME_", "LAW_", "VIRTUAL_ENV"))
    }
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(
        ["bash", str(run_sh), "--print-status", "-1"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_run_script_works_from_anywhere(tmp_path):
    """bash run.sh needs no activated venv and no particular cwd."""
    directory = tmp_path / "exp"
    init(directory, "sandbox", "quickstart")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # a luigi.cfg in the caller's directory must not leak in: its backend
    # is not one of the choices, so the run would fail
    (elsewhere / "luigi.cfg").write_text("[pipeline]\nbackend = bogus\n")
    status = print_status(directory / "run.sh", elsewhere)
    assert "Sandbox(" in status
    assert str(directory.resolve() / "results" / "report.html") in status


def test_moved_and_copied_experiments_run_where_they_are(tmp_path):
    """run.sh of a moved or copied experiment runs that one, not the
    original (which for a move no longer exists)."""
    original = tmp_path / "exp"
    init(original, "sandbox", "quickstart")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    status = print_status(copy / "run.sh", tmp_path)
    assert str(copy.resolve() / "results" / "report.html") in status
    assert str(original.resolve()) + "/" not in status
    moved = tmp_path / "a dir with spaces" / "moved"
    moved.parent.mkdir()
    original.rename(moved)
    # run through a relative path from another directory
    status = print_status(
        Path("..") / moved.relative_to(tmp_path) / "run.sh", copy
    )
    assert str(moved.resolve() / "results" / "report.html") in status


def test_refuses_non_empty_directory(tmp_path):
    directory = tmp_path / "exp"
    init(directory, "sandbox")
    (directory / "notes.txt").write_text("mine")
    with pytest.raises(InitError, match="not empty.*--force"):
        init(directory, "tune")
    # the user edits a config
    edited = (directory / "base.cfg").read_text() + "# my edit\n"
    (directory / "base.cfg").write_text(edited)
    init(directory, "tune", force=True)
    # --force rewrites configs and keeps everything else, the edited
    # config as a copy; unedited ones are not copied
    assert (directory / "notes.txt").read_text() == "mine"
    assert (directory / "tune.cfg").exists()
    assert (directory / "base.cfg.1.bak").read_text() == edited
    assert "# my edit" not in (directory / "base.cfg").read_text()
    assert not (directory / "sandbox.cfg.1.bak").exists()
    # a second edit and --force keeps the first copy too
    (directory / "base.cfg").write_text(edited + "# again\n")
    init(directory, "tune", force=True)
    assert (directory / "base.cfg.1.bak").read_text() == edited
    assert (directory / "base.cfg.2.bak").read_text().endswith("# again\n")


def test_refuses_a_directory_under_a_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    with pytest.raises(InitError, match="notes.txt is a file, not a dir"):
        init(path / "exp" / "deeper", "sandbox")
    assert path.read_text() == "mine"


def test_refuses_a_file(tmp_path):
    path = tmp_path / "exp"
    path.write_text("")
    with pytest.raises(InitError, match="not a directory"):
        init(path, "sandbox")


def test_unknown_mode_and_preset(tmp_path):
    with pytest.raises(InitError, match="unknown mode 'replay'.*sandbox"):
        init(tmp_path / "a", "replay")
    with pytest.raises(InitError, match="unknown preset 'huge'.*quickstart"):
        init(tmp_path / "b", "sandbox", "huge")
    assert not (tmp_path / "a").exists()


def test_cli(tmp_path, capsys):
    directory = tmp_path / "exp"
    args = ["offline", "--mode", "tune", "--directory", str(directory)]
    assert main(args) == 0
    assert "run.sh" in capsys.readouterr().out
    assert main(args) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([*args, "--force", "--preset", "quickstart"]) == 0
    assert main(["offline", "--mode", "x", "--directory", "y"]) == 2
    assert "sandbox, tune" in capsys.readouterr().err


def test_review_mode_is_the_fixed_review_run(tmp_path):
    """--mode review writes review.cfg over base.cfg, with upstream's
    review spans and a month of background, and law resolves the
    Sandbox pipeline's whole tree from it (print-status), as a reviewer
    would start it."""
    directory = tmp_path / "review"
    written = {path.name for path in init(directory, "review")}
    assert written == {
        "base.cfg",
        "review.cfg",
        "train.yaml",
        "export.yaml",
        "run.sh",
    }
    status = print_status(directory / "run.sh", tmp_path)
    assert "Sandbox(" in status
    assert "Train(" in status
