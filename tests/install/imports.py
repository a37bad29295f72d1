"""What an entry point imports, read from its source, and what its requirement file declares.

The walk follows the repository's own modules (``local.*``, ``oauth_exchange.*``,
the function's modules) from the files an entry point runs, so an import is
charged to the entry point that really executes it: the local stack imports the
plain settings modules of ``oauth_exchange``, not its Pulumi components.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "function"
PACKAGE_DIR = ROOT / "infra" / "oauth_exchange"
_RUN_AS_MODULE = re.compile(r"""["']-m["']\s*,\s*["']([A-Za-z_][\w.]*)["']""")


@dataclass(frozen=True)
class Imports:
    """Top-level names of third-party modules imported, and modules run with ``python -m``."""

    modules: frozenset[str]
    run_as_module: frozenset[str]


def _repo_module(name: str) -> Path | None:
    """The repository file behind an absolute module name, if it is one of ours."""
    parts = name.split(".")
    if parts[0] == "oauth_exchange":
        base = PACKAGE_DIR.joinpath(*parts[1:])
    elif parts[0] in {"local", "tests", "scripts", "bench"}:
        base = ROOT.joinpath(*parts)
    elif len(parts) == 1 and (FUNCTION_DIR / f"{name}.py").is_file():
        base = FUNCTION_DIR / name
    else:
        return None
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package_name(path: Path) -> str:
    """The dotted package a file belongs to, for resolving its relative imports."""
    if path.is_relative_to(PACKAGE_DIR):
        parts = ["oauth_exchange", *path.relative_to(PACKAGE_DIR).parent.parts]
    elif path.is_relative_to(FUNCTION_DIR):
        return ""
    else:
        parts = list(path.relative_to(ROOT).parent.parts)
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(path: Path) -> Iterable[str]:
    """Absolute module names a file imports when it runs (not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _package_name(path)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(child) for branch in node.body for child in ast.walk(branch))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def imports_of(*starts: Path) -> Imports:
    """Third-party modules that running these files (or every file in these folders) imports."""
    queue = [file for start in starts for file in (sorted(start.rglob("*.py")) if start.is_dir() else [start])]
    scripts = {file.stem: file for file in queue if file.stem != "__init__"}
    seen: set[Path] = set()
    third_party: set[str] = set()
    run_as_module: set[str] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        run_as_module.update(name.split(".")[0] for name in _RUN_AS_MODULE.findall(path.read_text()))
        for name in _imported_names(path):
            top = name.split(".")[0]
            if not top or top == "__future__" or top in sys.stdlib_module_names:
                continue
            if (found := _repo_module(name)) is not None:
                queue.append(found)
                continue
            if top in scripts:  # a script put a folder of its own on sys.path
                queue.append(scripts[top])
                continue
            if _repo_module(top) is None and top not in {"oauth_exchange", "local", "tests", "scripts", "bench"}:
                third_party.add(top)
    repo_modules = {path.stem for path in FUNCTION_DIR.glob("*.py")} | {"local", "oauth_exchange"}
    return Imports(frozenset(third_party), frozenset(run_as_module - repo_modules - set(sys.stdlib_module_names)))


@functools.cache
def _providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distribution_of(module: str) -> str:
    """The installed distribution that provides a top-level module, by its canonical name."""
    providers = _providers().get(module)
    if not providers:
        raise LookupError(f"no installed distribution provides the module {module!r}")
    return canonicalize_name(providers[0])


def declared(path: Path) -> dict[str, Requirement]:
    """The requirements a file names itself (not those of files it includes), by canonical name."""
    if path.name == "pyproject.toml":
        lines = tomllib.loads(path.read_text())["project"]["dependencies"]
    else:
        lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        lines = [line for line in lines if line and not line.startswith("-")]
    found = {}
    for line in lines:
        requirement = Requirement(line)
        found[canonicalize_name(requirement.name)] = requirement
    return found


def included(path: Path) -> list[Path]:
    """Requirement files this one takes in with ``-r``."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [ROOT / line.split(None, 1)[1] for line in lines if line.startswith("-r ")]


def all_declared(path: Path) -> dict[str, Requirement]:
    """Requirements of a file and of every file it includes, transitively."""
    found = {}
    for child in included(path):
        found |= all_declared(child)
    return found | declared(path)


def locked(path: Path) -> dict[str, str]:
    """Exact versions a ``uv pip compile`` lock pins, by canonical name (the first where markers differ)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line):
            pins.setdefault(canonicalize_name(match[1]), match[2])
    return pins


def requires_closure(names: Iterable[str]) -> set[str]:
    """These installed distributions and everything they require, as installed here."""
    todo, found = list(names), set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found
