"""The MLGWSC-1 challenge's own code and files, run as a user would.

The first Machine Learning Gravitational-Wave Search Mock Data Challenge
(Schäfer et al., PRD 107, 023021) ships a data generator,
``generate_data.py``, and a scorer, ``evaluate.py``
(github.com/gwastro/ml-mock-data-challenge-1).  aframe runs them as they
are, from a checkout the user names (``mlgwsc_dir``, or
``$AFRAME_MLGWSC_DIR``), in their own environment (``.venv-mlgwsc``,
``make mlgwsc-env``, or ``$AFRAME_MLGWSC_ENV``): their code is never
copied into aframe, and aframe never imports it.  This module runs them
and reads their files; ``aframe_infer.benchmark`` puts them to work.
"""

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from aframe_contracts.files import atomic_path, make_directory
from aframe_contracts.glitches import GlitchTable
from aframe_contracts.segments import write_segments
from aframe_contracts.strain_files import Span, hdf5_spans, true_runs
from aframe_signal.glitches import GlitchModel, glitchy

logger = logging.getLogger("aframe_infer")

REPOSITORY = "https://github.com/gwastro/ml-mock-data-challenge-1"
DIR_VARIABLE = "AFRAME_MLGWSC_DIR"
ENV_VARIABLE = "AFRAME_MLGWSC_ENV"
DEFAULT_ENV = ".venv-mlgwsc"
DATASETS = (1, 2, 3, 4)
# what a checkout must hold for aframe to run it
REQUIRED = ("generate_data.py", "evaluate.py", "segments.py", "ds1.ini")
# the challenge's data files, linked into a working copy when present:
# its O3a segment list, and dataset 4's real noise
DATA_FILES = ("segments.csv", "real_noise_file.hdf")
# the first GPS second of the challenge's O3a segments: with no segment
# list in the checkout, datasets 1-3 are made as one segment from here
FIRST_GPS = 1238166018
# the generator skips listed segments shorter than this (s)
MIN_SEGMENT = 7200
# evaluate.py leaves out injections this close to a segment's ends (s)
EDGE = 30.0
# lines of a failing challenge script shown in the error
TAIL = 15


class ChallengeError(ValueError):
    """The challenge's code or files cannot be used as asked."""


@dataclass(frozen=True)
class ChallengeCode:
    """A checkout of the challenge, and the environment that runs it."""

    directory: Path
    environment: Path

    @classmethod
    def locate(
        cls, directory: str | Path = "", environment: str | Path = ""
    ) -> "ChallengeCode":
        """The checkout (else ``$AFRAME_MLGWSC_DIR``) and environment
        (else ``$AFRAME_MLGWSC_ENV``, else .venv-mlgwsc beside this venv).

        Raises:
            ChallengeError: either is missing or incomplete.
        """
        directory = directory or os.environ.get(DIR_VARIABLE, "")
        if not directory:
            raise ChallengeError(
                "no MLGWSC-1 checkout: set mlgwsc_dir (the cfg's "
                f"[pipeline], or --mlgwsc-dir) or ${DIR_VARIABLE} to a "
                f"clone of {REPOSITORY} (git clone {REPOSITORY}.git)"
            )
        directory = Path(directory).expanduser().resolve()
        missing = [
            name for name in REQUIRED if not (directory / name).exists()
        ]
        if missing:
            raise ChallengeError(
                f"{directory} is not a checkout of {REPOSITORY}: it has no "
                f"{', '.join(missing)}"
            )
        environment = Path(
            environment
            or os.environ.get(ENV_VARIABLE, "")
            or Path(sys.prefix).with_name(DEFAULT_ENV)
        )
        if not (environment / "bin" / "pycbc_create_injections").exists():
            raise ChallengeError(
                f"the challenge's environment {environment} has no "
                "pycbc_create_injections: build it with `make mlgwsc-env` "
                f"(or name another with ${ENV_VARIABLE})"
            )
        return cls(directory, environment)

    def working_copy(self, target: Path) -> Path:
        """A private, writable copy of the checkout to run from.

        The generator writes temporary files beside itself and reads
        ``psds/`` from its working directory, and a checkout may be
        read-only.  Its data files are linked, not copied.
        """
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in self.directory.iterdir():
            if path.suffix in (".py", ".ini"):
                shutil.copyfile(path, target / path.name)
            elif path.name in DATA_FILES or path.name == "psds":
                (target / path.name).symlink_to(path)
        return target

    def run(self, args: list[str], cwd: Path, log: Path) -> None:
        """Run ``python <args>`` in the challenge's environment.

        Raises:
            ChallengeError: it failed; the message ends with its last
                lines (the whole output is in ``log``).
        """
        env = {
            **os.environ,
            "PATH": f"{self.environment / 'bin'}:{os.environ['PATH']}",
        }
        # aframe's own Python packages must not leak into it
        env.pop("PYTHONPATH", None)
        python = self.environment / "bin" / "python"
        logger.info("running %s", " ".join(args))
        with open(log, "w") as output:
            status = subprocess.run(
                [str(python), *args],
                cwd=cwd,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            ).returncode
        if status != 0:
            lines = log.read_text(errors="replace").splitlines()[-TAIL:]
            raise ChallengeError(
                f"the challenge's {args[0]} failed (exit status {status}); "
                f"its last lines ({log}):\n" + "\n".join(lines)
            )


@dataclass(frozen=True)
class ChallengeSet:
    """The files of one generated set of a dataset."""

    directory: Path

    @property
    def injections(self) -> Path:
        return self.directory / "injections.hdf"

    @property
    def foreground(self) -> Path:
        return self.directory / "foreground.hdf"

    @property
    def background(self) -> Path:
        return self.directory / "background.hdf"

    @property
    def segments(self) -> Path:
        """The foreground's segments, as segwizard text."""
        return self.directory / "segments.txt"

    @property
    def glitches(self) -> Path:
        """The record of the glitches added to the set, if any."""
        return self.directory / "glitches.hdf5"

    def files(self) -> list[Path]:
        return [self.injections, self.foreground, self.background]


def generate(
    code: ChallengeCode,
    dataset: int,
    duration: float,
    seed: int,
    output_dir: Path,
    glitches: GlitchModel | None = None,
) -> ChallengeSet:
    """Make one set of a dataset with the challenge's generate_data.py.

    Writes injections.hdf, foreground.hdf, background.hdf, with
    ``glitches`` glitches.hdf5 (``add_glitches``), and, last,
    segments.txt into ``output_dir``; a set already there is kept.

    Raises:
        ChallengeError: a dataset outside 1-4, the generator failed
            (dataset 4 downloads real O3a noise: offline, it cannot), or
            the set already there has glitches where none are asked for,
            or none where they are.
    """
    if dataset not in DATASETS:
        raise ChallengeError(
            f"dataset {dataset}: MLGWSC-1 has datasets 1, 2, 3 and 4"
        )
    result = ChallengeSet(Path(output_dir))
    if result.segments.exists():
        if result.glitches.exists() != (glitches is not None):
            has = "has" if result.glitches.exists() else "has no"
            raise ChallengeError(
                f"{output_dir} already holds a set that {has} glitches: "
                "make the other kind in a directory of its own"
            )
        logger.info("%s already holds the set", output_dir)
        return result
    make_directory(result.directory)
    work = code.working_copy(result.directory / ".challenge")
    segments = work / DATA_FILES[0]
    if dataset != 4 and not segments.exists():
        # the generator would download the challenge's O3a segment list;
        # simulated noise needs only one segment long enough
        stop = FIRST_GPS + max(int(np.ceil(duration)), MIN_SEGMENT)
        segments.write_text(f"idx,start,end\n0,{FIRST_GPS},{stop}\n")
    ours = set(os.listdir(work))
    names = ["inj.hdf", "fg.hdf", "bg.hdf"]
    args = ["generate_data.py", "--data-set", str(dataset)]
    args += ["--output-injection-file", names[0]]
    args += ["--output-foreground-file", names[1]]
    args += ["--output-background-file", names[2]]
    args += ["--seed", str(seed), "--duration", str(int(duration))]
    args += ["--force", "--verbose"]
    try:
        code.run(args, work, result.directory / "generate.log")
    except ChallengeError as error:
        if dataset == 4 and not (code.directory / DATA_FILES[1]).exists():
            raise ChallengeError(
                "dataset 4 is real O3a noise, which generate_data.py "
                f"downloads as {DATA_FILES[1]}: that needs a network.  "
                "Offline, download it on a machine with one and put it in "
                f"{code.directory}.\n{error}"
            ) from None
        raise
    for name, path in zip(names, result.files(), strict=True):
        os.replace(work / name, path)
    keep_downloads(work, code.directory, ours)
    shutil.rmtree(work)
    if glitches is not None:
        add_glitches(result, glitches, seed)
    spans = hdf5_spans(result.foreground, ["H1"])
    write_segments(
        sorted((span.start, span.stop) for span in spans), result.segments
    )
    logger.info(
        "dataset %d, seed %d: %d s in %d segments in %s",
        dataset,
        seed,
        sum(span.size / span.sample_rate for span in spans),
        len(spans),
        output_dir,
    )
    return result


def add_glitches(data: ChallengeSet, model: GlitchModel, seed: int) -> None:
    """Add one realisation of glitches to both strain files of a set.

    The glitches are drawn, and coloured, on the background, segment by
    segment; the same strain is added to the foreground, so the
    foreground minus the background, the generator's injections, is
    unchanged.  Each file is rewritten as a whole before it replaces
    the original, and the glitches are recorded in glitches.hdf5.
    """
    ifos = ["H1", "L1"]
    model.check(ifos)
    # the strain contract's checks of the generator's files, before they
    # are rewritten
    hdf5_spans(data.background, ifos)
    tables, added = [], {}
    with h5py.File(data.background, "r") as f:
        # the segments, named by their GPS start in every ifo's group
        for name in f[ifos[0]]:
            attrs = f[ifos[0]][name].attrs
            t0, rate = float(attrs["start_time"]), 1 / float(attrs["delta_t"])
            clean = {ifo: f[ifo][name][()] for ifo in ifos}
            strain, table = glitchy(clean, t0, rate, model, seed)
            added[name] = {ifo: strain[ifo] - clean[ifo] for ifo in ifos}
            tables.append(table)
    for path in (data.background, data.foreground):
        with atomic_path(path) as tmp:
            shutil.copyfile(path, tmp)
            with h5py.File(tmp, "r+") as f:
                for name, glitch in added.items():
                    for ifo in ifos:
                        dataset = f[ifo][name]
                        dataset[...] = dataset[()] + glitch[ifo]
    record = GlitchTable.concatenate(tables)
    record.write(data.glitches)
    logger.info(
        "added %d glitches to %s (%s)",
        len(record),
        data.directory,
        record.describe(ifos),
    )


def keep_downloads(work: Path, directory: Path, ours: set[str]) -> None:
    """Move the data files the generator downloaded into the checkout,
    when it can be written, so the next set does not download them again.

    Args:
        work: the working copy the generator ran in.
        directory: the checkout.
        ours: the names in the working copy before the generator ran.
    """
    for name in DATA_FILES:
        path = work / name
        if name not in ours and path.is_file():
            try:
                os.replace(path, directory / name)
                logger.info("kept the download %s in %s", name, directory)
            except OSError:
                logger.warning(
                    "%s was downloaded, but %s cannot be written: it will "
                    "be downloaded again for the next set",
                    name,
                    directory,
                )


def read_strain(
    path: Path,
    ifos: list[str],
    start: float = -np.inf,
    stop: float = np.inf,
    step: float = 0.0,
) -> list[tuple[float, float, np.ndarray]]:
    """(start, sample rate, (C, T) strain) of each segment of an MLGWSC-1
    file (groups <ifo>/<gps start>, attrs start_time and delta_t), cut to
    GPS [start, stop).

    A cut segment starts a whole number of ``step`` s after the
    segment's own start, so that streams of a chunk of it see the same
    outputs as a stream of all of it.

    Raises:
        ChallengeError: the layout lacks an ifo, or a segment lacks one.
    """
    segments: dict[float, dict[str, Span]] = {}
    # the strain-file reader checks the layout and the attributes
    for span in hdf5_spans(Path(path), ifos):
        segments.setdefault(span.start, {})[span.ifo] = span
    found = {ifo for spans in segments.values() for ifo in spans}
    missing = [ifo for ifo in ifos if ifo not in found]
    if missing:
        raise ChallengeError(
            f"{path} has no {', '.join(missing)} group: the MLGWSC-1 "
            "layout has one group per ifo"
        )
    result = []
    for first in sorted(segments):
        spans = segments[first]
        absent = [ifo for ifo in ifos if ifo not in spans]
        if absent:
            raise ChallengeError(
                f"{path}: the segment at {first:.0f} has no "
                f"{', '.join(absent)} data"
            )
        rate = spans[ifos[0]].sample_rate
        # whole steps (at least whole samples) into the segment
        step = max(step, 1 / rate)
        begin = first + max(0.0, np.floor((start - first) / step) * step)
        end = min(min(span.stop for span in spans.values()), stop)
        if end > begin:
            strain = np.stack([spans[ifo].read(begin, end) for ifo in ifos])
            result += finite_parts(path, begin, rate, strain)
    return result


def finite_parts(
    path: Path, t0: float, rate: float, strain: np.ndarray
) -> list[tuple[float, float, np.ndarray]]:
    """The stretches of a segment where every ifo's strain is finite.

    NaN or infinite samples split the segment; what is left out is said,
    GPS span by GPS span.  (A chunk of a file that starts after such a
    gap puts its outputs on the segment's grid, the whole file's analysis
    on the stretch's: events agree, output times may differ by less than
    an output step.)
    """
    finite = np.isfinite(strain).all(0)
    if finite.all():
        return [(t0, rate, strain)]
    gaps = [(t0 + a / rate, t0 + b / rate) for a, b in true_runs(~finite)]
    logger.warning(
        "%s: %d NaN or infinite samples in the segment at %.0f; left out "
        "of the analysis: GPS %s",
        path,
        np.count_nonzero(~finite),
        t0,
        ", ".join(f"{a:.3f}-{b:.3f}" for a, b in gaps),
    )
    return [
        (t0 + a / rate, rate, strain[:, a:b]) for a, b in true_runs(finite)
    ]


def evaluate(
    code: ChallengeCode,
    data: ChallengeSet,
    foreground_events: list[Path],
    background_events: list[Path],
    output: Path,
) -> None:
    """Score events with the challenge's evaluate.py into ``output``."""
    args = ["evaluate.py", "--injection-file", str(data.injections)]
    args += ["--foreground-events", *map(str, foreground_events)]
    args += ["--foreground-files", str(data.foreground)]
    args += ["--background-events", *map(str, background_events)]
    args += ["--output-file", str(output), "--force"]
    code.run(args, code.directory, output.with_suffix(".log"))


def analysed_injections(data: ChallengeSet) -> np.ndarray:
    """Which injections evaluate.py scores: those in a foreground
    segment, at least EDGE s from its ends."""
    with h5py.File(data.injections, "r") as f:
        tc = f["tc"][()]
    inside = np.zeros(tc.size, bool)
    for span in hdf5_spans(data.foreground, ["H1"]):
        inside |= (tc >= span.start + EDGE) & (tc <= span.stop - EDGE)
    return inside


def read_evaluation(path: Path, count: int) -> dict[str, np.ndarray]:
    """evaluate.py's sensitivity curve, and each of the ``count`` scored
    injections' loudest true-positive event (-inf where none)."""
    with h5py.File(path, "r") as f:
        events = f["fg-events"][()]
        positives = f["true-positive-event-indices"][()].astype(int)
        # the injection each (time-sorted) event is nearest to
        nearest = f["found-indices"][()].astype(int)
        curve = {
            "far": f["far"][()],
            "volume": f["sensitive-volume"][()],
            "volume_error": f["sensitive-volume-error"][()],
            "distance": f["sensitive-distance"][()],
        }
    statistic = np.full(count, -np.inf)
    np.maximum.at(statistic, nearest[positives], events[1][positives])
    curve["statistic"] = statistic
    return curve
