"""The request line's metrics: what each kind of request counts, under which dimensions, and what never becomes one.

The conftest holds every request line of every function test to the EMF
specification (``emf_spec``); these tests say what the lines report.
"""

from __future__ import annotations

import pytest

import metrics
from tests.function.conftest import REDIRECT_URI, SESSION_REDIRECT_URI
from tests.function.emf_spec import NAMESPACE, check_event, lambda_json_event
from tests.function.test_cms import cms_deploy, harness, keys  # noqa: F401 - the CMS harness's fixtures


def events(sensitive):
    return [lambda_json_event(record) for record in sensitive.request_lines()]


def metric_names(event):
    return {definition["Name"] for directive in event["_aws"]["CloudWatchMetrics"] for definition in directive["Metrics"]}


def dimensions_of(event, name):
    for directive in event["_aws"]["CloudWatchMetrics"]:
        if any(definition["Name"] == name for definition in directive["Metrics"]):
            return [tuple(dimension_set) for dimension_set in directive["Dimensions"]]
    raise AssertionError(f"{name} is not in the line")


@pytest.fixture
def expiring_github(fake_provider, deploy):
    provider = fake_provider("github", refresh_tokens=True)
    deploy({"github": provider})
    return provider


@pytest.fixture
def session_github(fake_provider, session_deploy):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    session_deploy({"github": provider})
    return provider


def test_a_sign_in_counts_one_successful_sign_in_of_its_provider_with_the_providers_latency(github, exchange_code, sensitive):
    exchange_code(*github.authorize_pkce(REDIRECT_URI))

    (event,) = events(sensitive)
    assert (event["route"], event["provider"], event["outcome"]) == ("/token", "github", "ok")
    assert metric_names(event) == {"Requests", "SignIns", "ProviderLatency"}
    assert event["SignIns"] == 1 and event["Requests"] == 1
    assert event["ProviderLatency"] > 0
    assert event["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    assert dimensions_of(event, "SignIns") == dimensions_of(event, "Requests") == [("route", "provider", "outcome"), ("outcome",)]
    assert dimensions_of(event, "ProviderLatency") == dimensions_of(event, "Requests")
    assert len(event["_aws"]["CloudWatchMetrics"]) == 1, "one directive: the line stays short"
    assert "status_class" not in event, "only a proxied call has a status class dimension"


def test_a_rejected_code_counts_a_failed_sign_in_under_its_error_code(github, exchange_code, sensitive):
    exchange_code("0123456789abcdef0123")

    (event,) = events(sensitive)
    assert (event["outcome"], event["status"], event["SignIns"]) == ("invalid_grant", 400, 1)


def test_a_refresh_grant_counts_a_refresh_not_a_sign_in(expiring_github, exchange_code, invoke, sensitive):
    tokens = exchange_code(*expiring_github.authorize_pkce(REDIRECT_URI)).body
    invoke("/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    invoke("/token", {"grant_type": "refresh_token"})

    sign_in, refresh, malformed = events(sensitive)
    assert "SignIns" in metric_names(sign_in) and "Refreshes" not in metric_names(sign_in)
    assert (refresh["Refreshes"], refresh["outcome"]) == (1, "ok")
    assert "SignIns" not in metric_names(refresh)
    assert (malformed["Refreshes"], malformed["outcome"]) == (1, "invalid_request")


def test_a_revocation_counts_as_one(github, exchange_code, invoke, sensitive):
    token = exchange_code(*github.authorize_pkce(REDIRECT_URI)).body["access_token"]
    invoke("/revoke", {"token": token})

    _, revocation = events(sensitive)
    assert (revocation["route"], revocation["Revocations"], revocation["outcome"]) == ("/revoke", 1, "ok")


def test_a_secret_the_provider_keeps_rejecting_counts_a_reread_and_server_misconfigured(github, secret_store, exchange_code, sensitive):
    exchange_code(*github.authorize_pkce(REDIRECT_URI))
    sensitive.add("wrong-one", "wrong-two")
    github.client_secret = "wrong-one"
    secret_store.put({"github": "wrong-two"})

    exchange_code(*github.authorize_pkce(REDIRECT_URI))

    first, rejected = events(sensitive)
    assert "SecretRereads" not in metric_names(first)
    assert (rejected["outcome"], rejected["SecretRereads"]) == ("server_misconfigured", 1)
    assert dimensions_of(rejected, "SecretRereads") == [("route", "provider", "outcome"), ("outcome",)]


def test_a_provider_name_the_stack_does_not_configure_never_becomes_a_dimension(github, invoke, sensitive):
    """Exploit: every new name would be a new custom metric, billed monthly; the CMS popup takes any well-formed name."""
    invoke("/token", {"provider": "zz-attacker-1", "code": "c", "redirect_uri": REDIRECT_URI})

    (event,) = events(sensitive)
    assert event["provider"] in {"-", metrics.UNKNOWN_PROVIDER}
    assert "zz-attacker-1" not in repr(event)


def test_a_cms_popup_for_an_unconfigured_provider_is_counted_under_unknown(harness, sensitive):
    harness.auth(provider="gitlab")
    harness.sign_in()

    refused, started, finished = events(sensitive)
    assert (refused["route"], refused["provider"], refused["CmsHandshakes"]) == ("/auth", metrics.UNKNOWN_PROVIDER, 1)
    assert refused["outcome"] == "invalid_request"
    assert "gitlab" not in {refused[name] for name in ("route", "provider", "outcome")}
    assert (started["route"], started["outcome"], started["CmsHandshakes"]) == ("/auth", "ok", 1)
    assert (finished["route"], finished["outcome"], finished["CmsHandshakes"], finished["SignIns"]) == ("/callback", "ok", 1, 1)


def test_a_proxied_call_counts_under_the_providers_status_class_and_the_store_latency(session_github, browser, sensitive):
    browser.sign_in(session_github)
    browser.request("GET", "/api/proxy/github/user")

    sign_in, proxied = events(sensitive)
    assert sign_in["SignIns"] == 1 and sign_in["SessionStoreLatency"] > 0
    assert (proxied["route"], proxied["ProxiedCalls"], proxied["status_class"]) == ("/api/proxy", 1, "2xx")
    assert dimensions_of(proxied, "ProxiedCalls") == [("provider", "status_class")]
    assert proxied["SessionStoreLatency"] > 0 and proxied["ProviderLatency"] > 0
    assert "SessionStoreErrors" not in metric_names(proxied)


def test_a_session_table_that_fails_counts_store_errors(session_github, browser, session_table, sensitive):
    browser.sign_in(session_github)
    session_table.drop()

    browser.request("GET", "/api/session")
    browser.request("DELETE", "/api/session")

    _, read, sign_out = events(sensitive)
    assert (read["outcome"], read["SessionStoreErrors"]) == ("session_unavailable", 1)
    assert (sign_out["outcome"], sign_out["Revocations"]) == ("session_unavailable", 1)
    assert sign_out["SessionStoreErrors"] >= 1


# -- the checker itself: it must refuse what the function must never write -----------------


def _line(**overrides):
    event = {
        "_aws": {
            "Timestamp": 1764720000000,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["route", "provider", "outcome"], ["outcome"]],
                    "Metrics": [{"Name": "Requests", "Unit": "Count"}],
                }
            ],
        },
        "route": "/token",
        "provider": "github",
        "outcome": "ok",
        "Requests": 1,
    }
    event.update(overrides)
    return event


def test_the_checker_accepts_a_well_formed_line():
    check_event(_line(), {"github"}, {"octocat"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"provider": "Octocat"},
        {"provider": "octocat@example.com"},
        {"provider": "gitlab"},
        {"route": "/token/x"},
        {"outcome": "OK"},
        {"Requests": "1"},
        {"Requests": True},
        {"_aws": {"CloudWatchMetrics": []}},
    ],
)
def test_the_checker_refuses_private_unknown_or_malformed_values(overrides):
    with pytest.raises(Exception):
        check_event(_line(**overrides), {"github", "octocat"}, {"octocat", "octocat@example.com"})


def test_the_checker_refuses_an_undeclared_metric():
    event = _line()
    event["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "AccessTokens", "Unit": "Count"})
    event["AccessTokens"] = 1
    with pytest.raises(AssertionError):
        check_event(event, {"github"})
