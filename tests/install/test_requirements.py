"""Each requirement file names exactly what its entry point imports, and the lock is what they compile to.

A requirement that reaches an environment only through another package (PyYAML
through moto's server extra, botocore through boto3) would make a missing line
invisible to a run: these tests read the source instead, so removing any one
line from any file fails here by name.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.install.environments import LOCK, ROOT, run, uv
from tests.install.imports import (
    FUNCTION_DIR,
    PACKAGE_DIR,
    Imports,
    all_declared,
    declared,
    distribution_of,
    imports_of,
    included,
    locked,
    requires_closure,
)

LAMBDA_RUNTIME = frozenset({"boto3", "botocore"})
"""What Lambda's Python runtime brings, so the function's zip does not ship it."""

SDK_THROUGH_BOTO3 = {"botocore": "boto3"}
"""boto3 pins the botocore it runs on: an environment that declares boto3 has that botocore."""


@dataclass(frozen=True)
class EntryPoint:
    name: str
    requirements: Path
    runs: tuple[Path, ...]
    programs: frozenset[str] = field(default_factory=frozenset)
    """Distributions used as programs rather than imported (named here with where they run)."""

    def imports(self) -> Imports:
        return imports_of(*self.runs)


ENTRY_POINTS = [
    EntryPoint("the function (its zip)", FUNCTION_DIR / "requirements.txt", (FUNCTION_DIR,)),
    EntryPoint("scripts/run-local", ROOT / "requirements-local.txt", (ROOT / "local",)),
    EntryPoint("scripts/smoke", ROOT / "scripts" / "requirements-smoke.txt", (ROOT / "scripts" / "deployment_check.py",)),
    EntryPoint("the Pulumi program", ROOT / "requirements.txt", (ROOT / "__main__.py", PACKAGE_DIR)),
    EntryPoint("the component package", ROOT / "pyproject.toml", (PACKAGE_DIR,)),
    EntryPoint(
        "the tests and benchmarks",
        ROOT / "requirements-dev.txt",
        (ROOT / "tests", ROOT / "bench"),
        programs=frozenset({"uv"}),  # tests/install/environments.py builds each command's environment with it
    ),
]
IDS = [entry.name for entry in ENTRY_POINTS]
def _provided(entry: EntryPoint) -> set[str]:
    names = set(all_declared(entry.requirements)) if entry.requirements.suffix == ".txt" else set(declared(entry.requirements))
    if entry.requirements == FUNCTION_DIR / "requirements.txt":
        names |= LAMBDA_RUNTIME
    names |= {sdk for sdk, through in SDK_THROUGH_BOTO3.items() if through in names}
    return names


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=IDS)
def test_every_third_party_import_is_declared_by_its_entry_point(entry: EntryPoint) -> None:
    provided = _provided(entry)
    missing = {
        module: distribution_of(module) for module in entry.imports().modules if distribution_of(module) not in provided
    }
    assert not missing, f"{entry.name} imports {missing} but {entry.requirements.relative_to(ROOT)} does not name them"


@pytest.mark.parametrize("entry", [e for e in ENTRY_POINTS if e.requirements.parent != FUNCTION_DIR], ids=lambda e: e.name)
def test_every_requirement_a_file_names_is_imported_or_run_by_its_entry_point(entry: EntryPoint) -> None:
    found = entry.imports()
    used = {distribution_of(module) for module in found.modules}
    used |= {canonicalize_name(name) for name in found.run_as_module} | entry.programs
    unused = set(declared(entry.requirements)) - used
    assert not unused, f"{entry.requirements.relative_to(ROOT)} names {sorted(unused)}, which {entry.name} never uses"


def test_the_function_pins_exactly_what_its_imports_need_beyond_the_runtime() -> None:
    requirements = declared(FUNCTION_DIR / "requirements.txt")
    imported = {distribution_of(module) for module in imports_of(FUNCTION_DIR).modules} - LAMBDA_RUNTIME
    assert set(requirements) == requires_closure(imported) - LAMBDA_RUNTIME
    loose = [str(r) for r in requirements.values() if [s.operator for s in r.specifier] != ["=="]]
    assert not loose, f"the function's pins must be exact for a byte-identical zip: {loose}"


def test_the_program_and_the_package_require_the_same_releases() -> None:
    program = {name: str(r.specifier) for name, r in declared(ROOT / "requirements.txt").items()}
    package = {name: str(r.specifier) for name, r in declared(ROOT / "pyproject.toml").items()}
    assert program == package


def test_the_dev_requirements_take_in_every_entry_points_file() -> None:
    dev = ROOT / "requirements-dev.txt"
    reached = {dev, *included(dev)}
    reached |= {child for path in list(reached) for child in included(path)}
    wanted = {entry.requirements for entry in ENTRY_POINTS if entry.requirements.suffix == ".txt"}
    assert wanted <= reached


def test_the_lock_pins_every_requirement_within_its_range() -> None:
    pins = locked(LOCK)
    for name, requirement in all_declared(ROOT / "requirements-dev.txt").items():
        assert name in pins, f"{name} is not in {LOCK.name}: run scripts/lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {requirement}"
    for name, requirement in declared(ROOT / "pyproject.toml").items():
        assert requirement.specifier.contains(pins[name], prereleases=True)


def test_the_lock_is_what_scripts_lock_compiles(tmp_path: Path) -> None:
    """Compiled again with the committed pins preferred: a new release on PyPI changes nothing, a changed file does."""
    output = tmp_path / LOCK.name
    shutil.copy(LOCK, output)
    command = [
        uv(), "pip", "compile", "--quiet", "--universal", "--python-version", "3.11", "--generate-hashes",
        "--custom-compile-command", "scripts/lock", "requirements-dev.txt", "-o", str(output),
    ]
    run(command, cwd=ROOT, timeout=120)
    assert output.read_text() == LOCK.read_text(), "requirements-dev.lock is stale: run scripts/lock and commit it"
