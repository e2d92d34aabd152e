"""``aframe-init``: write a new experiment directory.

    aframe-init offline --mode sandbox --directory ~/aframe/my-first-run

copies the shipped configs into the directory (comments kept) and writes a
``run.sh`` that exports the experiment's data roots and launches the
pipeline.  A preset (``--preset quickstart``) is a folder under
``configs/presets/``: its YAMLs replace the defaults and its cfg is layered
on ``base.cfg``.

    aframe-init online --directory ~/aframe/online --offline ~/aframe/run

writes an online experiment: ``online.yaml`` (the offline experiment's
model and background, the frames to watch, the alerts) and a ``run.sh``
that runs the online search until stopped.
"""

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from aframe import paths
from aframe_contracts.errors import DataError
from aframe_contracts.files import check_directory, write_atomic

DEFAULT_PRESET = "default"
# review: the Sandbox pipeline on the fixed spans of review.cfg
PIPELINES = {"sandbox": "Sandbox", "tune": "Tune", "review": "Sandbox"}
# the files of each mode, besides base.cfg and the preset's layer
MODE_FILES = {
    "sandbox": ("sandbox.cfg", "train.yaml", "export.yaml"),
    "tune": ("tune.cfg", "train.yaml", "tune.yaml", "export.yaml"),
    "review": ("review.cfg", "train.yaml", "export.yaml"),
}


class InitError(Exception):
    """The experiment directory cannot be written as asked."""


def presets() -> list[str]:
    """The preset names: the default and each folder of configs/presets."""
    folder = paths.CONFIG_DIR / "presets"
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    return [DEFAULT_PRESET, *found]


def write_files(directory: Path, texts: dict[str, str]) -> list[Path]:
    """Write each file of an experiment (run.sh executable), keeping a
    copy of any the user edited; return their paths."""
    written = []
    for name, text in texts.items():
        path = directory / name
        keep_edits(path, text)
        write_atomic(path, text, 0o755 if name == "run.sh" else 0o644)
        written.append(path)
    return written


def _layer(cfg_text: str, layer: str) -> str:
    """Add ``layer`` after the inherited files of a cfg's [core] section."""
    lines = cfg_text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        key, _, value = line.partition("=")
        if key.strip() == "inherit":
            lines[i] = f"inherit = {value.strip()}, {layer}\n"
            return "".join(lines)
    raise InitError(f"no 'inherit' line in the shipped cfg:\n{cfg_text}")


def run_script(mode: str) -> str:
    """The run.sh of an experiment: its data roots and the law command.

    It finds its experiment from its own path, so a directory moved or
    copied as a whole runs where it now is.
    """
    law = Path(sys.executable).parent / "law"
    python = shlex.quote(sys.executable)
    exports = "\n".join(
        f'export {variable}="$EXPERIMENT/{paths.ROOT_LAYOUT[name]}"'
        for name, variable in paths.ROOTS.items()
    )
    pipeline = f"aframe.pipelines.sandbox.{PIPELINES[mode]}"
    return f"""#!/usr/bin/env bash
# The {PIPELINES[mode]} pipeline of this experiment, written by aframe-init.
# Extra arguments are passed to law, e.g. `bash run.sh --print-status -1`.
set -euo pipefail

# the experiment is the directory this script is in, wherever it has been
# moved or copied to
EXPERIMENT="$(CDPATH='' cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" && pwd -P)"

# where the pipeline's artifacts go
{exports}

# run from the experiment directory so that no luigi.cfg of the caller's
# working directory leaks in
cd "$EXPERIMENT"

# check the cfg and the arguments first: every problem at once, before
# any work starts
{python} -m aframe.check_config "$EXPERIMENT/{mode}.cfg" "$@"

# launch the pipeline, one run of this experiment at a time (a second is
# refused, naming the first's PID); change --gpus (comma-separated
# indices) and --workers (tasks run at once) to suit your machine
LAW_CONFIG_FILE="$EXPERIMENT/{mode}.cfg" exec {python} -m aframe.run_lock \\
    "$EXPERIMENT" {shlex.quote(str(law))} run \\
    {pipeline} --workers 5 --gpus 0 "$@"
"""


def init(
    directory: Path,
    mode: str,
    preset: str = DEFAULT_PRESET,
    force: bool = False,
) -> list[Path]:
    """Write an experiment directory; return the files written.

    Raises:
        InitError: unknown mode or preset, or a non-empty directory without
            ``force``.
    """
    if mode not in MODE_FILES:
        raise InitError(
            f"unknown mode {mode!r}: choose one of {', '.join(MODE_FILES)}"
        )
    if preset not in presets():
        raise InitError(
            f"unknown preset {preset!r}: choose one of {', '.join(presets())}"
        )
    directory = prepare(directory, force)

    preset_dir = paths.CONFIG_DIR / "presets" / preset
    texts = {}
    for name in ("base.cfg", *MODE_FILES[mode]):
        source = preset_dir / name
        if not source.exists():
            source = paths.CONFIG_DIR / name
        texts[name] = source.read_text()
    if preset != DEFAULT_PRESET:
        layer = f"{preset}.cfg"
        texts[layer] = (preset_dir / layer).read_text()
        texts[f"{mode}.cfg"] = _layer(texts[f"{mode}.cfg"], layer)
    texts["run.sh"] = run_script(mode)

    return write_files(directory, texts)


def prepare(directory: Path, force: bool) -> Path:
    """The experiment directory, made; resolved.

    Raises:
        InitError: it cannot be made, or is not empty and not ``force``.
    """
    directory = directory.expanduser().resolve()
    try:
        check_directory(directory)
    except DataError as error:
        raise InitError(str(error)) from None
    if directory.exists() and any(directory.iterdir()) and not force:
        raise InitError(
            f"{directory} is not empty: choose a new directory, or pass "
            "--force to rewrite the configs and run.sh in it (data and "
            "results already there are kept, and so are edited configs, "
            "as <name>.<n>.bak)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def online_run_script() -> str:
    """The run.sh of an online experiment: the search, until stopped."""
    python = shlex.quote(sys.executable)
    search = shlex.quote(str(Path(sys.executable).parent / "aframe-online"))
    return f"""#!/usr/bin/env bash
# The online search of this experiment, written by aframe-init: it runs
# until stopped (Ctrl-C, or SIGTERM from a service manager).  Extra
# arguments override online.yaml, e.g. `bash run.sh --far_threshold 12`.
set -euo pipefail

# the experiment is the directory this script is in
EXPERIMENT="$(CDPATH='' cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" && pwd -P)"
# relative paths in online.yaml are the experiment's
cd "$EXPERIMENT"

# one search per experiment at a time (a second is refused, naming the
# first's PID)
exec {python} -m aframe.run_lock "$EXPERIMENT" \\
    {search} search --config "$EXPERIMENT/online.yaml" "$@"
"""


def init_online(
    directory: Path, offline: Path | None = None, force: bool = False
) -> list[Path]:
    """Write an online experiment directory; return the files written.

    Args:
        directory: the experiment directory.
        offline: the offline experiment whose model and background the
            search uses; None keeps online.yaml's placeholder paths.
        force: rewrite the files of a non-empty directory (edited ones
            are kept as <name>.<n>.bak).
    """
    if offline is not None:
        offline = offline.expanduser().resolve()
        if not any(offline.glob("*.cfg")):
            raise InitError(
                f"--offline {offline} is not an offline experiment (a "
                "directory that aframe-init offline wrote, with its .cfg)"
            )
    directory = prepare(directory, force)
    config = (paths.CONFIG_DIR / "online" / "online.yaml").read_text()
    if offline is not None:
        results = offline / paths.ROOT_LAYOUT["results"]
        if not (results / "background.hdf5").exists():
            print(
                f"note: {offline} has no results yet; the search needs its "
                "exported model and background: run its run.sh first",
                file=sys.stderr,
            )
        config = (
            config.replace(
                "repository: ../offline/results/model_repo",
                f"repository: {results / 'model_repo'}",
            )
            .replace(
                "background_file: ../offline/results/background.hdf5",
                f"background_file: {results / 'background.hdf5'}",
            )
            .replace(
                "p_astro_file: ../offline/results/p_astro.hdf5",
                f"p_astro_file: {results / 'p_astro.hdf5'}",
            )
        )
    texts = {"online.yaml": config, "run.sh": online_run_script()}
    return write_files(directory, texts)


def keep_edits(path: Path, text: str) -> Path | None:
    """Keep a copy of ``path`` before it is rewritten with ``text``, when
    it holds something else (the user's edits); return the copy.

    The copy is ``<name>.<n>.bak``, n the first number not taken, so no
    earlier copy is overwritten either.
    """
    if not path.is_file() or path.read_text(errors="replace") == text:
        return None
    number = 1
    while (copy := path.with_name(f"{path.name}.{number}.bak")).exists():
        number += 1
    shutil.copy2(path, copy)
    print(f"kept the edited {path.name} as {copy.name}", file=sys.stderr)
    return copy


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aframe-init",
        description="Write an aframe experiment directory: configs and a "
        "run.sh that launches the pipeline.",
    )
    subparsers = parser.add_subparsers(dest="kind", required=True)
    offline = subparsers.add_parser(
        "offline", help="an offline search over archival or simulated data"
    )
    offline.add_argument(
        "--mode",
        required=True,
        help=f"pipeline to set up: {' or '.join(MODE_FILES)}",
    )
    offline.add_argument(
        "--directory",
        "-d",
        required=True,
        type=Path,
        help="the experiment directory to write",
    )
    offline.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help=f"configuration preset: {', '.join(presets())} (default: "
        f"{DEFAULT_PRESET}, the paper-scale search)",
    )
    offline.add_argument(
        "--force",
        action="store_true",
        help="rewrite the configs of an existing, non-empty directory",
    )
    online = subparsers.add_parser(
        "online", help="a low-latency search of live detector frames"
    )
    online.add_argument(
        "--directory",
        "-d",
        required=True,
        type=Path,
        help="the experiment directory to write",
    )
    online.add_argument(
        "--offline",
        type=Path,
        help="the offline experiment whose exported model and background "
        "the search uses",
    )
    online.add_argument(
        "--force",
        action="store_true",
        help="rewrite the files of an existing, non-empty directory",
    )
    return parser


def main(args: list[str] | None = None) -> int:
    options = parser().parse_args(args)
    try:
        if options.kind == "online":
            written = init_online(
                options.directory, options.offline, options.force
            )
        else:
            written = init(
                options.directory, options.mode, options.preset, options.force
            )
    except InitError as error:
        print(f"aframe-init: error: {error}", file=sys.stderr)
        return 2
    directory = written[0].parent
    print(f"wrote {len(written)} files to {directory}:")
    for path in written:
        print(f"  {path.name}")
    print(f"edit the configs, then run: bash {directory / 'run.sh'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
