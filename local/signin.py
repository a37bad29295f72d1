"""The SPA's side of a sign-in, driven with httpx instead of a browser.

The end-to-end tests, the command's tests and the load benchmark need real
authorization codes from the fake provider's consent page, bound to a PKCE
verifier and the site's redirect URI, and need to exchange them as the SPA
does. Like the SPA, this starts from the site's ``config.js`` and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx


class SignInError(Exception):
    """The provider or the function did not behave as a sign-in needs."""


@dataclass(frozen=True)
class Callback:
    """What the provider sent back to the SPA's callback URL, and the verifier the SPA kept for it."""

    params: dict[str, str]
    verifier: str

    @property
    def code(self) -> str:
        return self.params["code"]


class _ConsentForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name, value = values.get("name"), values.get("value") or ""
        if tag == "input" and name:
            self.fields[name] = value
        if tag == "button" and name == "decision":
            self.buttons.add(value)


def pkce_pair() -> tuple[str, str]:
    """A fresh RFC 7636 verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Spa:
    """The SPA served at ``site_url``, as far as a sign-in goes."""

    def __init__(self, client: httpx.Client, site_url: str) -> None:
        self.client = client
        module = client.get(site_url.rstrip("/") + "/config.js").text
        self.config: dict[str, Any] = json.loads(module[module.index("(") + 1 : module.rindex(")")])
        self.origin = site_url.rstrip("/")
        self.function_url = self.config["functionUrl"]
        self.provider: dict[str, Any] = self.config["providers"][0]
        self.redirect_uri = self.origin + self.provider["callbackPath"]

    def consent(self, decision: str = "authorize") -> Callback:
        """Open the consent page as the SPA sends the user there and press Authorize (or Deny)."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        query = {
            "response_type": "code",
            "client_id": self.provider["clientId"],
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.provider["scopes"]),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page = self.client.get(self.provider["authorizeUrl"] + "?" + urlencode(query))
        form = _ConsentForm()
        form.feed(page.text)
        if page.status_code != 200 or decision not in form.buttons:
            raise SignInError(f"no {decision!r} button on the consent page (HTTP {page.status_code})")
        answer = self.client.post(self.provider["authorizeUrl"], data={**form.fields, "decision": decision})
        location = answer.headers.get("location", "")
        if answer.status_code != 302 or not location.startswith(self.redirect_uri + "?"):
            raise SignInError(f"the provider did not redirect to the callback URL (HTTP {answer.status_code})")
        params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        if params.get("state") != state:
            raise SignInError("the provider returned another state")
        return Callback(params=params, verifier=verifier)

    def token_request(self, code: str, verifier: str) -> dict[str, Any]:
        """The POST ``oauth.js`` sends to the function URL, as keyword arguments for an httpx client's ``post``."""
        return {
            "url": self.function_url + "/token",
            "json": {"provider": self.provider["name"], "code": code, "redirect_uri": self.redirect_uri, "code_verifier": verifier},
            "headers": {"Origin": self.origin},
        }

    def exchange(self, code: str, verifier: str) -> httpx.Response:
        """POST the code to the function URL from the SPA's origin."""
        return self.client.post(**self.token_request(code, verifier))

    def sign_in(self) -> dict[str, Any]:
        """Consent, then exchange; the function's token answer."""
        callback = self.consent()
        response = self.exchange(callback.code, callback.verifier)
        if response.status_code != 200:
            raise SignInError(f"the exchange failed: HTTP {response.status_code} {response.text}")
        return response.json()
