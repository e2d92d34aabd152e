"""Every test CATALOGUE.md names exists, so the catalogue cannot point
at a test that was renamed or removed."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
CATALOGUE = Path(__file__).with_name("CATALOGUE.md")


def test_every_named_test_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", CATALOGUE.read_text())
    assert len(named) > 40
    missing = []
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        functions = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef)
        }
        if name not in functions:
            missing.append(f"{path}::{name}")
    assert not missing
