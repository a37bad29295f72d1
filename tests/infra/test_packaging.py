"""The deployment zip: what it holds, that it is reproducible, and that unchanged input is not rebuilt."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from oauth_exchange import packaging
from oauth_exchange.packaging import Archive, PackagingError, build_archive, sha256_base64

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"


@pytest.fixture(scope="session")
def function_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real function/, so edits made while the suite runs cannot change it between builds."""
    snapshot = tmp_path_factory.mktemp("snapshot") / "function"
    shutil.copytree(FUNCTION_DIR, snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    return snapshot


@pytest.fixture(scope="session")
def archives(function_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, Archive]:
    """function/ built twice, each time from nothing (separate build folders, pip run twice)."""
    return (
        build_archive(function_snapshot, tmp_path_factory.mktemp("build-a")),
        build_archive(function_snapshot, tmp_path_factory.mktemp("build-b")),
    )


def _names(archive: Archive) -> list[str]:
    return zipfile.ZipFile(archive.path).namelist()


def test_archive_holds_the_handler_and_httpcore_at_its_root(
    archives: tuple[Archive, Archive], function_snapshot: Path
) -> None:
    names = _names(archives[0])
    assert "handler.py" in names
    assert "httpcore/__init__.py" in names
    sources = {p.name for p in function_snapshot.glob("*.py") if not p.name.startswith("test_")}
    assert sources <= set(names)


def test_archive_holds_no_caches_scripts_or_install_records(archives: tuple[Archive, Archive]) -> None:
    names = _names(archives[0])
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("bin/") or n.endswith((".dist-info/RECORD", ".dist-info/INSTALLER"))]
    assert "requirements.txt" not in names


def test_entries_are_sorted_with_fixed_time_and_mode(archives: tuple[Archive, Archive]) -> None:
    infos = zipfile.ZipFile(archives[0].path).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_building_twice_from_scratch_gives_identical_bytes(archives: tuple[Archive, Archive]) -> None:
    first, second = archives
    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 == sha256_base64(first.path)


def test_dependencies_import_from_the_archive_alone(archives: tuple[Archive, Archive], tmp_path: Path) -> None:
    zipfile.ZipFile(archives[0].path).extractall(tmp_path)
    probe = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import httpcore, h11, certifi; "
        "print(httpcore.__file__, h11.__file__, certifi.where())"
    )
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True)
    assert all(path.startswith(str(tmp_path)) for path in result.stdout.split())


def _function_copy(tmp_path: Path) -> Path:
    """A small function/ without requirements, so these tests need no pip."""
    function = tmp_path / "function"
    function.mkdir()
    (function / "handler.py").write_text("def handler(event, context):\n    return {'statusCode': 204}\n")
    (function / "helpers.py").write_text("VALUE = 1\n")
    return function


def test_unchanged_input_is_served_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("httpx\n")
    build = tmp_path / "build"
    build.mkdir()
    cached = build / f"function-{packaging.cache_key(function)[:32]}.zip"
    cached.write_bytes(b"previously built")

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although the input did not change")

    monkeypatch.setattr(packaging.subprocess, "run", no_pip)
    archive = build_archive(function, build)
    assert archive.path == cached
    assert archive.sha256 == sha256_base64(cached)


def test_a_cache_hit_returns_the_same_file_unchanged(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    first = build_archive(function, tmp_path / "build")
    before = first.path.stat().st_mtime_ns, first.path.read_bytes()
    second = build_archive(function, tmp_path / "build")
    assert second == first
    assert (second.path.stat().st_mtime_ns, second.path.read_bytes()) == before


def test_a_changed_source_file_gives_a_new_archive(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    first = build_archive(function, tmp_path / "build")
    (function / "helpers.py").write_text("VALUE = 2\n")
    second = build_archive(function, tmp_path / "build")
    assert second.path != first.path
    assert second.sha256 != first.sha256


def test_changed_requirements_change_the_cache_key(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("httpx>=0.27\n")
    before = packaging.cache_key(function)
    (function / "requirements.txt").write_text("httpx>=0.28\n")
    assert packaging.cache_key(function) != before


def test_caches_tests_and_hidden_files_are_left_out(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    (function / "__pycache__").mkdir()
    (function / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (function / "helpers.pyc").write_bytes(b"\0")
    (function / "tests").mkdir()
    (function / "tests" / "test_handler.py").write_text("")
    (function / "test_helpers.py").write_text("")
    (function / ".env").write_text("SECRET=1\n")
    (function / "pkg").mkdir()
    (function / "pkg" / "__init__.py").write_text("")
    assert _names(build_archive(function, tmp_path / "build")) == ["handler.py", "helpers.py", "pkg/__init__.py"]


def test_pip_failure_stops_the_build_with_pips_reason(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("this is not a requirement ===\n")
    with pytest.raises(PackagingError, match=r"pip could not install .*requirements\.txt") as raised:
        build_archive(function, tmp_path / "build")
    assert "requirement" in str(raised.value).lower()
    assert not list((tmp_path / "build").glob("*.zip"))


def test_an_empty_function_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "function").mkdir()
    with pytest.raises(PackagingError, match="no source files"):
        build_archive(tmp_path / "function", tmp_path / "build")


def test_sources_clashing_with_a_dependency_are_refused(tmp_path: Path) -> None:
    function = _function_copy(tmp_path)
    shutil.copytree(FUNCTION_DIR, function, dirs_exist_ok=True)
    (function / "httpcore").mkdir()
    (function / "httpcore" / "__init__.py").write_text("")
    with pytest.raises(PackagingError, match="httpcore/__init__.py"):
        build_archive(function, tmp_path / "build")


def _unreachable_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point pip at a loopback port nothing listens on, with one retry: the package index is unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{port}/simple")
    monkeypatch.setenv("PIP_RETRIES", "1")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)


def test_without_the_index_or_a_cached_build_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("httpx==0.28.1\n")
    _unreachable_index(monkeypatch)
    with pytest.raises(PackagingError) as raised:
        build_archive(function, tmp_path / "build")
    message = str(raised.value)
    assert "could not reach the package index" in message
    assert f"function-{packaging.cache_key(function)[:32]}.zip" in message
    assert f"dependencies-{packaging.dependencies_key(function)[:32]}/" in message
    assert "PIP_INDEX_URL" in message and "run again" in message
    assert not list((tmp_path / "build").glob("*.zip"))


def test_without_the_index_a_cached_build_of_the_same_inputs_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("httpx==0.28.1\n")
    build = tmp_path / "build"
    build.mkdir()
    cached = build / f"function-{packaging.cache_key(function)[:32]}.zip"
    cached.write_bytes(b"built on a machine that could reach PyPI")
    _unreachable_index(monkeypatch)
    assert build_archive(function, build).path == cached


def _fake_pip(installs: list[Path]) -> Callable[[Path, Path], None]:
    def install(requirements: Path, target: Path) -> None:
        installs.append(requirements)
        (target / "tinydep").mkdir(parents=True)
        (target / "tinydep" / "__init__.py").write_text("VERSION = '1.0'\n")

    return install


def test_a_source_change_reuses_the_cached_dependencies_without_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("tinydep==1.0\n")
    installs: list[Path] = []
    monkeypatch.setattr(packaging, "_pip_install", _fake_pip(installs))
    first = build_archive(function, tmp_path / "build")
    (function / "helpers.py").write_text("VALUE = 2\n")
    second = build_archive(function, tmp_path / "build")
    assert len(installs) == 1
    assert second.path != first.path
    assert "tinydep/__init__.py" in _names(second)
    assert zipfile.ZipFile(second.path).read("helpers.py") == b"VALUE = 2\n"


def test_changed_requirements_install_the_dependencies_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    function = _function_copy(tmp_path)
    (function / "requirements.txt").write_text("tinydep==1.0\n")
    installs: list[Path] = []
    monkeypatch.setattr(packaging, "_pip_install", _fake_pip(installs))
    build_archive(function, tmp_path / "build")
    (function / "requirements.txt").write_text("tinydep==1.1\n")
    build_archive(function, tmp_path / "build")
    assert len(installs) == 2
