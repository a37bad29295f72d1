"""The exchange function's deployment zip: sources plus dependencies, built reproducibly.

Plain Python with no Pulumi import, so tests and the benchmark can build the
same archive the stack deploys. The zip is a pure function of its inputs
(fixed timestamps, modes and order, no caches), and it is cached by a hash of
those inputs: an unchanged ``function/`` gives the same file, byte for byte,
without running pip again, so ``pulumi up`` sees no code change. The installed
dependencies are cached too, by a hash of ``requirements.txt`` alone, so a
change to the function's own code builds without reaching PyPI.

``with_files`` adds files computed by the program (the function's
configuration) to a built archive, just as reproducibly: the same base and
the same files give the same bytes, cached under a hash of both.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PYTHON_VERSION = "3.14"
"""The Lambda runtime's Python; the program deploys ``python<PYTHON_VERSION>``."""

PLATFORMS = (
    "manylinux2014_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_34_aarch64",
)
"""Wheel tags the arm64 Lambda runtime (Amazon Linux 2023, glibc 2.34) can load.

pip does not expand a manylinux tag to the older ones it implies, so each is named.
"""

FORMAT_VERSION = "1"
"""Part of the cache key: bump it when the way the zip is laid out changes."""

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16
_SKIPPED_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class PackagingError(RuntimeError):
    """The archive could not be built; the message says what to fix."""


@dataclass(frozen=True)
class Archive:
    """A built deployment zip and its base64 SHA-256, as Lambda reports ``CodeSha256``."""

    path: Path
    sha256: str


def _is_source(relative: Path) -> bool:
    """Code the handler runs: not caches, hidden files, tests or the requirements list."""
    parts = relative.parts
    if any(part.startswith(".") or part in ("__pycache__", "tests") for part in parts):
        return False
    name = parts[-1]
    return not (
        name.endswith((".pyc", ".pyo"))
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("requirements.txt", "conftest.py")
    )


def _is_dependency(relative: Path) -> bool:
    """Installed library files: not caches, console scripts or pip's install bookkeeping."""
    parts = relative.parts
    if parts[0] == "bin" or "__pycache__" in parts or parts[-1].endswith((".pyc", ".pyo")):
        return False
    in_dist_info = len(parts) > 1 and parts[-2].endswith(".dist-info")
    return not (in_dist_info and parts[-1] in _SKIPPED_DIST_INFO)


def _files(root: Path, wanted: Callable[[Path], bool]) -> list[tuple[str, Path]]:
    """``(zip name, path)`` for every wanted file under ``root``, in sorted order."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and wanted(relative):
            found.append((relative.as_posix(), path))
    return found


def source_files(function_dir: Path) -> list[tuple[str, Path]]:
    """The function's own files that go into the archive."""
    return _files(function_dir, _is_source) if function_dir.is_dir() else []


def _dependency_inputs(function_dir: Path) -> bytes:
    """The runtime the wheels are for and ``requirements.txt``: all that pip's result depends on."""
    inputs = f"format={FORMAT_VERSION}\npython={PYTHON_VERSION}\nplatforms={','.join(PLATFORMS)}\n".encode()
    requirements = function_dir / "requirements.txt"
    if requirements.is_file():
        inputs += b"requirements\0" + requirements.read_bytes() + b"\0"
    return inputs


def dependencies_key(function_dir: Path) -> str:
    """A hash of what the installed dependencies are made from."""
    return hashlib.sha256(_dependency_inputs(function_dir)).hexdigest()


def cache_key(function_dir: Path) -> str:
    """A hash of everything the archive is made from."""
    digest = hashlib.sha256(_dependency_inputs(function_dir))
    for name, path in source_files(function_dir):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def sha256_base64(path: Path) -> str:
    """What Lambda reports as ``CodeSha256`` and Pulumi compares as ``source_code_hash``."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


_UNREACHABLE = re.compile(
    r"NewConnectionError|ConnectTimeoutError|ReadTimeoutError|ProxyError|SSLError|Network is unreachable"
    r"|Temporary failure in name resolution|Name or service not known|nodename nor servname|Connection refused"
)
"""What pip says when it cannot reach the package index (as opposed to a requirement it cannot satisfy)."""


class IndexUnreachable(PackagingError):
    """pip could not reach the package index."""


def _pip_install(requirements: Path, target: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "install",
        "--target", str(target),
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
        "--python-version", PYTHON_VERSION,
        "--implementation", "cp",
        "--only-binary=:all:",
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--quiet",
        "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        details = (result.stderr or result.stdout).strip()[-4000:]
        if _UNREACHABLE.search(details):
            last = details.splitlines()[-1] if details else ""
            raise IndexUnreachable(f"pip could not reach the package index to install {requirements} ({last})")
        raise PackagingError(
            f"pip could not install {requirements} for Lambda (Python {PYTHON_VERSION}, arm64, binary wheels only); "
            f"check the network and that every requirement has such a wheel.\n{details}"
        )


def _write_zip(destination: Path, entries: Iterable[tuple[str, Callable[[], bytes]]]) -> None:
    """Entries sorted by name, each with the fixed time and mode; contents read one at a time."""
    with zipfile.ZipFile(destination, "w") as archive:
        for name, content in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = _FILE_MODE
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content(), compresslevel=9)


def with_files(base: Archive, files: Mapping[str, bytes]) -> Archive:
    """``base`` plus ``files`` (zip name to content), next to it in its build folder; cached by both."""
    digest = hashlib.sha256(f"format={FORMAT_VERSION}\nbase={base.sha256}\n".encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    destination = base.path.parent / f"function-{digest.hexdigest()[:32]}.zip"
    if destination.is_file():
        return Archive(destination, sha256_base64(destination))
    with zipfile.ZipFile(base.path) as source:
        clashes = sorted(set(files) & set(source.namelist()))
        if clashes:
            raise PackagingError(f"the archive already has {', '.join(clashes)}")
        entries = [(name, _reader(source, name)) for name in source.namelist()]
        entries += [(name, _constant(content)) for name, content in files.items()]
        with tempfile.TemporaryDirectory(dir=base.path.parent, prefix="adding-") as scratch:
            partial = Path(scratch) / "function.zip"
            _write_zip(partial, entries)
            os.replace(partial, destination)
    return Archive(destination, sha256_base64(destination))


def _reader(source: zipfile.ZipFile, name: str) -> Callable[[], bytes]:
    return lambda: source.read(name)


def _constant(content: bytes) -> Callable[[], bytes]:
    return lambda: content


def build_archive(function_dir: Path, build_dir: Path) -> Archive:
    """The deployment zip for ``function_dir``, from ``build_dir``'s cache when its inputs are unchanged."""
    function_dir = function_dir.resolve()
    sources = source_files(function_dir)
    if not sources:
        raise PackagingError(f"{function_dir} has no source files to package")
    build_dir.mkdir(parents=True, exist_ok=True)
    destination = build_dir / f"function-{cache_key(function_dir)[:32]}.zip"
    if destination.is_file():
        return Archive(destination, sha256_base64(destination))

    with tempfile.TemporaryDirectory(dir=build_dir, prefix="building-") as scratch:
        scratch_dir = Path(scratch)
        requirements = function_dir / "requirements.txt"
        dependencies: list[tuple[str, Path]] = []
        if requirements.is_file():
            installed = build_dir / f"dependencies-{dependencies_key(function_dir)[:32]}"
            if not installed.is_dir():
                try:
                    _pip_install(requirements, scratch_dir / "dependencies")
                except IndexUnreachable as error:
                    raise IndexUnreachable(
                        f"{error}. No earlier build of these inputs is cached in {build_dir} "
                        f"(neither {destination.name} nor {installed.name}/). Connect to PyPI, or point pip at a "
                        "mirror you can reach (PIP_INDEX_URL), and run again; or copy that file or folder from "
                        "the .build/ of a machine that built the same function/."
                    ) from None
                try:
                    os.replace(scratch_dir / "dependencies", installed)
                except OSError:
                    if not installed.is_dir():  # another build put the same dependencies there first
                        raise
            dependencies = _files(installed, _is_dependency)
        clashes = sorted({name for name, _ in sources} & {name for name, _ in dependencies})
        if clashes:
            raise PackagingError(f"function/ files clash with installed packages: {', '.join(clashes)}")
        partial = scratch_dir / "function.zip"
        _write_zip(partial, [(name, path.read_bytes) for name, path in sources + dependencies])
        os.replace(partial, destination)
    return Archive(destination, sha256_base64(destination))

