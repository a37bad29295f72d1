"""HTTPS on the loopback servers: a throwaway CA, handshakes that cannot hold up other clients."""

from __future__ import annotations

import socket
import ssl
import time

import httpx
import pytest

from local.fake_provider import FakeProvider
from local.loopback_tls import LoopbackCA


@pytest.fixture
def ca() -> LoopbackCA:
    return LoopbackCA()


@pytest.fixture
def provider(ca):
    with FakeProvider("github", tls=ca.server_context()) as fake:
        yield fake


def test_the_fake_provider_serves_https_that_only_its_ca_vouches_for(provider, ca):
    assert provider.base_url.startswith("https://127.0.0.1:")

    with httpx.Client(verify=ca.client_context()) as trusting:
        answer = trusting.get(provider.urls["avatar"])
    assert (answer.status_code, answer.headers["content-type"]) == (200, "image/png")

    with httpx.Client(verify=LoopbackCA().client_context()) as other:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            other.get(provider.urls["avatar"])
    assert [r.path for r in provider.seen] == ["/avatar.png"]


def test_the_ca_bundle_file_is_what_a_client_trusts(provider, ca, tmp_path):
    bundle = ca.write_bundle(tmp_path)

    with httpx.Client(verify=ssl.create_default_context(cafile=str(bundle))) as client:
        assert client.get(provider.urls["avatar"]).status_code == 200


def test_a_client_stalled_in_its_handshake_holds_up_nobody(provider, ca):
    with socket.create_connection(("127.0.0.1", _port(provider))):
        started = time.monotonic()
        with httpx.Client(verify=ca.client_context(), timeout=5) as client:
            assert client.get(provider.urls["avatar"]).status_code == 200
        assert time.monotonic() - started < 2, "the accept loop does not wait for a handshake"


def test_a_plain_http_client_is_turned_away_without_an_answer(provider):
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(provider.urls["avatar"].replace("https://", "http://"), timeout=5)
    assert provider.seen == []


def _port(provider: FakeProvider) -> int:
    return int(provider.base_url.rsplit(":", 1)[1])
