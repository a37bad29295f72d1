"""``run-local --json``: the running stack as one JSON object, for a script that drives it.

Printed to stdout once every server answers, and nothing else goes to
stdout: the human text and the request log go to stderr. It holds what
``pulumi stack output --json`` shows for a deployed stack, plus what only a
local run has: the ports, moto's endpoint (Secrets Manager, DynamoDB) and the
fake provider. Nothing in it is secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from oauth_exchange.cms_endpoints import cms_origins
from oauth_exchange.origins import allowed_origins

from local.secrets_store import REGION
from local.stack import LocalStack


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def ready_document(stack: LocalStack) -> dict[str, Any]:
    """Every URL, port and callback URL of ``stack``, its moto endpoint and its secret's ARN."""
    ports = {"site": stack.site.port, "function": stack.emulator.port, "moto": _port(stack.secrets.endpoint)}
    document: dict[str, Any] = {
        **stack.outputs(),
        "origins": allowed_origins(stack.settings, stack.site_origin),
        "motoEndpoint": stack.secrets.endpoint,
        "region": REGION,
        "fakeProvider": None,
        "metricsUrl": f"{stack.site_url}__metrics",
    }
    if stack.provider is not None:
        ports["provider"] = _port(stack.provider.base_url)
        document["fakeProvider"] = {"url": stack.provider.base_url, "login": stack.provider.user["login"]}
    if stack.settings.session is not None:
        document["apiUrl"] = stack.api_url
    if stack.settings.cms is not None:
        document["cmsOrigins"] = cms_origins(stack.settings, stack.site_origin)
    if stack.cms_site is not None:
        ports["cms"] = stack.cms_site.port
        document["cmsAdminUrl"] = stack.cms_site.admin_url
        document["cmsRepo"] = stack.cms_repo
    document["ports"] = ports
    return document
