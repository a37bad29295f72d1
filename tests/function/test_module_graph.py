"""The function's modules import one another without a cycle, type-checking imports included."""

from __future__ import annotations

import ast
from pathlib import Path

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"


def imports_between_modules(function_dir: Path) -> dict[str, set[str]]:
    """Module name -> the function's own modules it imports, wherever in the file (``if TYPE_CHECKING:`` too)."""
    modules = {path.stem: path for path in function_dir.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
        graph[name] = {other for other in imported if other in modules and other != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each as the path that closes it (depth-first, one report per back edge)."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                found.append(path[path.index(other) :] + [other])
            elif other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def test_the_functions_modules_import_one_another_without_a_cycle():
    assert cycles(imports_between_modules(FUNCTION_DIR)) == []


def test_a_cycle_through_a_type_checking_import_is_found(tmp_path):
    (tmp_path / "grants.py").write_text("import access_policy\n")
    (tmp_path / "access_policy.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from grants import ProviderCall\n"
    )
    (tmp_path / "web.py").write_text("import json\n")

    assert cycles(imports_between_modules(tmp_path)) == [["access_policy", "grants", "access_policy"]]
