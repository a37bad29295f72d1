"""A CMS admin page on its own origin, as a site owner would host Decap, Sveltia or Static CMS: ``/admin/`` and its ``config.yml``.

The page and the config template are in ``local/cms_admin/``; the CMS itself
is its published bundle (``local.cms_bundles``), served under ``/bundle/``.
``config.yml`` is rendered per request with the local stack's function origin
(``base_url``) and, against the fake GitHub, its API (``api_root``, and
``graphql_api_root`` for Sveltia CMS, which reads through GraphQL).
``opener_policy`` sets a ``Cross-Origin-Opener-Policy`` on the admin page, to
show what that does to the sign-in popup.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from urllib.parse import unquote, urlsplit

from oauth_exchange.cms_endpoints import CMS_AUTH_ENDPOINT
from oauth_exchange.site_files import content_type
from local.cms_bundles import Bundle
from local.http_server import LoopbackServer, LoopbackService, QuietHandler, RequestLog

TEMPLATES = Path(__file__).resolve().parent / "cms_admin"
ADMIN_PATH = "/admin/"
BUNDLE_PREFIX = "/bundle/"


class _CmsServer(LoopbackServer):
    site: CmsAdminSite


class _Handler(QuietHandler):
    server: _CmsServer

    def do_GET(self) -> None:
        site = self.server.site
        path = unquote(urlsplit(self.path).path)
        if path == "/admin":
            self._reply(301, b"", "text/plain", [("Location", ADMIN_PATH)])
        elif path == ADMIN_PATH:
            headers = [("Cross-Origin-Opener-Policy", site.opener_policy)] if site.opener_policy else []
            self._reply(200, site.index_html().encode(), "text/html; charset=utf-8", headers)
        elif path == ADMIN_PATH + "config.yml":
            self._reply(200, site.config_yml().encode(), "text/yaml; charset=utf-8")
        elif path.startswith(BUNDLE_PREFIX) and (file := site.bundle_file(path[len(BUNDLE_PREFIX) :])) is not None:
            self._reply(200, file.read_bytes(), content_type(file), [("Cache-Control", "max-age=3600")])
        else:
            self._reply(404, b"Not Found\n", "text/plain; charset=utf-8")

    do_HEAD = do_GET

    def _reply(self, status: int, body: bytes, media_type: str, extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", media_type), ("X-Content-Type-Options", "nosniff"), *(extra or [])]
        if not any(name == "Cache-Control" for name, _ in headers):
            headers.append(("Cache-Control", "no-store"))
        self.send_body(status, headers, body)


class CmsAdminSite(LoopbackService):
    """Binds on construction (``origin`` is known at once); serves after ``serve()``."""

    def __init__(self, bundle: Bundle, port: int = 0, log: RequestLog | None = None) -> None:
        """``bundle`` installed (``cms_bundles.ensure_installed``)."""
        self.bundle = bundle
        self.bundle_dir = bundle.dist_dir()
        self._server = _CmsServer(_Handler, port, log=log, log_name="cms")
        self._server.site = self
        self.values: dict[str, str] = {}
        self.opener_policy: str | None = None

    @property
    def admin_url(self) -> str:
        return self.origin + ADMIN_PATH

    def serve(self, *, base_url: str, api_root: str, repo: str, graphql_api_root: str | None = None) -> None:
        graphql = "" if graphql_api_root is None else f"  graphql_api_root: {graphql_api_root}\n"
        self.values = {
            "base_url": base_url,
            "auth_endpoint": CMS_AUTH_ENDPOINT,
            "api_root": api_root,
            "graphql_api_root": graphql,
            "repo": repo,
        }
        self._server.start("cms-admin")

    def config_yml(self) -> str:
        return Template((TEMPLATES / "config.yml").read_text(encoding="utf-8")).substitute(self.values)

    def index_html(self) -> str:
        bundle = self.bundle
        head = "" if bundle.stylesheet is None else f'  <link rel="stylesheet" href="{BUNDLE_PREFIX}{bundle.stylesheet}">\n'
        scripts = [f'  <script src="{BUNDLE_PREFIX}{bundle.entry}"></script>']
        if bundle.init is not None:
            scripts.append(f"  <script>{bundle.init}</script>")
        page = Template((TEMPLATES / "index.html").read_text(encoding="utf-8"))
        return page.substitute(head=head, label=bundle.label, scripts="\n".join(scripts))

    def bundle_file(self, name: str) -> Path | None:
        """A file of the bundle's ``dist/`` (its chunk folders too), nothing hidden and nothing outside it."""
        parts = name.split("/")
        if not name or "\\" in name or any(not part or part.startswith(".") for part in parts):
            return None
        candidate = self.bundle_dir.joinpath(*parts)
        return candidate if candidate.is_file() else None
