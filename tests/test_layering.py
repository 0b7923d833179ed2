"""ampli's packages are layers (ampli.LAYERS, lowest first): no module imports from a package above its own.

Every import counts, including those inside functions and under TYPE_CHECKING (tests.test_imports reads them): a
lazy import upward still ties a lower layer to a higher one. The one exception is a package's leaf `config` module,
the settings dataclasses that the config schema composes: anyone may import it, and it imports nothing from ampli
but other leaf `config` modules."""

import re

import pytest

import ampli
from tests.conftest import ROOT
from tests.test_imports import import_graph

LAYER = {name: rank for rank, (name, _) in enumerate(ampli.LAYERS)}
OUTSIDE_THE_LAYERS = {"ampli": -1, "ampli.cli": len(LAYER)}  # the version below all, the command above all


def layer_of(module: str) -> int:
    if module in OUTSIDE_THE_LAYERS:
        return OUTSIDE_THE_LAYERS[module]
    package = module.split(".")[1]
    assert package in LAYER, f"{module} belongs to no package of ampli.LAYERS"
    return LAYER[package]


def is_leaf_config(module: str) -> bool:
    return module.count(".") >= 2 and module.endswith(".config")


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            if is_leaf_config(module) and not is_leaf_config(target) and target != "ampli":
                problems.append(f"{module} is a leaf config module but imports {target}")
            elif not is_leaf_config(target) and layer_of(target) > layer_of(module):
                problems.append(f"{module} imports {target}, a higher layer (ampli.LAYERS, lowest first: "
                                f"{', '.join(LAYER)})")
    return problems


def test_no_module_imports_from_a_higher_layer():
    assert layering_violations(import_graph()) == []


def test_an_upward_import_is_caught():
    graph = import_graph()
    graph["ampli.record.store"] = graph["ampli.record.store"] | {"ampli.run.loop"}
    graph["ampli.judges.config"] = graph["ampli.judges.config"] | {"ampli.judges.base"}
    assert layering_violations(graph) == [
        "ampli.judges.config is a leaf config module but imports ampli.judges.base",
        "ampli.record.store imports ampli.run.loop, a higher layer (ampli.LAYERS, lowest first: "
        f"{', '.join(LAYER)})",
    ]


def test_every_top_level_entry_is_a_layer():
    entries = {p.stem for p in (ROOT / "ampli").iterdir() if p.name != "__pycache__"}
    assert entries - {"__init__", "cli", "data"} == set(LAYER)


@pytest.mark.parametrize("name", [n for n in LAYER if n != "config"])
def test_each_package_says_what_it_may_import(name):
    """The 'May import:' line of the package's docstring names the packages below it in ampli.LAYERS."""
    doc = " ".join((ROOT / "ampli" / name / "__init__.py").read_text(encoding="utf-8").split('"""')[1].split())
    said = re.search(r"May import: (.*?) \(the packages below it", doc)
    assert said and said.group(1).split(", ") == list(LAYER)[: LAYER[name]], doc


def test_the_readme_package_map_is_the_layer_table():
    rows = "\n".join(f"- `ampli/{name}/`: {owns}" for name, owns in ampli.LAYERS)
    assert rows in (ROOT / "README.md").read_text(encoding="utf-8")
