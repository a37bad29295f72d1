"""Providers over HTTPS: the function verifies their certificates against the CAs it is told to trust.

The fake GitHub serves HTTPS with a certificate from a throwaway CA made for
the test; the function trusts it only through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import logging

import pytest

from local.loopback_tls import LoopbackCA
from tests.function.conftest import REDIRECT_URI


@pytest.fixture
def ca() -> LoopbackCA:
    return LoopbackCA()


@pytest.fixture
def https_github(fake_provider, ca):
    provider = fake_provider("github", tls=ca.server_context())
    assert provider.urls["token"].startswith("https://127.0.0.1:")
    return provider


def trust(monkeypatch, bundle) -> None:
    """Point the function at one CA bundle (SSL_CERT_DIR, set on some machines, must not add to it)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_codes_are_exchanged_with_a_provider_served_over_https(https_github, ca, deploy, exchange_code, tmp_path, monkeypatch):
    trust(monkeypatch, ca.write_bundle(tmp_path))
    deploy({"github": https_github})

    reply = exchange_code(*https_github.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    assert reply.body["access_token"] == https_github.issued_access_tokens[-1]
    assert [r.path for r in https_github.seen] == ["/login/oauth/access_token"]


def test_warm_exchanges_over_https_share_one_connection(https_github, ca, deploy, exchange_code, tmp_path, monkeypatch):
    trust(monkeypatch, ca.write_bundle(tmp_path))
    deploy({"github": https_github})

    replies = [exchange_code(*https_github.authorize_pkce(REDIRECT_URI)) for _ in range(5)]

    assert [r.status for r in replies] == [200] * 5
    assert https_github.connections_accepted == 1, "one TLS handshake, then the kept-alive connection"


def test_a_certificate_from_another_ca_is_refused_before_anything_is_sent(
    https_github, deploy, exchange_code, tmp_path, monkeypatch, sensitive
):
    trust(monkeypatch, LoopbackCA().write_bundle(tmp_path))
    deploy({"github": https_github})

    reply = exchange_code(*https_github.authorize_pkce(REDIRECT_URI))

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert https_github.seen == [], "the code and the client secret never left the function"
    (line,) = sensitive.request_lines()
    assert "provider unreachable (ConnectError)" in line.getMessage()


def test_the_default_trust_store_does_not_trust_a_test_ca(https_github, deploy, exchange_code, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    deploy({"github": https_github})

    reply = exchange_code(*https_github.authorize_pkce(REDIRECT_URI))

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert https_github.seen == []


def test_a_certificate_for_another_host_name_is_refused(fake_provider, deploy, exchange_code, tmp_path, monkeypatch):
    elsewhere = LoopbackCA(server_names=("login.example.test",))
    provider = fake_provider("github", tls=elsewhere.server_context())
    trust(monkeypatch, elsewhere.write_bundle(tmp_path))
    deploy({"github": provider})

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI))

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert provider.seen == [], "a trusted CA's certificate for another name is no good for 127.0.0.1"


def test_an_unreadable_ca_bundle_is_a_configuration_error(github, deploy, invoke, tmp_path, monkeypatch, sensitive):
    trust(monkeypatch, tmp_path / "missing.pem")
    deploy({"github": github})

    replies = [invoke("/token", {"provider": "github", "code": "c0de", "redirect_uri": REDIRECT_URI}) for _ in range(2)]

    assert [(r.status, r.body["error"]) for r in replies] == [(500, "server_error")] * 2
    assert github.seen == []
    errors = [r for r in sensitive.records() if r.levelno >= logging.ERROR and r.name == "oauth_exchange"]
    assert [r.getMessage() for r in errors] == [
        "configuration invalid: SSL_CERT_FILE / SSL_CERT_DIR names a CA bundle that cannot be loaded (FileNotFoundError)"
    ]
    assert all("detail=configuration invalid" in line.getMessage() for line in sensitive.request_lines())
