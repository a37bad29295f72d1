"""Where the function's sources and the demo SPA are: inside the installed package, or in this checkout.

An installed ``oauth_exchange`` carries ``function/`` and ``site/`` as package
data (``oauth_exchange/function``, ``oauth_exchange/site``); run from a checkout
(``infra/oauth_exchange``), they are the repository's own top-level folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str, marker: str) -> Path:
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent.parent / name):
        if (candidate / marker).is_file():
            return candidate
    raise FileNotFoundError(
        f"oauth_exchange has no {name}/{marker}: reinstall the package, which ships {name}/ as package data"
    )


def function_dir() -> Path:
    """The exchange function's sources (``handler.py`` and its core, ``requirements.txt``)."""
    return _bundled("function", "handler.py")


def demo_site_dir() -> Path:
    """The demo SPA (``index.html``, ``app.js``, ``oauth.js``), published unless a stack names its own ``siteDir``."""
    return _bundled("site", "index.html")
