"""ampli's modules import each other in one direction only: no circle, counting imports inside functions and
under TYPE_CHECKING too (a circle there still ties the modules together)."""

import ast
from graphlib import CycleError, TopologicalSorter

from tests.conftest import ROOT


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in (ROOT / "ampli").rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in paths else node.module
                             for a in node.names}
        graph[name] = {m for m in imported if m in paths and m != name}
    return graph


def test_no_import_circles():
    graph = import_graph()
    assert {"ampli.teacher.clients", "ampli.hosted.api_pool", "ampli.teacher.documents",
            "ampli.teacher.teach"} <= set(graph)
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        raise AssertionError(f"import circle: {' -> '.join(error.args[1])}") from None
