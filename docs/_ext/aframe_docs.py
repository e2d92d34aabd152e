"""Sphinx directives that write parts of the docs from the code itself.

Everything here runs at build time, so these parts cannot drift:

``{cli-help}`` ``aframe-data segments``
    the ``--help`` of a console script, run in this process.
``{experiment}``
    a fresh ``aframe-init`` directory: its files, its ``run.sh`` or the
    ``law run ... --print-status -1`` of its pipeline.
``{parameter-table}``
    where every pipeline and task parameter is set, with its value in
    ``base.cfg`` and in the quickstart preset.
``{file-layout}`` ``aframe_contracts.strain``
    a file layout, from the contract that reads and writes it: the
    module's description, and the fields of each of its contracts.
``{layers}``
    every package of the project, its layer, what it may import and what
    it imports (``aframe.layers``); an import that breaks the rule, or
    an import circle, fails the build.
``{contracts}``
    each file format of file_layouts.md, and the contract that owns it.
"""

import configparser
import contextlib
import importlib
import importlib.metadata
import io
import os
import re
import shlex
import subprocess
import tempfile
import tomllib
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

# help text is formatted for an 79-column terminal
COLUMNS = "79"
# what a generated experiment's paths are shown as
SHOWN_HOME = "/home/albert.einstein/aframe"
SHOWN_REPO = "/home/albert.einstein/src/aframe"
# the task modules of aframe.tasks, in pipeline order
STAGES = ("data", "testing", "train", "export", "infer", "mlgwsc", "plots")


def _literal(text: str, language: str = "text") -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = language
    return block


def _cell(content) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, nodes.Node):
        entry += nodes.paragraph("", "", content)
    else:
        entry += nodes.paragraph("", str(content))
    return entry


def table(headers: list[str], rows: list[list]) -> nodes.table:
    """A docutils table; a cell is a string or an inline node."""
    group = nodes.tgroup(cols=len(headers))
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    row = nodes.row()
    for header in headers:
        row += _cell(header)
    head += row
    group += head
    body = nodes.tbody()
    for values in rows:
        row = nodes.row()
        for value in values:
            row += _cell(value)
        body += row
    group += body
    result = nodes.table()
    result += group
    return result


def code(text: str) -> nodes.literal:
    return nodes.literal(text, text)


# ---------------------------------------------------------------- cli-help
def console_script(name: str):
    """The function behind a console script.

    Looked up in this checkout's pyproject.toml first, so that a script
    added since the environment was installed is found, then among the
    installed entry points.
    """
    from aframe.paths import REPO_DIR

    with open(REPO_DIR / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"].get("scripts", {})
    if name in scripts:
        module, _, attribute = scripts[name].partition(":")
        return getattr(importlib.import_module(module), attribute)
    for script in importlib.metadata.entry_points(group="console_scripts"):
        if script.name == name:
            return script.load()
    raise RuntimeError(f"no console script {name!r}")


def run_console_script(argv: list[str]) -> str:
    """The output of a console script run in this process.

    Raises:
        RuntimeError: no such script, or it failed.
    """
    main = console_script(argv[0])
    args = argv[1:]
    os.environ["COLUMNS"] = COLUMNS
    out = io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = main(args) or 0
        except SystemExit as stop:
            status = 0 if stop.code is None else stop.code
    if status:
        raise RuntimeError(
            f"{shlex.join(argv)} exited with {status}:\n{out.getvalue()}"
        )
    return out.getvalue()


def help_sections(text: str, wanted: list[str]) -> str:
    """The sections of a help text that mention any of ``wanted``.

    A section starts at an unindented line ending in ':' (argparse's
    group titles); the usage block before the first is dropped.
    """
    sections, current = [], None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = [line]
            sections.append(current)
        elif current is not None:
            current.append(line)
    kept = [
        "\n".join(lines).rstrip()
        for lines in sections
        if any(w in "\n".join(lines) for w in wanted)
    ]
    return "\n\n".join(kept) + "\n"


class CliHelp(Directive):
    """``--help`` of a console script, e.g. ``aframe-data segments``.

    ``:sections:`` keeps only the option groups mentioning any of the
    comma-separated strings (the Lightning CLI's help is long).
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"sections": directives.unchanged}

    def run(self):
        argv = shlex.split(self.arguments[0])
        try:
            text = run_console_script([*argv, "--help"])
        except Exception as error:
            raise self.error(
                f"cli-help {self.arguments[0]}: {error}"
            ) from error
        if "sections" in self.options:
            wanted = [w.strip() for w in self.options["sections"].split(",")]
            text = help_sections(text, wanted)
        shown = f"$ {shlex.join(argv)} --help\n{text}"
        return [_literal(shown, "console")]


# -------------------------------------------------------------- experiment
_EXPERIMENTS: dict[tuple[str, str], Path] = {}


def experiment(mode: str, preset: str) -> Path:
    """A fresh aframe-init directory, made once per build."""
    key = (mode, preset)
    if key not in _EXPERIMENTS:
        from aframe.init import init

        root = Path(tempfile.mkdtemp(prefix="aframe-docs-"))
        directory = root / "my-first-run"
        init(directory, mode, preset)
        _EXPERIMENTS[key] = directory
    return _EXPERIMENTS[key]


def shown(text: str, directory: Path) -> str:
    """``text`` with the build's paths replaced by a user's."""
    from aframe.paths import REPO_DIR

    text = text.replace(str(directory.parent), SHOWN_HOME)
    return text.replace(str(REPO_DIR), SHOWN_REPO)


def print_status(directory: Path) -> str:
    """What ``bash run.sh --print-status -1`` prints."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AFRAME_", "LAW_", "LUIGI_"))
    }
    env["COLUMNS"] = COLUMNS
    result = subprocess.run(
        ["bash", str(directory / "run.sh"), "--print-status", "-1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"run.sh --print-status -1 failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


class Experiment(Directive):
    """Part of a fresh experiment directory.

    ``:mode:`` sandbox or tune, ``:preset:`` default or quickstart, and
    ``:show:`` one of ``files`` (the listing), ``run.sh``, ``status``
    (the pipeline's ``--print-status -1``) or a file's name.
    """

    option_spec = {
        "mode": directives.unchanged,
        "preset": directives.unchanged,
        "show": directives.unchanged_required,
    }

    def run(self):
        mode = self.options.get("mode", "sandbox")
        preset = self.options.get("preset", "default")
        what = self.options["show"]
        try:
            directory = experiment(mode, preset)
            if what == "files":
                names = sorted(p.name for p in directory.iterdir())
                text = f"$ ls {directory}\n" + "\n".join(names) + "\n"
                language = "console"
            elif what == "status":
                text = (
                    f"$ bash {directory}/run.sh --print-status -1\n"
                    + print_status(directory)
                )
                language = "console"
            else:
                text = (directory / what).read_text()
                language = {".sh": "bash", ".cfg": "ini"}.get(
                    Path(what).suffix, "yaml"
                )
        except Exception as error:
            raise self.error(f"experiment {what}: {error}") from error
        return [_literal(shown(text, directory), language)]


# --------------------------------------------------------- parameter-table
def read_cfg(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def cfg_layers() -> dict[str, configparser.ConfigParser]:
    from aframe.paths import CONFIG_DIR

    return {
        "base": read_cfg(CONFIG_DIR / "base.cfg"),
        "sandbox": read_cfg(CONFIG_DIR / "sandbox.cfg"),
        "tune": read_cfg(CONFIG_DIR / "tune.cfg"),
        "quickstart": read_cfg(
            CONFIG_DIR / "presets" / "quickstart" / "quickstart.cfg"
        ),
    }


def value(
    layer: configparser.ConfigParser, section: str, name: str
) -> nodes.Node:
    """An option's value in one layer, or nothing if it does not set it."""
    if not layer.has_option(section, name):
        return nodes.Text("")
    text = layer.get(section, name)
    return code(text) if text else nodes.Text("(empty)")


def code_default(default) -> str:
    """A parameter's default as a person writes it (a task by its name)."""
    return default.__name__ if isinstance(default, type) else repr(default)


def description(param) -> str:
    return re.sub(r"\s+", " ", param.description or "").strip()


def own_parameters(cls) -> list[tuple[str, object]]:
    """The parameters aframe declares on ``cls`` (not law's own)."""
    from aframe.parameters import PipelineParams

    shared = {
        *dict(PipelineParams.get_params()),
        *job_parameters("htcondor"),
        *job_parameters("slurm"),
    }
    found = []
    for name, param in cls.get_params():
        if name in shared:
            continue
        owner = next(
            (k for k in cls.__mro__ if name in vars(k)), cls
        ).__module__
        if owner.startswith("aframe"):
            found.append((name, param))
    return found


def job_parameters(scheduler: str) -> list[str]:
    """The parameters aframe gives the jobs of one scheduler's workflow
    (``htcondor`` or ``slurm``): the resources every job has, then the
    scheduler's own; Slurm's partition is law's."""
    from aframe.condor import CondorWorkflow
    from aframe.jobs import JobResources
    from aframe.slurm import SlurmWorkflow

    workflow = {"htcondor": CondorWorkflow, "slurm": SlurmWorkflow}[scheduler]
    own = [
        name
        for name, _ in workflow.get_params()
        if name in vars(workflow) and name not in vars(JobResources)
    ]
    if scheduler == "slurm":
        own.insert(0, "slurm_partition")
    return [*sorted(JobResources.resource_params), *own]


def stage_tasks() -> list[type]:
    """The tasks the pipelines run: the leaves under StageTask."""
    from aframe.base import StageTask

    for module in STAGES:
        importlib.import_module(f"aframe.tasks.{module}")
    importlib.import_module("aframe.pipelines.sandbox")

    leaves, todo = [], [StageTask]
    while todo:
        cls = todo.pop()
        children = cls.__subclasses__()
        if not children and cls.__module__.startswith("aframe.tasks"):
            leaves.append(cls)
        todo.extend(children)
    return sorted(
        leaves,
        key=lambda c: (STAGES.index(c.__module__.split(".")[-1]), c.__name__),
    )


class ParameterTable(Directive):
    """``:kind:`` ``pipeline`` (the shared parameters), ``tasks`` (each
    task's own), ``condor`` or ``slurm`` (those of every HTCondor or
    Slurm workflow)."""

    option_spec = {"kind": directives.unchanged_required}

    def run(self):
        try:
            kind = self.options["kind"]
            if kind == "pipeline":
                return [self.pipeline()]
            if kind in ("condor", "slurm"):
                return [self.jobs(kind)]
            return [self.tasks()]
        except Exception as error:
            raise self.error(f"parameter-table: {error}") from error

    def pipeline(self) -> nodes.table:
        from aframe.parameters import SHARED_PARAMETERS, PipelineParams

        layers = cfg_layers()
        params = dict(PipelineParams.get_params())
        rows = []
        for name in SHARED_PARAMETERS:
            param = params[name]
            rows.append(
                [
                    code(name),
                    description(param),
                    value(layers["base"], "pipeline", name),
                    value(layers["quickstart"], "pipeline", name),
                ]
            )
        return table(
            ["[pipeline] option", "meaning", "base.cfg", "quickstart.cfg"],
            rows,
        )

    def jobs(self, kind: str) -> nodes.table:
        from aframe.workflows import Workflow

        scheduler = {"condor": "htcondor", "slurm": "slurm"}[kind]
        layers = cfg_layers()
        params = dict(Workflow.get_params())
        rows = [
            [
                code("workflow"),
                "where branches run: local (here, --workers at a time), "
                "htcondor (one HTCondor job per branch) or slurm (one "
                "Slurm job per branch)",
                code("local"),
                value(layers["base"], "pipeline", "workflow"),
            ]
        ]
        rows += [
            [
                code(name),
                description(params[name]),
                code(code_default(params[name]._default)),
                value(layers["base"], "pipeline", name),
            ]
            for name in job_parameters(scheduler)
        ]
        return table(["option", "meaning", "in the code", "base.cfg"], rows)

    def tasks(self) -> nodes.table:
        layers = cfg_layers()
        rows = []
        for cls in stage_tasks():
            family = cls.get_task_family()
            section = f"luigi_{family}"
            for name, param in own_parameters(cls):
                where = [
                    layer
                    for layer in ("base", "sandbox", "tune")
                    if layers[layer].has_option(section, name)
                ]
                default = nodes.inline()
                if where:
                    default += value(layers[where[0]], section, name)
                    if where[0] != "base":
                        default += nodes.Text(f" ({where[0]}.cfg)")
                else:
                    default += nodes.Text("in the code: ")
                    default += code(code_default(param._default))
                rows.append(
                    [
                        code(f"[{section}]"),
                        code(name),
                        description(param),
                        default,
                        value(layers["quickstart"], section, name),
                    ]
                )
        return table(
            ["section", "option", "meaning", "default", "quickstart.cfg"],
            rows,
        )


# ------------------------------------------------------------- file layout
def args_section(docstring: str) -> dict[str, str]:
    """The ``Args:`` of a Google-style docstring: name -> meaning."""
    meanings, name, inside = {}, None, False
    for line in (docstring or "").splitlines():
        stripped = line.strip()
        if stripped == "Args:":
            inside = True
            continue
        if not inside:
            continue
        if not stripped or (stripped.endswith(":") and " " not in stripped):
            break
        match = re.match(r"(\w+(?: \.\.\. \w+)?): (.*)", stripped)
        if match and len(line) - len(line.lstrip()) <= 8:
            name = match[1]
            meanings[name] = match[2]
        elif name:
            meanings[name] += " " + stripped
    return meanings


def type_name(annotation) -> str:
    """``float``, ``list[str]``, ``float | None``."""
    if isinstance(annotation, type) and not hasattr(annotation, "__args__"):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


class FileLayout(Directive):
    """A file layout: the description in a contract module's docstring
    (after its summary line), then a table of the fields of each
    dataclass the module defines."""

    required_arguments = 1

    def run(self):
        import dataclasses
        import inspect

        from docutils.statemachine import StringList

        module = importlib.import_module(self.arguments[0])
        body = inspect.getdoc(module).split("\n\n", 1)[-1]
        container = nodes.container()
        self.state.nested_parse(
            StringList(body.splitlines(), source=module.__name__),
            self.content_offset,
            container,
        )
        result = [container]
        classes = [
            value
            for value in vars(module).values()
            if dataclasses.is_dataclass(value)
            and value.__module__ == module.__name__
        ]
        for cls in classes:
            # a field is described where it is declared, in the class or
            # a base
            meanings = {}
            for base in reversed(cls.__mro__):
                meanings.update(args_section(inspect.getdoc(base)))
            rows = [
                [
                    code(field.name),
                    code(type_name(field.type)),
                    meanings.get(field.name, ""),
                ]
                for field in dataclasses.fields(cls)
            ]
            title = nodes.paragraph()
            title += code(f"{module.__name__}.{cls.__name__}")
            summary = inspect.getdoc(cls).splitlines()[0].replace("``", "")
            title += nodes.Text(": " + summary)
            result += [title, table(["field", "type", "meaning"], rows)]
        return result


# ------------------------------------------------------------ architecture
def summary(path: Path) -> str:
    """The first paragraph of a module's docstring, on one line, read
    without importing it."""
    import ast

    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return " ".join(docstring.split("\n\n")[0].split()).replace("``", "")


class Layers(Directive):
    """The project's packages by layer, what each may import and what it
    does import, from the source (``aframe.layers``)."""

    def run(self):
        from aframe import layers
        from aframe.paths import REPO_DIR

        broken = layers.violations()
        circles = layers.circles(layers.import_graph())
        if broken or circles:
            raise self.error(
                "the code breaks its layering: "
                + "; ".join(broken + [" -> ".join(c) for c in circles])
            )
        imports = layers.package_imports()
        rows = []
        for package, directory in layers.packages().items():
            rows.append(
                [
                    code(package),
                    layers.layer(package),
                    code(str(directory.relative_to(REPO_DIR))),
                    ", ".join(sorted(layers.allowed(package))) or "nothing",
                    ", ".join(sorted(imports[package])) or "nothing",
                    summary(directory / "__init__.py"),
                ]
            )
        return [
            table(
                [
                    "package",
                    "layer",
                    "where",
                    "may import",
                    "imports",
                    "what it holds",
                ],
                rows,
            )
        ]


class Contracts(Directive):
    """Each file format of file_layouts.md: its contract module, the
    contracts that read and write it (the dataclasses with ``read`` and
    ``write``, else the module's ``read_`` and ``write_`` functions),
    and the module's summary."""

    def run(self):
        import dataclasses

        env = self.state.document.settings.env
        layouts = (Path(env.srcdir) / "file_layouts.md").read_text()
        rows = []
        for name in re.findall(r"\{file-layout\} (\S+)", layouts):
            module = importlib.import_module(name)
            owners = [
                key
                for key, value in vars(module).items()
                if dataclasses.is_dataclass(value)
                and value.__module__ == name
                and hasattr(value, "write")
                and hasattr(value, "read")
            ]
            # a text format has functions, not a dataclass
            owners = owners or [
                f"{key}()"
                for key, value in vars(module).items()
                if callable(value)
                and getattr(value, "__module__", "") == name
                and key.startswith(("read_", "write_"))
            ]
            rows.append(
                [
                    code(name),
                    ", ".join(owners),
                    summary(Path(module.__file__)),
                ]
            )
        return [table(["module", "read and written by", "the file"], rows)]


def setup(app):
    app.add_directive("cli-help", CliHelp)
    app.add_directive("experiment", Experiment)
    app.add_directive("parameter-table", ParameterTable)
    app.add_directive("file-layout", FileLayout)
    app.add_directive("layers", Layers)
    app.add_directive("contracts", Contracts)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
