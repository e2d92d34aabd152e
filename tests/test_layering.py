"""Who may import whom: stages and libraries never import the
orchestration package, so a stage's image needs only the stages and the
libraries."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
SOURCES = sorted(
    path
    for folder in ("projects", "libs")
    for path in (ROOT / folder).rglob("*.py")
)


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_stage_or_library_imports_the_orchestration():
    offenders = [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if "aframe" in imported(path)
    ]
    assert SOURCES and not offenders


def test_the_contracts_import_no_stage():
    contracts = (ROOT / "libs" / "contracts").rglob("*.py")
    stages = {"aframe_data", "aframe_train", "aframe_export"}
    stages |= {"aframe_infer", "aframe_plots", "aframe_signal", "torch"}
    for path in contracts:
        assert not imported(path) & stages, path


def module_files() -> dict[str, Path]:
    """Every module of the project by its dotted name: the orchestration
    package, the libraries' and the stages'."""
    packages = [ROOT / "aframe"]
    for folder in ("libs", "projects"):
        packages += sorted((ROOT / folder).glob("*/aframe_*"))
    modules = {}
    for package in packages:
        for path in package.rglob("*.py"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which of ``modules`` each imports, wherever in it (a function's
    import closes a circle too, only later)."""
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                # ``from package import module`` imports the module
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
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


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    modules = module_files()
    assert {"aframe.base", "aframe_contracts.strain"} <= set(modules)
    assert circles(import_graph(modules)) == []
