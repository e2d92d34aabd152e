#!/usr/bin/env python3
"""Stand-ins for the HTCondor commands law's HTCondor workflow calls.

No HTCondor pool can be installed here, so ``bin/condor_submit``,
``condor_q``, ``condor_rm``, ``condor_history`` and ``condor_version`` run
the submitted jobs on this machine instead: each job is a background
process in its own scratch directory with HTCondor's job environment (the
submit file's ``environment``, not the submitter's), its input files
transferred in, its output files and remaps transferred back, its stdout,
stderr and user log where the submit file says.  The queue commands answer
in the formats law parses (``-af:lng``).

The queue lives in ``$CONDOR_STANDIN_DIR``.  ``$CONDOR_STANDIN_FAILURES=n``
(set when submitting) makes the first n jobs submitted fail with exit
code 1 before running, as on a broken execute node, to test resubmission.
By submission order, not start order: jobs start in parallel, and the
test must know which one fails.

Standard library only: the commands run with whatever ``python3`` is first
on PATH.
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5
IN_QUEUE = (IDLE, RUNNING, HELD)
IN_HISTORY = (REMOVED, COMPLETED)
VERSION = "$CondorVersion: 23.0.0 2023-09-29 BuildID: standin $"
# the environment every job starts from, as on an execute node
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class SubmitError(Exception):
    """The submit file uses something the stand-in does not run."""


# ----------------------------------------------------------------- state
def state_dir() -> Path:
    value = os.environ.get("CONDOR_STANDIN_DIR")
    if not value:
        sys.exit("CONDOR_STANDIN_DIR is not set: it holds the stand-in queue")
    path = Path(value)
    (path / "jobs").mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def locked(path: Path):
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def job_file(state: Path, job_id: str) -> Path:
    return state / "jobs" / f"{job_id}.json"


def read_job(state: Path, job_id: str) -> dict:
    return json.loads(job_file(state, job_id).read_text())


def write_job(state: Path, job: dict) -> None:
    path = job_file(state, f"{job['ClusterId']}.{job['ProcId']}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(job, indent=1))
    tmp.replace(path)


def update_job(state: Path, job_id: str, **changes) -> dict:
    with locked(state / "jobs" / f"{job_id}.lock"):
        job = read_job(state, job_id)
        job.update(changes)
        write_job(state, job)
    return job


def take(state: Path, counter: str, start: int) -> int:
    """Increment a counter file and return its previous value."""
    path = state / counter
    with locked(state / f"{counter}.lock"):
        value = int(path.read_text()) if path.exists() else start
        path.write_text(str(value + 1))
    return value


def inject_failure(state: Path) -> bool:
    """Whether the job being submitted is one of the first
    CONDOR_STANDIN_FAILURES."""
    failures = int(os.environ.get("CONDOR_STANDIN_FAILURES", "0"))
    return take(state, "submitted", 0) < failures


# ----------------------------------------------------------- submit file
def submit_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        line = (current + line).strip()
        current = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def queue_items(statement: str, lines: list[str]) -> list[dict]:
    """The macro values of each job of one ``queue`` statement.

    ``lines`` are the lines after the statement; the rows of an inline
    ``from (...)`` list are taken from its front.
    """
    args = statement[len("queue") :].strip()
    if not args:
        return [{}]
    if args.isdigit():
        return [{} for _ in range(int(args))]
    match = re.fullmatch(r"(\d+\s+)?([\w\s,]+?)\s+from\s+\((.*)", args)
    if not match:
        raise SubmitError(f"unsupported queue statement: {statement}")
    count = int(match.group(1) or 1)
    names = [n for n in re.split(r"[,\s]+", match.group(2).strip()) if n]
    rows = []
    rest = match.group(3).strip()
    if rest:
        raise SubmitError("the stand-in needs one from-row per line")
    while lines:
        row = lines.pop(0)
        if row == ")":
            break
        # the last variable gets the remainder of the row
        values = re.split(r"\s*,\s*|\s+", row.strip(), maxsplit=len(names) - 1)
        rows.extend([dict(zip(names, values, strict=True))] * count)
    else:
        raise SubmitError("a queue from-list is not closed with ')'")
    return rows


def parse_submit(text: str) -> list[dict]:
    """One dict of submit commands (keys lower case) per queued job."""
    commands: dict[str, str] = {}
    jobs = []
    lines = submit_lines(text)
    while lines:
        line = lines.pop(0)
        if line.lower().startswith("queue"):
            for macros in queue_items(line, lines):
                jobs.append({**commands, **{"__macros": macros}})
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SubmitError(f"cannot parse submit line: {line}")
        commands[key.strip().lower()] = value.strip()
    if not jobs:
        raise SubmitError("the submit file queues no job")
    return jobs


def expand(value: str, macros: dict[str, str]) -> str:
    """Replace ``$(name)`` with the job's macro values."""
    for _ in range(10):
        new = re.sub(
            r"\$\((\w+)\)",
            lambda m: macros.get(m.group(1).lower(), ""),
            value,
        )
        if new == value:
            break
        value = new
    return value


def split_arguments(value: str) -> list[str]:
    """HTCondor ``arguments``: the new (quoted) or the old syntax."""
    value = value.strip()
    if not (value.startswith('"') and value.endswith('"')):
        return value.split()
    value = value[1:-1].replace('""', '"')
    args, current, quoted, started = [], "", False, False
    i = 0
    while i < len(value):
        char = value[i]
        if char == "'":
            if quoted and value[i + 1 : i + 2] == "'":
                current += "'"
                i += 1
            else:
                quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                args.append(current)
            current, started = "", False
        else:
            current += char
            started = True
        i += 1
    if started:
        args.append(current)
    return args


def split_environment(value: str) -> dict[str, str]:
    value = value.strip()
    if value.startswith('"') and value.endswith('"'):
        items = split_arguments(value)
    else:
        items = [i for i in value.split(";") if i.strip()]
    return dict(item.strip().split("=", 1) for item in items)


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def split_remaps(value: str) -> dict[str, str]:
    value = value.strip().strip('"')
    pairs = [p.split("=", 1) for p in value.split(";") if p.strip()]
    return {src.strip(): dst.strip() for src, dst in pairs}


def job_record(commands: dict, cluster: int, proc: int, cwd: Path) -> dict:
    """Everything the execute side needs, with macros expanded."""
    macros = {
        **commands["__macros"],
        "cluster": str(cluster),
        "clusterid": str(cluster),
        "process": str(proc),
        "procid": str(proc),
    }
    macros = {k.lower(): v for k, v in macros.items()}
    # queue variables (law queues its arguments this way) act as commands
    merged = {k: v for k, v in commands.items() if k != "__macros"}
    merged.update(macros)
    values = {k: expand(v, merged) for k, v in merged.items()}
    universe = values.get("universe", "vanilla").lower()
    if universe != "vanilla":
        raise SubmitError(f"the stand-in runs vanilla jobs, not {universe}")
    iwd = Path(values.get("initialdir", cwd))
    iwd = iwd if iwd.is_absolute() else cwd / iwd
    executable = Path(values["executable"])
    if not executable.is_absolute():
        executable = cwd / executable
    return {
        "ClusterId": cluster,
        "ProcId": proc,
        "JobStatus": IDLE,
        "ExitCode": None,
        "ExitStatus": None,
        "HoldReason": None,
        "RemoveReason": None,
        "RemoteHost": None,
        "Cmd": str(executable),
        "Args": split_arguments(values.get("arguments", "")),
        "Iwd": str(iwd),
        "Environment": split_environment(values.get("environment", "")),
        "GetEnv": values.get("getenv", "false").lower() == "true",
        "Input": split_list(values.get("transfer_input_files", "")),
        "Output": split_list(values.get("transfer_output_files", "")),
        "Remaps": split_remaps(values.get("transfer_output_remaps", "")),
        "Out": values.get("output"),
        "Err": values.get("error"),
        "UserLog": values.get("log"),
        "RequestCpus": values.get("request_cpus", "1"),
        "Submit": values,
    }


# --------------------------------------------------------------- the job
def user_log(job: dict, code: str, text: str) -> None:
    if not job["UserLog"]:
        return
    path = Path(job["UserLog"])
    path = path if path.is_absolute() else Path(job["Iwd"]) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    ids = f"{job['ClusterId']:03d}.{job['ProcId']:03d}.000"
    with open(path, "a") as f:
        f.write(f"{code} ({ids}) {stamp} {text}\n...\n")


def destination(job: dict, name: str) -> Path:
    """Where an output file of the job lands on the submit side."""
    target = Path(job["Remaps"].get(name, name))
    return target if target.is_absolute() else Path(job["Iwd"]) / target


def job_environment(job: dict, scratch: Path) -> dict[str, str]:
    env = dict(os.environ) if job["GetEnv"] else {}
    env.pop("CONDOR_STANDIN_FAILURES", None)
    env.setdefault("PATH", BASE_PATH)
    env.setdefault("HOME", os.environ.get("HOME", "/"))
    env.update(
        _CONDOR_SCRATCH_DIR=str(scratch),
        _CONDOR_JOB_AD=str(scratch / ".job.ad"),
        TMPDIR=str(scratch),
        OMP_NUM_THREADS=job["RequestCpus"],
    )
    env.update(job["Environment"])
    return env


def execute(state: Path, job_id: str) -> None:
    """Run one job to its end (the background process of a job)."""
    host = socket.gethostname()
    job = update_job(
        state, job_id, JobStatus=RUNNING, RemoteHost=f"slot1@{host}"
    )
    user_log(job, "001", f"Job executing on host: <{host}>")
    scratch = state / "scratch" / job_id
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    out = destination(job, job["Out"]) if job["Out"] else None
    err = destination(job, job["Err"]) if job["Err"] else None
    for path in (out, err):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
    stdout = open(out, "w") if out else subprocess.DEVNULL
    stderr = open(err, "w") if err else subprocess.DEVNULL

    if job["InjectFailure"]:
        if err:
            stderr.write("stand-in execute node: injected failure\n")
        finish(state, job, 1)
        return

    for name in [*job["Input"], job["Cmd"]]:
        source = Path(name)
        source = source if source.is_absolute() else Path(job["Iwd"]) / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, scratch / source.name)
    (scratch / ".job.ad").write_text(
        f"ClusterId = {job['ClusterId']}\nProcId = {job['ProcId']}\n"
    )
    executable = scratch / Path(job["Cmd"]).name
    executable.chmod(0o755)
    process = subprocess.run(
        [str(executable), *job["Args"]],
        cwd=scratch,
        env=job_environment(job, scratch),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )
    missing = [n for n in job["Output"] if not (scratch / n).exists()]
    if missing:
        reason = f"Transfer output files failure: {', '.join(missing)}"
        update_job(state, job_id, JobStatus=HELD, HoldReason=reason)
        user_log(job, "012", f"Job was held.\n\t{reason}")
        return
    for name in job["Output"]:
        target = destination(job, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(scratch / name, target)
    finish(state, job, process.returncode)


def finish(state: Path, job: dict, returncode: int) -> None:
    job_id = f"{job['ClusterId']}.{job['ProcId']}"
    if returncode < 0:  # a signal: HTCondor leaves ExitCode undefined
        update_job(state, job_id, JobStatus=COMPLETED, ExitStatus=-returncode)
    else:
        update_job(
            state,
            job_id,
            JobStatus=COMPLETED,
            ExitCode=returncode,
            ExitStatus=returncode,
        )
    user_log(
        job,
        "005",
        f"Job terminated.\n\t(1) Normal termination (return value "
        f"{returncode})",
    )


# -------------------------------------------------------------- commands
def condor_submit(args: list[str]) -> int:
    state = state_dir()
    files = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in ("-pool", "-name"):
            skip = True
        elif arg == "-spool":
            pass
        elif arg.startswith("-"):
            print(
                f"condor_submit stand-in: unknown option {arg}",
                file=sys.stderr,
            )
            return 1
        else:
            files.append(args[i])
    print("Submitting job(s)..")
    for name in files:
        try:
            commands = parse_submit(Path(name).read_text())
            cluster = take(state, "next_cluster", 1)
            jobs = [
                job_record(c, cluster, proc, Path.cwd())
                for proc, c in enumerate(commands)
            ]
        except (SubmitError, KeyError, OSError, ValueError) as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
        for job in jobs:
            job["InjectFailure"] = inject_failure(state)
            write_job(state, job)
            user_log(job, "000", "Job submitted from host: <standin>")
            process = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--execute",
                    f"{cluster}.{job['ProcId']}",
                ],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=open(state / "execute.log", "a"),
            )
            update_job(state, f"{cluster}.{job['ProcId']}", pid=process.pid)
        print(f"{len(jobs)} job(s) submitted to cluster {cluster}.")
    return 0


def selected_jobs(state: Path, ids: list[str]) -> list[dict]:
    jobs = []
    for path in sorted((state / "jobs").glob("*.json")):
        job = json.loads(path.read_text())
        full = f"{job['ClusterId']}.{job['ProcId']}"
        if not ids or full in ids or str(job["ClusterId"]) in ids:
            jobs.append(job)
    return jobs


def classad_value(value) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def query(args: list[str], statuses: tuple[int, ...]) -> int:
    """condor_q / condor_history: ``ids... -af:lng attrs... -limit n``."""
    state = state_dir()
    ids, attrs, limit = [], [], None
    mode = "ids"
    iterator = iter(args)
    for arg in iterator:
        if arg in ("-pool", "-name"):
            next(iterator)
        elif arg == "-limit":
            limit = int(next(iterator))
        elif arg == "-af:lng":
            mode = "attrs"
        elif arg.startswith("-"):
            print(f"stand-in: unknown option {arg}", file=sys.stderr)
            return 1
        elif mode == "attrs":
            attrs.append(arg)
        else:
            ids.append(arg)
    if not attrs:
        print("the stand-in answers -af:lng queries only", file=sys.stderr)
        return 1
    jobs = [j for j in selected_jobs(state, ids) if j["JobStatus"] in statuses]
    if statuses == IN_QUEUE:
        # a job that finished just now: HTCondor moves it to the history
        jobs = [j for j in jobs if alive(j)]
    blocks = []
    for job in jobs[:limit]:
        job = {**job, "LastRemoteHost": job["RemoteHost"]}
        blocks.append(
            "\n".join(f"{a} = {classad_value(job.get(a))}" for a in attrs)
        )
    if blocks:
        print("\n\n".join(blocks) + "\n")
    return 0


def alive(job: dict) -> bool:
    """A queued job whose execute process died counts as gone."""
    if job["JobStatus"] != RUNNING or "pid" not in job:
        return True
    try:
        os.kill(job["pid"], 0)
    except ProcessLookupError:
        return False
    return True


def condor_rm(args: list[str]) -> int:
    state = state_dir()
    ids = [a for a in args if not a.startswith("-")]
    user = os.environ.get("USER", "user")
    for job in selected_jobs(state, ids):
        if job["JobStatus"] not in IN_QUEUE:
            continue
        if job.get("pid"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job["pid"], signal.SIGTERM)
        job_id = f"{job['ClusterId']}.{job['ProcId']}"
        update_job(
            state,
            job_id,
            JobStatus=REMOVED,
            RemoveReason=f"via condor_rm (by user {user})",
        )
        print(f"Job {job_id} marked for removal")
    return 0


def main(argv: list[str]) -> int:
    command, args = Path(argv[0]).name, argv[1:]
    if args[:1] == ["--execute"]:
        execute(state_dir(), args[1])
        return 0
    if command == "condor_submit":
        return condor_submit(args)
    if command == "condor_q":
        return query(args, IN_QUEUE)
    if command == "condor_history":
        return query(args, IN_HISTORY)
    if command == "condor_rm":
        return condor_rm(args)
    if command == "condor_version":
        print(VERSION)
        print("$CondorPlatform: x86_64_Debian12 $")
        return 0
    print(f"unknown stand-in command {command}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
