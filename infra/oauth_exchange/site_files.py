"""The SPA's files as the site serves them: which are uploaded, with what type and caching.

Plain Python, so the Pulumi program and the local stack serve ``site/`` alike.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

GENERATED_FILES = frozenset({"config.js"})
"""Written by ``publish`` from settings; a local copy under ``site/`` is never uploaded."""
PACKAGE_FILES = frozenset({"oauth.d.ts", "package.json"})
"""The client's npm package metadata next to ``oauth.js``: for TypeScript and bundlers, never served by the site."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


def content_type(path: Path) -> str:
    """The ``Content-Type`` a file is served with (browsers refuse modules served as anything but JavaScript)."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def cache_control(key: str) -> str:
    """``config.js`` is never stored; everything else is revalidated, so a deploy shows at once."""
    return "no-store" if key in GENERATED_FILES else "no-cache"


def is_published(key: str) -> bool:
    """Whether the site serves the file at ``key`` (a path relative to the site folder, ``/``-separated).

    Not hidden files, not the generated ones (served from settings instead),
    not the npm package's own files: the deployed bucket and the local site
    alike serve only what the SPA loads.
    """
    parts = key.split("/")
    return not any(part.startswith(".") for part in parts) and key not in GENERATED_FILES | PACKAGE_FILES


def site_files(site_dir: Path) -> list[tuple[str, Path]]:
    """``(object key, path)`` for every file to upload (see ``is_published``)."""
    files = []
    for path in sorted(site_dir.rglob("*")):
        key = path.relative_to(site_dir).as_posix()
        if path.is_file() and is_published(key):
            files.append((key, path))
    if not any(key == "index.html" for key, _ in files):
        raise FileNotFoundError(f"{site_dir / 'index.html'} is missing: the site serves it for / and client-side routes")
    return files
