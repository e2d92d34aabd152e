"""The layers of aframe's code, and which of the project's packages each
may import: the rule tests/test_layering.py holds the code to, and the
table docs/architecture.md shows, both read from the source here.

- ``aframe``, the orchestration (law tasks, configuration, aframe-init),
  runs the stages through their command lines: of the project's packages
  it imports the contracts only;
- a stage, ``projects/<stage>/aframe_<stage>``, imports libraries, never
  another stage and never the orchestration, so that its image needs
  only the libraries;
- a library, ``libs/<lib>/aframe_<lib>``, imports no stage: the
  contracts import nothing of the project (numpy and h5py only), the
  other libraries the contracts, and the libraries ``BUILDS_ON`` says
  they build on.

Only the source is read (``ast``); nothing is imported.
"""

import ast
from pathlib import Path

from aframe.paths import REPO_DIR

ORCHESTRATION = "aframe"
CONTRACTS = "aframe_contracts"
# the libraries a library may import besides the contracts, and why
BUILDS_ON = {
    # the bank backend runs the template bank and the whitening that
    # training runs, the same code
    "aframe_serving": {"aframe_signal"},
}


def packages(root: Path = REPO_DIR) -> dict[str, Path]:
    """Every package of the project, by name: the orchestration, the
    libraries and the stages."""
    found = {ORCHESTRATION: root / ORCHESTRATION}
    for folder in ("libs", "projects"):
        for package in sorted((root / folder).glob("*/aframe_*")):
            if package.is_dir():
                found[package.name] = package
    return found


def layer(package: str, root: Path = REPO_DIR) -> str:
    """orchestration, library or stage."""
    if package == ORCHESTRATION:
        return "orchestration"
    return (
        "library" if packages(root)[package].parts[-3] == "libs" else "stage"
    )


def allowed(package: str, root: Path = REPO_DIR) -> set[str]:
    """The other project packages ``package`` may import."""
    kind = layer(package, root)
    if kind == "orchestration":
        return {CONTRACTS}
    if kind == "stage":
        return {p for p in packages(root) if layer(p, root) == "library"}
    if package == CONTRACTS:
        return set()
    return {CONTRACTS, *BUILDS_ON.get(package, ())}


def modules(root: Path = REPO_DIR) -> dict[str, Path]:
    """Every module of the project by its dotted name."""
    found = {}
    for package in packages(root).values():
        for path in package.rglob("*.py"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported_names(path: Path) -> set[str]:
    """The dotted names a module imports, anywhere in it (a function's
    import counts too: it runs later, but it runs); ``from a import b``
    gives both ``a`` and ``a.b``, which may be a module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def package_imports(root: Path = REPO_DIR) -> dict[str, dict[str, set[str]]]:
    """Which other project packages each package imports, and in which of
    its files (relative to the root)."""
    names = set(packages(root))
    result: dict[str, dict[str, set[str]]] = {}
    for package, directory in packages(root).items():
        result[package] = {}
        for path in sorted(directory.rglob("*.py")):
            tops = {name.split(".")[0] for name in imported_names(path)}
            for other in (tops & names) - {package}:
                where = str(path.relative_to(root))
                result[package].setdefault(other, set()).add(where)
    return result


def violations(root: Path = REPO_DIR) -> list[str]:
    """Every import that breaks the rule, as ``file imports package``."""
    found = []
    for package, imports in package_imports(root).items():
        for other, files in sorted(imports.items()):
            if other not in allowed(package, root):
                found += [f"{path} imports {other}" for path in sorted(files)]
    return found


def import_graph(root: Path = REPO_DIR) -> dict[str, set[str]]:
    """Which of the project's modules each module imports."""
    found = modules(root)
    return {
        name: {n for n in imported_names(path) if n in found} - {name}
        for name, path in found.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a graph: its strongly connected components
    of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []
    for start in graph:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        work = [(start, iter(sorted(graph[start])))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
