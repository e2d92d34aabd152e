"""aframe-build-containers: the stages' Apptainer images.

    aframe-build-containers                  # every stage, into image_dir
    aframe-build-containers train infer --jobs 2
    aframe-build-containers --image-dir ~/aframe/images --force

Each image is ``apptainer build <image_dir>/<stage>.sif
projects/<stage>/apptainer.def``, run from the repository root (the def
files name their ``%files`` relative to it), so it holds the aframe of this
checkout, installed from the hash-pinned ``requirements.lock``.  The image
directory is the one the pipeline reads when ``container = apptainer``: the
``image_dir`` of the ``[pipeline]`` section of the cfg in
``LAW_CONFIG_FILE`` (what ``run.sh`` exports), unless ``--image-dir`` names
another.

An image is rebuilt only when what it is built from changed: beside
``<stage>.sif`` a file ``<stage>.sif.inputs`` records the sha256 of its def
file and of every file its ``%files`` section copies in.  ``--force``
rebuilds regardless.  Images build in parallel (``--jobs``), each into a
temporary file renamed into place when it is complete, with its log in
``<image_dir>/<stage>.build.log``; a failed image is reported with the last
lines of its log, and the command exits with status 1.
"""

import argparse
import collections
import concurrent.futures
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import law

from aframe.base import PIPELINE_SECTION, stage_image
from aframe.paths import REPO_DIR, config_file
from aframe.stage import APPTAINER
from aframe_contracts.files import write_atomic

STAGES = ("data", "train", "export", "infer", "plots", "online")

# how many of a failed build's last log lines the report shows
TAIL_LINES = 25

# files that a build copies in but that do not change an image
IGNORED = {"__pycache__", ".pytest_cache", ".ruff_cache"}
IGNORED_SUFFIXES = (".pyc", ".egg-info")


@dataclasses.dataclass
class Result:
    """How the build of one image went.

    ``status`` is ``built``, ``up to date`` or ``failed``; ``message``
    says why a build failed.
    """

    stage: str
    image: Path
    status: str
    seconds: float = 0.0
    message: str = ""


class BuildError(RuntimeError):
    """An image could not be built; the message says which and why."""


def definition(repo: Path, stage: str) -> Path:
    """The def file of ``stage`` in the repository ``repo``."""
    return repo / "projects" / stage / "apptainer.def"


def sections(text: str) -> dict[str, list[str]]:
    """The lines of each ``%section`` of a def file, by section header.

    The header is the line after ``%`` (``files``, ``files from build``,
    ``post``, ...); lines before the first section are under ``header``.
    """
    found: dict[str, list[str]] = collections.defaultdict(list)
    name = "header"
    for line in text.splitlines():
        if line.startswith("%"):
            name = " ".join(line[1:].split())
            continue
        found[name].append(line)
    return found


def copied_sources(def_file: Path, repo: Path) -> list[Path]:
    """The host paths a def file's ``%files`` sections copy in.

    Sources are relative to the repository root, where the build runs;
    ``%files from <stage>`` sections copy from an earlier build stage,
    not from the host, and are skipped.

    Raises:
        BuildError: a source does not exist.
    """
    sources = []
    for name, lines in sections(def_file.read_text()).items():
        if name != "files":
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            matches = sorted(repo.glob(words[0]))
            if not matches:
                raise BuildError(
                    f"{def_file} copies {words[0]}, which is not in {repo}"
                )
            sources += matches
    return sources


def _files(path: Path):
    if path.is_file():
        yield path
        return
    for directory, subdirs, names in os.walk(path):
        subdirs[:] = sorted(
            d
            for d in subdirs
            if d not in IGNORED and not d.endswith(IGNORED_SUFFIXES)
        )
        for name in sorted(names):
            if not name.endswith(IGNORED_SUFFIXES):
                yield Path(directory) / name


def inputs_digest(def_file: Path, repo: Path) -> str:
    """sha256 over the def file and every file it copies in, with names."""
    digest = hashlib.sha256(def_file.read_bytes())
    for source in copied_sources(def_file, repo):
        for path in _files(source):
            digest.update(str(path.relative_to(repo)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def stamp(image: Path) -> Path:
    """Where the digest of an image's inputs is recorded."""
    return image.with_name(image.name + ".inputs")


def up_to_date(image: Path, digest: str) -> bool:
    """Whether ``image`` exists and was built from inputs with ``digest``."""
    record = stamp(image)
    return (
        image.exists()
        and record.exists()
        and record.read_text().strip() == digest
    )


def _tail(log: Path) -> str:
    if not log.exists():
        return ""
    with log.open(errors="replace") as f:
        return "".join(collections.deque(f, maxlen=TAIL_LINES)).rstrip()


def build_image(
    stage: str,
    image_dir: Path,
    repo: Path = REPO_DIR,
    force: bool = False,
    options: tuple[str, ...] = (),
) -> Result:
    """Build the image of one stage, unless it is up to date.

    Args:
        stage: data, train, export, infer or plots.
        image_dir: where ``<stage>.sif`` goes.
        repo: the repository whose ``projects/<stage>/apptainer.def`` is
            built (the build runs in it).
        force: rebuild even when the image is up to date.
        options: extra arguments of ``apptainer build`` (``--fakeroot``).
    """
    image = image_dir / f"{stage}.sif"
    log = image_dir / f"{stage}.build.log"
    start = time.monotonic()

    def failed(message: str) -> Result:
        return Result(
            stage, image, "failed", time.monotonic() - start, message
        )

    def_file = definition(repo, stage)
    if not def_file.exists():
        return failed(f"there is no {def_file}")
    try:
        digest = inputs_digest(def_file, repo)
    except BuildError as error:
        return failed(str(error))
    if not force and up_to_date(image, digest):
        return Result(stage, image, "up to date")

    partial = image_dir / f".{stage}.sif.partial"
    partial.unlink(missing_ok=True)
    args = [
        APPTAINER,
        "build",
        *options,
        str(partial),
        str(def_file.relative_to(repo)),
    ]
    with log.open("w") as f:
        f.write(f"$ cd {repo} && {' '.join(args)}\n")
        f.flush()
        status = subprocess.call(
            args,
            cwd=repo,
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        why = (
            f"apptainer build exited with status {status}"
            if status != 0
            else "apptainer build wrote no image"
        )
        return failed(
            f"{why} (full log: {log}); its last lines:\n{_tail(log)}"
        )
    os.replace(partial, image)
    write_atomic(stamp(image), digest + "\n")
    return Result(stage, image, "built", time.monotonic() - start)


def build(
    stages: list[str] | tuple[str, ...],
    image_dir: Path,
    repo: Path = REPO_DIR,
    jobs: int = 3,
    force: bool = False,
    options: tuple[str, ...] = (),
    report=print,
) -> list[Result]:
    """Build the images of ``stages``, ``jobs`` at a time.

    ``report`` gets one line per image as it finishes.  Returns the
    results in the order of ``stages``.
    """
    image_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = {
            pool.submit(
                build_image, stage, image_dir, repo, force, options
            ): stage
            for stage in stages
        }
        for stage in stages:
            report(f"building {image_dir / f'{stage}.sif'}")
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            results[result.stage] = result
            report(_line(result))
    return [results[stage] for stage in stages]


def _line(result: Result) -> str:
    if result.status == "failed":
        return f"FAILED {result.image} (see the summary below)"
    if result.status == "built":
        return f"built {result.image} in {result.seconds:.0f} s"
    return f"{result.image} is up to date (--force rebuilds it)"


def configured_image_dir() -> Path:
    """The ``image_dir`` of the ``[pipeline]`` section of the law cfg.

    Raises:
        BuildError: there is no cfg, or it sets no image_dir.
    """
    cfg = law.config.Config.instance()
    value = ""
    if config_file() is not None:
        value = cfg.get_expanded(PIPELINE_SECTION, "image_dir", default="")
    if not (value or "").strip():
        where = config_file() or "LAW_CONFIG_FILE (unset)"
        raise BuildError(
            f"where should the images go? Set image_dir in the "
            f"[{PIPELINE_SECTION}] section of {where}, or pass --image-dir"
        )
    return stage_image(value, "data").parent


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aframe-build-containers",
        description="Build the Apptainer images of the aframe stages "
        "from projects/<stage>/apptainer.def.",
    )
    parser.add_argument(
        "stages",
        nargs="*",
        metavar="STAGE",
        help=f"stages to build (default: all of {', '.join(STAGES)})",
    )
    parser.add_argument(
        "--image-dir",
        type=Path,
        help="where the images go (default: image_dir of the [pipeline] "
        "section of the cfg in LAW_CONFIG_FILE)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=3,
        help="images built at once (default: 3)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="rebuild images that are up to date",
    )
    parser.add_argument(
        "--build-option",
        action="append",
        default=[],
        metavar="OPTION",
        help="extra argument of apptainer build, e.g. "
        "--build-option=--fakeroot (repeatable)",
    )
    return parser


def main(args: list[str] | None = None) -> int:
    arguments = parser()
    options = arguments.parse_args(args)
    unknown = [s for s in options.stages if s not in STAGES]
    if unknown:
        arguments.error(
            f"no stage {', '.join(unknown)}: the stages are "
            f"{', '.join(STAGES)}"
        )
    stages = list(dict.fromkeys(options.stages or STAGES))
    try:
        image_dir = options.image_dir or configured_image_dir()
    except BuildError as error:
        print(f"aframe-build-containers: {error}", file=sys.stderr)
        return 2
    if shutil.which(APPTAINER) is None:
        print(
            f"aframe-build-containers: there is no {APPTAINER} command on "
            "PATH: load or install Apptainer (apptainer.org) first",
            file=sys.stderr,
        )
        return 2
    results = build(
        stages,
        image_dir.expanduser().absolute(),
        jobs=options.jobs,
        force=options.force,
        options=tuple(options.build_option),
    )
    failures = [r for r in results if r.status == "failed"]
    for result in failures:
        print(
            f"\n{result.stage}: {result.image} was not built: "
            f"{result.message}",
            file=sys.stderr,
        )
    if failures:
        names = " ".join(r.stage for r in failures)
        print(
            f"\n{len(failures)} of {len(results)} images failed: {names}\n"
            f"retry with: aframe-build-containers {names}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
