"""Who may import whom (aframe.layers): a stage imports only libraries,
never another stage or the orchestration, so that a stage's image needs
only the libraries; no module imports itself through others."""

from aframe import layers
from aframe.paths import REPO_DIR


def test_the_layers_are_found():
    found = layers.packages()
    assert {"aframe", "aframe_contracts", "aframe_serving"} <= set(found)
    assert layers.layer("aframe_infer") == "stage"
    assert layers.layer("aframe_serving") == "library"
    assert layers.layer("aframe_pastro") == "library"
    # a library imports the contracts, and what it builds on
    assert layers.allowed("aframe_pastro") == {"aframe_contracts"}
    assert layers.allowed("aframe_serving") == {
        "aframe_contracts",
        "aframe_signal",
    }
    assert layers.allowed("aframe_contracts") == set()
    assert layers.allowed("aframe_online") == {
        "aframe_contracts",
        "aframe_pastro",
        "aframe_priors",
        "aframe_serving",
        "aframe_signal",
    }


def test_every_import_keeps_to_its_layer():
    assert layers.violations() == []


def test_a_stage_importing_another_is_found(tmp_path):
    for folder in ("aframe", "libs/lib/aframe_lib", "projects/a/aframe_a"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "projects/b/aframe_b").mkdir(parents=True)
    (tmp_path / "projects/a/aframe_a/x.py").write_text(
        "import aframe_lib\n\ndef f():\n    from aframe_b.y import z\n"
    )
    (tmp_path / "libs/lib/aframe_lib/y.py").write_text("import aframe\n")
    assert layers.violations(tmp_path) == [
        "libs/lib/aframe_lib/y.py imports aframe",
        "projects/a/aframe_a/x.py imports aframe_b",
    ]


def test_the_contracts_need_only_numpy_and_h5py():
    contracts = layers.packages()["aframe_contracts"]
    heavy = {"torch", "scipy", "bilby", "lightning", "law", "luigi"}
    for path in contracts.rglob("*.py"):
        tops = {name.split(".")[0] for name in layers.imported_names(path)}
        assert not tops & heavy, path.relative_to(REPO_DIR)


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert layers.circles(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    graph = layers.import_graph()
    assert {"aframe.base", "aframe_contracts.strain"} <= set(graph)
    assert layers.circles(graph) == []
