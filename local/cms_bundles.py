"""The CMSs' own published bundles, from the npm registry, for the local CMS admin page and its browser tests.

``npm pack`` fetches the pinned tarball (npm checks it against the registry's
integrity data); it is checked again against the pinned ``integrity`` and
only its ``dist/`` (the prebuilt browser bundle and its chunks, without
source maps) is unpacked into ``.cache/<package>/<version>/``, which git
ignores. Nothing is vendored: a fresh clone installs each on first use, later
runs find it in place.

``python3 -m local.cms_bundles [decap|sveltia|static ...]`` installs them (all without arguments).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CACHE_ROOT = Path(__file__).resolve().parent.parent / ".cache"
NPM_TIMEOUT_SECONDS = 300


class InstallError(RuntimeError):
    """A CMS could not be installed; the message says what to do."""


@dataclass(frozen=True)
class Bundle:
    """A CMS as its npm package publishes it for a plain ``<script>`` tag."""

    label: str
    package: str
    version: str
    integrity: str
    """``npm view <package>@<version> dist.integrity``."""
    entry: str
    """The script the admin page loads, relative to ``dist/``."""
    stylesheet: str | None = None
    """A stylesheet the admin page links, relative to ``dist/``."""
    init: str | None = None
    """A script the page runs after ``entry``, for a CMS that does not start by itself."""

    @property
    def cache(self) -> Path:
        return CACHE_ROOT / self.package / self.version

    def dist_dir(self) -> Path:
        return self.cache / "dist"

    def installed(self) -> bool:
        return (self.dist_dir() / self.entry).is_file()


BUNDLES = {
    "decap": Bundle(
        "Decap CMS",
        "decap-cms",
        "3.16.3",
        "sha512-hf+dPlCh7TJmWl8+6VRzHYOWhri5xgUknrZbDewaWe4s9B7xJ8PQugp2QHeSldMUKzav6+z0oIpwUYhUJDYtYw==",
        "decap-cms.js",
    ),
    "sveltia": Bundle(
        "Sveltia CMS",
        "@sveltia/cms",
        "0.221.1",
        "sha512-J+Qoik9kGMk2L7vNpOQrnDmFRi+NB6vwJ0f657YtsxWH0P8WYSYRRSRC2pQ/jGGbVlM//Pg/WIgmkpswqoo3gQ==",
        "sveltia-cms.js",
    ),
    "static": Bundle(
        "Static CMS",
        "@staticcms/app",
        "4.3.0",
        "sha512-qYzl/IjnTdlLLaiRyiVKU0MfdQIoVFDD8QFbKwudHluq1Gf2drzXHI1NcbIZtFtqtCXw91OKbdY7KSjeSP6j6Q==",
        "static-cms-app.js",
        stylesheet="main.css",
        init="window.CMS.init();",
    ),
}
"""By ``run-local --cms`` name."""


def ensure_installed(bundle: Bundle, log: Callable[[str], None] = print) -> Path:
    """The bundle's ``dist/`` directory, installing it first if this machine has not yet."""
    if bundle.installed():
        return bundle.dist_dir()
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(f"npm is needed to install {bundle.label} from the npm registry (apt-get install npm)")
    spec = f"{bundle.package}@{bundle.version}"
    log(f"Installing {spec} from the npm registry into {bundle.cache} ...")
    bundle.cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=bundle.cache.parent) as work:
        try:
            done = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", work],
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InstallError(f"npm pack {spec} took longer than {NPM_TIMEOUT_SECONDS} s") from None
        if done.returncode != 0:
            raise InstallError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
        tarball = Path(work) / done.stdout.strip().splitlines()[-1]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != bundle.integrity:
            raise InstallError(f"{tarball.name} does not match the pinned integrity {bundle.integrity}")
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
        if bundle.cache.exists():
            shutil.rmtree(bundle.cache)
        target.rename(bundle.cache)
    if not bundle.installed():
        raise InstallError(f"the {bundle.package} package has no dist/{bundle.entry}")
    return bundle.dist_dir()


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BUNDLES]
    if unknown:
        print(f"Unknown CMS {unknown[0]!r}; one of {', '.join(BUNDLES)}", file=sys.stderr)
        return 2
    for name in names or list(BUNDLES):
        try:
            ensure_installed(BUNDLES[name])
        except InstallError as error:
            print(f"Could not install {BUNDLES[name].label}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
