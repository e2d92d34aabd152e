"""Check an experiment's cfg before any work starts.

``run.sh`` runs this before law: every problem of the cfg is reported at
once, naming the file, the section and the key, and nothing runs.

* Each file of the ``[core] inherit`` chain is read strictly: a section
  or key given twice in one file is an error with its line number.
* Every key of ``[pipeline]`` must be a parameter of some aframe task, and
  every key of a ``[luigi_<Task>]`` section a parameter of that task: a
  typo is an error that suggests the nearest known name.  (Sections of
  luigi's own, ``[luigi_core]`` and the like, are luigi's to check.)
* Every value must parse as its parameter's type and lie in its range
  (``aframe.parameters``: lengths, rates and durations are positive).
* The data spans must be in order: ``train_start < train_stop <
  test_stop``.

    python -m aframe.check_config EXPERIMENT/sandbox.cfg
"""

import configparser
import difflib
import sys
from pathlib import Path

import luigi

# every pipeline, so that every task class is registered
import aframe.pipelines.sandbox  # noqa: F401
from aframe.base import PIPELINE_SECTION, AframeTask


class ConfigError(ValueError):
    """A cfg that the pipeline cannot run."""


def chain(path: Path) -> list[tuple[Path, configparser.ConfigParser]]:
    """The cfg and the files it inherits, each read once, the inherited
    first."""
    parser = read_strictly(path)
    inherited = parser.get("core", "inherit", fallback="")
    files = []
    for name in filter(None, (n.strip() for n in inherited.split(","))):
        files += chain((path.parent / name).expanduser())
    return [*files, (path, parser)]


def read_strictly(path: Path) -> configparser.ConfigParser:
    """One cfg file; a repeated section or key is an error."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        parser.read(path)
    except configparser.DuplicateSectionError as error:
        raise ConfigError(
            f"{path}, line {error.lineno}: section [{error.section}] "
            "appears twice in the file"
        ) from None
    except configparser.DuplicateOptionError as error:
        raise ConfigError(
            f"{path}, line {error.lineno}: '{error.option}' appears twice "
            f"in section [{error.section}]"
        ) from None
    except configparser.Error as error:
        raise ConfigError(f"{path}: {error.message}") from None
    return parser


def task_parameters() -> dict[str, dict[str, luigi.Parameter]]:
    """Every aframe task family's parameters, by name."""
    families = {}
    pending = [AframeTask]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        families[cls.get_task_family()] = dict(cls.get_params())
    return families


def suggestion(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_value(
    where: str, name: str, value: str, parameter: luigi.Parameter
) -> list[str]:
    try:
        parameter.parse(value)
    except Exception as error:  # noqa: BLE001: luigi raises many kinds
        return [f"{where}: {name} = {value!r}: {error}"]
    return []


def problems(path: Path) -> list[str]:
    """Every problem of the cfg at ``path`` (empty: it is good to run)."""
    merged: dict[str, dict[str, tuple[str, Path]]] = {}
    for file, parser in chain(Path(path)):
        for section in parser.sections():
            options = merged.setdefault(section, {})
            for key, value in parser.items(section, raw=True):
                options[key] = (value, file)
    families = task_parameters()
    shared = {
        name: parameter
        for parameters in families.values()
        for name, parameter in parameters.items()
    }
    found = []
    for section, options in merged.items():
        if section == PIPELINE_SECTION:
            known = shared
        elif section.startswith("luigi_") and section[6:7].isupper():
            family = section[6:]
            if family not in families:
                files_named = {file for _, file in options.values()}
                found.append(
                    f"{', '.join(map(str, sorted(files_named)))}: "
                    f"[{section}]: no aframe task is called {family}"
                    f"{suggestion(family, families)}"
                )
                continue
            known = families[family]
        else:
            continue
        for key, (value, file) in options.items():
            where = f"{file} [{section}]"
            if key not in known:
                found.append(
                    f"{where}: unknown key '{key}'{suggestion(key, known)}"
                )
                continue
            found += check_value(where, key, value, known[key])
    found += span_problems(merged.get(PIPELINE_SECTION, {}))
    return found


def span_problems(pipeline: dict[str, tuple[str, Path]]) -> list[str]:
    """train_start < train_stop < test_stop, where all three parse."""
    names = ("train_start", "train_stop", "test_stop")
    try:
        values = [float(pipeline[name][0]) for name in names]
    except (KeyError, ValueError):
        return []
    if values[0] < values[1] < values[2]:
        return []
    spans = ", ".join(
        f"{name} = {pipeline[name][0]} ({pipeline[name][1]})" for name in names
    )
    return [
        f"[{PIPELINE_SECTION}]: the spans must be in order, train_start < "
        f"train_stop < test_stop; got {spans}"
    ]


def argument_problems(args: list[str]) -> list[str]:
    """What is wrong with the arguments run.sh passes on to law."""
    found = []
    for i, arg in enumerate(args):
        if arg == "--workers" or arg.startswith("--workers="):
            value = arg.partition("=")[2] if "=" in arg else None
            if value is None:
                value = args[i + 1] if i + 1 < len(args) else ""
            if not value.isdigit() or int(value) < 1:
                found.append(
                    f"--workers {value!r}: the number of tasks run at once "
                    "must be a whole number, 1 or more"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    """``python -m aframe.check_config CFG [RUN ARGUMENTS...]``: the cfg,
    and the arguments run.sh was given for law."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(
            "usage: python -m aframe.check_config CFG [RUN ARGUMENTS...]",
            file=sys.stderr,
        )
        return 2
    try:
        found = problems(Path(argv[0]))
    except ConfigError as error:
        found = [str(error)]
    for problem in found:
        print(f"aframe: cfg error: {problem}", file=sys.stderr)
    arguments = argument_problems(argv[1:])
    for problem in arguments:
        print(f"aframe: argument error: {problem}", file=sys.stderr)
    if found or arguments:
        print(
            f"aframe: {len(found) + len(arguments)} problem(s) in "
            f"{argv[0]}, the files it inherits and the arguments; nothing "
            "was run",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
