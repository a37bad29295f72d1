"""Decap CMS's own bundle, from the npm registry, for the local CMS admin page and its browser tests.

``npm pack`` fetches the published ``decap-cms`` tarball (npm checks it against
the registry's integrity data); it is checked again against the pinned
``INTEGRITY`` and only its ``dist/`` (the prebuilt browser bundle and its
chunks, without source maps) is unpacked into ``.cache/``, which git ignores. Nothing is vendored:
a fresh clone installs it on first use, later runs find it in place.

``python3 -m local.decap_cms`` installs it (the test and run scripts do).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "decap-cms"
VERSION = "3.16.3"
INTEGRITY = "sha512-hf+dPlCh7TJmWl8+6VRzHYOWhri5xgUknrZbDewaWe4s9B7xJ8PQugp2QHeSldMUKzav6+z0oIpwUYhUJDYtYw=="
"""``npm view decap-cms@<VERSION> dist.integrity``."""
CACHE = Path(__file__).resolve().parent.parent / ".cache" / PACKAGE / VERSION
BUNDLE = "decap-cms.js"
NPM_TIMEOUT_SECONDS = 300


class InstallError(RuntimeError):
    """Decap CMS could not be installed; the message says what to do."""


def dist_dir() -> Path:
    """Where the bundle is (after ``ensure_installed``)."""
    return CACHE / "dist"


def installed() -> bool:
    return (dist_dir() / BUNDLE).is_file()


def ensure_installed(log=print) -> Path:
    """The ``dist/`` directory, installing Decap CMS first if this machine has not yet."""
    if installed():
        return dist_dir()
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm is needed to install Decap CMS from the npm registry (apt-get install npm)")
    log(f"Installing {PACKAGE}@{VERSION} from the npm registry into {CACHE} ...")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE.parent) as work:
        try:
            done = subprocess.run(
                [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", work],
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InstallError(f"npm pack {PACKAGE}@{VERSION} took longer than {NPM_TIMEOUT_SECONDS} s") from None
        if done.returncode != 0:
            raise InstallError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()[-500:]}")
        tarball = Path(work) / done.stdout.strip().splitlines()[-1]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise InstallError(f"{tarball.name} does not match the pinned integrity {INTEGRITY}")
        unpacked = Path(work) / "unpacked"
        with tarfile.open(tarball) as archive:
            members = [
                m
                for m in archive.getmembers()
                if m.name.startswith("package/dist/") and m.isfile() and not m.name.endswith(".map")
            ]
            archive.extractall(unpacked, members=members, filter="data")
        target = Path(work) / "installed"
        (unpacked / "package").rename(target)
        if CACHE.exists():
            shutil.rmtree(CACHE)
        target.rename(CACHE)
    if not installed():
        raise InstallError(f"the {PACKAGE} package has no dist/{BUNDLE}")
    return dist_dir()


if __name__ == "__main__":
    try:
        ensure_installed()
    except InstallError as error:
        print(f"Could not install Decap CMS: {error}", file=sys.stderr)
        sys.exit(1)
