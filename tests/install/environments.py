"""Virtual environments made from nothing, holding exactly what one README command installs.

uv makes each in seconds from its wheel cache; the cache holds files, not an
environment, so a requirement missing from the project's files is missing here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements-dev.lock"


def uv() -> str:
    """The uv of the test environment (requirements-dev.txt pins it)."""
    found = Path(sys.prefix) / "bin" / "uv"
    if not found.is_file():
        raise AssertionError(f"uv is not installed in {sys.prefix}: requirements-dev.txt names it, scripts/test installs it")
    return str(found)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would lead a child to the test environment."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "OAUTH_EXCHANGE_VENV", "PULUMI_CONFIG")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)} | {"UV_PYTHON_DOWNLOADS": "never", **extra}


def run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run(command, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def new_environment(where: Path) -> Path:
    """An empty virtual environment on the interpreter the tests run on; its python."""
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    run([uv(), "venv", "--quiet", "--python", base, str(where)])
    return where / "bin" / "python"


def install(python: Path, *requirements: str) -> None:
    """``uv pip install`` into that environment, at the versions the lock pins."""
    run([uv(), "pip", "install", "--quiet", "--python", str(python), *requirements, "-c", str(LOCK)])


def site_packages(python: Path) -> Path:
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(run([str(python), "-c", probe]).strip())


def copy_checkout(destination: Path) -> Path:
    """The files git tracks (and untracked ones it does not ignore), as a fresh clone has them: no .venv, .build or .cache."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination
