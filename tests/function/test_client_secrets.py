"""Client secrets: Secrets Manager reads, the bounded cache, rotation and store failures."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import client_secrets
import exchange
from client_secrets import ClientSecrets, SecretUnavailable
from oauth_exchange.settings import Settings
from tests.function import fault_servers
from tests.function.conftest import REDIRECT_URI


def token_requests(provider):
    return provider.requests_to("/login/oauth/access_token")


def test_rotated_secret_is_reread_once_and_the_exchange_succeeds(github, secret_store, exchange_code, sensitive):
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    old = github.client_secret
    new = "rotated-" + old
    sensitive.add(new)
    secret_store.put({"github": new})
    github.client_secret = new

    reply = exchange_code(*github.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    attempts = [r.form()["client_secret"] for r in token_requests(github)[1:]]
    assert attempts == [old, new], "one rejected attempt with the cached secret, then one with the re-read secret"


def test_secret_rejected_again_after_reread_is_server_misconfigured(github, secret_store, exchange_code, sensitive):
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    sensitive.add("wrong-one", "wrong-two")
    github.client_secret = "wrong-one"
    secret_store.put({"github": "wrong-two"})

    reply = exchange_code(*github.authorize_pkce(REDIRECT_URI))

    assert (reply.status, reply.body["error"]) == (502, "server_misconfigured")
    assert len(token_requests(github)) == 3, "first exchange, then exactly one retry after the re-read"


def test_unchanged_secret_after_reread_is_not_sent_twice(fake_provider, deploy, exchange_code):
    provider = fake_provider("github")
    deploy({"github": provider}, secrets={"github": "a-stale-secret-value"})

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI))

    assert reply.body["error"] == "server_misconfigured"
    assert len(token_requests(provider)) == 1


def test_secret_is_cached_between_requests(github, secret_store, exchange_code, sensitive):
    sensitive.add("rotated-but-not-yet-seen")
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    secret_store.put({"github": "rotated-but-not-yet-seen"})

    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    assert {r.form()["client_secret"] for r in token_requests(github)} == {github.client_secret}


def test_secret_cache_seconds_bounds_the_cache(fake_provider, deploy, secret_store, exchange_code, sensitive):
    provider = fake_provider("github")
    deploy({"github": provider}, secret_cache_seconds=0)
    assert exchange_code(*provider.authorize_pkce(REDIRECT_URI)).status == 200
    new = "fresh-" + provider.client_secret
    sensitive.add(new)
    secret_store.put({"github": new})
    provider.client_secret = new

    assert exchange_code(*provider.authorize_pkce(REDIRECT_URI)).status == 200
    assert len(token_requests(provider)) == 2, "the new secret was used straight away, no rejection"


def test_deleted_secret_is_secret_unavailable(github, secret_store, exchange_code):
    secret_store.delete()

    reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (503, "secret_unavailable")
    assert github.seen == []


def test_unreachable_secret_store_is_secret_unavailable(github, exchange_code, monkeypatch, sensitive):
    with fault_servers.refused_port() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{port}")
        exchange.reset()

        reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (503, "secret_unavailable")
    (line,) = sensitive.request_lines()
    assert "Secrets Manager could not be reached" in line.getMessage()


def test_hung_secret_store_is_secret_unavailable_well_within_the_lambda_timeout(
    fake_provider, deploy, exchange_code, monkeypatch, sensitive
):
    """A store that accepts the request and never answers; at the default timeout the Lambda has 15 s."""
    deploy({"github": fake_provider("github")}, timeout_seconds=5)
    with fault_servers.running(fault_servers.hang()) as store:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store.url.removesuffix("/token"))
        exchange.reset()

        started = time.monotonic()
        reply = exchange_code("code-0123456789")
        elapsed = time.monotonic() - started

    assert (reply.status, reply.body["error"]) == (503, "secret_unavailable")
    assert elapsed < 5, "two 1 s attempts and up to 1 s of backoff; it was 10.8 s, and the Lambda has 15 s"
    assert len(store.requests) == 2, "one retry, as for any transient store failure"


@pytest.mark.parametrize("timeout_seconds", [1, 2, 5, 10, 30])
def test_worst_case_secret_reads_fit_the_lambda_timeout(aws, timeout_seconds):
    """An invocation reads the store at most twice: once on a cold cache, once after a rejection.

    The provider calls share one deadline set before the first read, so the
    re-read starts at most ``timeout_seconds`` in; the invocation ends within
    ``timeout_seconds`` plus one worst-case read, which must leave room before
    the Lambda timeout the stack sets (infra/oauth_exchange/settings.py).
    """
    config = client_secrets._new_client("us-east-1").meta.config
    attempts = config.retries["total_max_attempts"]
    first_retry_backoff = 1.0  # botocore standard mode: rand(0, 1) * 2**0 seconds
    worst_read = attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1) * first_retry_backoff
    assert attempts == 2
    lambda_timeout = Settings(providers=(), timeout_seconds=timeout_seconds).lambda_timeout_seconds

    assert timeout_seconds + worst_read <= lambda_timeout - 1


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('{"gitlab": "x"}', "no client secret for provider github"),
        ('{"github": 42}', "no client secret for provider github"),
        ('{"github": ""}', "no client secret for provider github"),
        ("not json", "not JSON"),
        ('["github"]', "not a JSON object"),
    ],
)
def test_unusable_secrets_document_is_secret_unavailable(github, secret_store, exchange_code, sensitive, document, reason):
    secret_store.put(document)

    reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (503, "secret_unavailable")
    assert reason in sensitive.request_lines()[0].getMessage()


def test_store_failure_on_reread_is_secret_unavailable(github, secret_store, exchange_code, sensitive):
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    github.client_secret = "rotated-while-store-down"
    sensitive.add("rotated-while-store-down")
    secret_store.delete()

    reply = exchange_code(*github.authorize_pkce(REDIRECT_URI))

    assert (reply.status, reply.body["error"]) == (503, "secret_unavailable")


# -- the cache on its own ----------------------------------------------------------


class CountingSource:
    def __init__(self, *documents):
        self.documents = list(documents)
        self.reads = 0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.reads += 1
            document = self.documents[min(self.reads, len(self.documents)) - 1]
        if isinstance(document, Exception):
            raise document
        time.sleep(0.01)
        return document


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_cache_rereads_after_its_ttl():
    source, clock = CountingSource({"p": "one"}, {"p": "two"}), Clock()
    cache = ClientSecrets(source, ttl_seconds=300, clock=clock)

    assert cache.get("p") == ("one", 1)
    clock.now += 299
    assert cache.get("p") == ("one", 1)
    clock.now += 1
    assert cache.get("p") == ("two", 2)
    assert source.reads == 2


def test_failed_read_is_not_covered_by_a_stale_value():
    source, clock = CountingSource({"p": "one"}, SecretUnavailable("down")), Clock()
    cache = ClientSecrets(source, ttl_seconds=60, clock=clock)
    cache.get("p")
    clock.now += 60

    with pytest.raises(SecretUnavailable):
        cache.get("p")


def test_concurrent_first_requests_read_the_store_once():
    source = CountingSource({"p": "one"})
    cache = ClientSecrets(source, ttl_seconds=300)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: cache.get("p"), range(64)))

    assert set(results) == {("one", 1)}
    assert source.reads == 1


def test_concurrent_rejections_of_the_same_secret_share_one_reread():
    source = CountingSource({"p": "old"}, {"p": "new"})
    cache = ClientSecrets(source, ttl_seconds=300)
    _, generation = cache.get("p")

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: cache.reread("p", generation), range(32)))

    assert set(results) == {("new", 2)}
    assert source.reads == 2
