"""The SPA served as CloudFront serves it: same generated files, same headers, same fallback.

``config.js`` and the connect policy in ``index.html`` come from the settings
module, exactly as the Pulumi program builds them, and are generated per
request (nothing is written into ``site/``). Every response carries the
site's security headers, so the SPA runs locally under the deployed CSP.
Unknown paths answer ``index.html``, like the distribution's error mapping.
Only here, ``/__metrics`` shows the function's metrics counted from its
request lines (``local.metrics_counters``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from oauth_exchange.site_files import CONTENT_TYPES, cache_control, content_type, is_published
from oauth_exchange.session_contract import API_PATH
from oauth_exchange.settings import Settings
from oauth_exchange.site_headers import site_security_headers
from oauth_exchange.spa_config import config_js, render_index_html
from local import metrics_counters
from local.edge_proxy import EdgeProxy
from local.http_server import LoopbackServer, LoopbackService, QuietHandler, RequestLog
from local.metrics_counters import MetricsCounters

class _SiteServer(LoopbackServer):
    site: StaticSite


class _Handler(QuietHandler):
    server: _SiteServer

    def do_GET(self) -> None:
        if self._proxied():
            return
        site = self.server.site
        path = unquote(urlsplit(self.path).path)
        if path == metrics_counters.PATH and site.metrics is not None:
            self._reply(200, site.metrics.render().encode(), CONTENT_TYPES[".txt"], "no-store")
            return
        if path == "/config.js":
            self._reply(200, config_js(site.settings, site.function_url).encode(), CONTENT_TYPES[".js"], cache_control("config.js"))
            return
        file = site.file_for(path)
        if file is None or file == site.root / "index.html":
            self._reply(200, site.index_html().encode(), CONTENT_TYPES[".html"], cache_control("index.html"))
            return
        self._reply(200, file.read_bytes(), content_type(file), cache_control(file.name))

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        if self._proxied():
            return
        self._reply(405, b"Method Not Allowed\n", CONTENT_TYPES[".txt"], "no-store", [("Allow", "GET, HEAD")])

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _not_allowed

    def _proxied(self) -> bool:
        """Session mode: ``/api/*`` goes to the function URL, as the distribution's behaviour sends it."""
        api = self.server.site.api
        if api is None or not self.path.startswith(API_PATH + "/"):
            return False
        length = self.headers.get("Content-Length", "0")
        body = self.rfile.read(int(length)) if length.isdigit() else b""
        answer = api.forward(self.command, self.path, dict(self.headers.items()), body, "http")
        site = self.server.site
        security = site_security_headers(site.settings, site.function_origin)
        headers = [(n, v) for n, v in answer.headers if n.lower() not in {h.lower() for h in security}]
        self.send_body(answer.status, headers + list(security.items()), answer.body)
        return True

    def _reply(
        self, status: int, body: bytes, media_type: str, cache: str, extra: list[tuple[str, str]] | None = None
    ) -> None:
        site = self.server.site
        headers = [("Content-Type", media_type), ("Cache-Control", cache), *(extra or [])]
        headers.extend(site_security_headers(site.settings, site.function_origin).items())
        self.send_body(status, headers, body)


class StaticSite(LoopbackService):
    """The site on 127.0.0.1: binds on construction (``origin`` is known at once), serves after ``serve()``."""

    def __init__(
        self, root: Path, port: int = 0, log: RequestLog | None = None, metrics: MetricsCounters | None = None
    ) -> None:
        self.root = Path(root).resolve()
        self.metrics = metrics
        """Served as text at ``/__metrics`` (the function's metrics, counted locally)."""
        self._server = _SiteServer(_Handler, port, log=log, log_name="site")
        self._server.site = self
        self.settings: Settings | None = None
        self.function_url = ""
        self.api: EdgeProxy | None = None

    @property
    def function_origin(self) -> str:
        return self.function_url.rstrip("/")

    def serve(self, settings: Settings, function_url: str, api: EdgeProxy | None = None) -> None:
        """``api``: session mode, where ``function_url`` is the site's own ``/api`` and ``api`` forwards to the function."""
        self.settings = settings
        self.function_url = function_url
        self.api = api
        self._server.start("static-site")

    def index_html(self) -> str:
        html = (self.root / "index.html").read_text(encoding="utf-8")
        return render_index_html(html, self.settings, self.function_origin)

    def file_for(self, url_path: str) -> Path | None:
        """The file under ``root`` a URL path names, or None (missing, not published, a directory, outside)."""
        parts = [part for part in url_path.split("/") if part]
        if not parts or any("\\" in part for part in parts) or not is_published("/".join(parts)):
            return None
        candidate = self.root.joinpath(*parts).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate
