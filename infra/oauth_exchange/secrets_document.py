"""The Secrets Manager document: the client secrets, plus the CMS signing keys and edge secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from oauth_exchange.settings import ConfigError, Settings


CMS_SIGNING_KEYS_ENTRY = "_cms_signing_keys"
"""The secrets document's entry for the CMS cookie signing keys (current first); never a provider name."""
EDGE_SECRETS_ENTRY = "_edge_secrets"
"""The secrets document's entry for the edge header's values (current first); never a provider name."""


def client_secrets_json(
    settings: Settings, secrets: Mapping[str, Any], cms_signing_keys: str | None = None, edge_secrets: str | None = None
) -> str:
    """The Secrets Manager ``SecretString``: ``{"<provider>": "<client secret>"}``, plus the CMS signing keys and edge secrets."""
    for provider in settings.providers:
        value = secrets.get(provider.name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"clientSecrets.{provider.name}", "must be a non-empty string")
    document = {p.name: secrets[p.name] for p in settings.providers}
    if cms_signing_keys is not None:
        document[CMS_SIGNING_KEYS_ENTRY] = cms_signing_keys
    if edge_secrets is not None:
        document[EDGE_SECRETS_ENTRY] = edge_secrets
    return json.dumps(document, sort_keys=True)
