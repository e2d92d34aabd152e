"""What made each output: a record beside it, checked before it is reused.

A stage task's record holds the stage call that made its outputs (the
subcommand, its parameters, and digests of the user's stage YAMLs it read)
and the digest of each task it required, computed the same way.  A task
is complete only while its outputs exist and its record matches what it
would run now; so a changed parameter, an edited stage YAML, or a changed
task upstream makes it, and everything downstream of it, run again.

Paths under the experiment's data roots are recorded relative to them
(``$results/...``), so that a moved or copied experiment stays complete.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from aframe import paths
from aframe_contracts.files import write_atomic

RECORD = "provenance.json"


def portable(value: Any) -> Any:
    """``value`` with paths under a data root written as ``$root/...``,
    and other paths in the experiment directory as ``$experiment/...``."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable(item) for item in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and value.startswith("/"):
        for name, base in _bases():
            if value == base or value.startswith(base + "/"):
                return f"${name}{value[len(base) :]}"
    return value


def _bases() -> list[tuple[str, str]]:
    bases = []
    for name in paths.ROOTS:
        try:
            bases.append((name, str(paths.root(name))))
        except paths.MissingRootError:
            continue
    cfg = paths.config_file()
    if cfg is not None:
        bases.append(("experiment", str(cfg.resolve().parent)))
    return bases


# the digests of tasks' records, by task id, for the life of the process.
# What a task would run depends on its parameters, its stage YAMLs and its
# inputs' digests, none of which change while a pipeline runs, and the
# scheduler checks each of thousands of timeslide branches, whose records
# share one upstream (benchmarks/provenance.py).  ``forget`` clears it for
# a process that changes configs between checks, as the tests do.
DIGESTS: dict[str, str] = {}


def forget() -> None:
    """Clear the process's digests (``DIGESTS``)."""
    DIGESTS.clear()


def digest(record: Any) -> str:
    """The sha256 of a record (or a list of digests), as canonical JSON."""
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write(path: Path, record: dict) -> None:
    text = json.dumps({**record, "digest": digest(record)}, indent=2)
    write_atomic(path, text + "\n")


def changes(recorded: dict, current: dict) -> list[str]:
    """What differs between two records, in words."""
    found = []
    old, new = recorded.get("parameters", {}), current["parameters"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            found.append(
                f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}"
            )
    if recorded.get("configs") != current["configs"]:
        found.append("a stage YAML it reads was edited")
    old_inputs = dict(map(tuple, recorded.get("inputs", [])))
    for name, value in current["inputs"]:
        if old_inputs.get(name) != value:
            found.append(f"its input {name} changed")
    for key in ("stage", "subcommand"):
        if recorded.get(key) != current[key]:
            found.append(f"{key}: {recorded.get(key)} -> {current[key]}")
    return found


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
