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
