"""The local stack in CMS mode: one source of truth for the CMS's config and the function's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from local.stack import LocalStack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(cms=True, config={"secretCacheSeconds": 0}, log=lambda line: None) as running:
        yield running


def start_cms_sign_in(stack: LocalStack) -> httpx.Response:
    return httpx.get(
        stack.function_origin + "/auth",
        params={"provider": "github", "site_id": "127.0.0.1", "scope": "repo"},
        headers={"referer": stack.cms_site.admin_url},
    )


def test_the_cms_config_points_decap_at_the_function_and_the_fake_githubs_api(stack):
    config = httpx.get(stack.cms_site.admin_url + "config.yml").text

    assert f"  base_url: {stack.function_origin}\n" in config
    assert "  auth_endpoint: auth\n" in config
    assert f"  api_root: {stack.provider.base_url}\n" in config
    assert "  repo: octocat/website\n" in config


def test_the_function_serves_exactly_the_cms_admin_origin_and_redirects_to_its_own_callback(stack):
    answer = start_cms_sign_in(stack)

    assert answer.status_code == 302
    assert f"redirect_uri={stack.function_origin}/callback/github".replace(":", "%3A").replace("/", "%2F") in answer.headers["location"]
    assert stack.cms_callback_url in stack.provider.redirect_uris
    assert stack.cms_site.origin in stack.provider.allowed_origins
    config = json.loads(stack.function_config_path.read_text())
    assert config["cms"]["origins"] == [stack.cms_site.origin]
    assert config["cms"]["callback_origin"] == stack.function_origin


def test_rotating_the_client_secret_keeps_the_cms_signing_keys(stack):
    stack.put_client_secret("rotated-" + "x" * 20)

    assert start_cms_sign_in(stack).status_code == 302


def test_an_admin_page_is_served_with_an_opener_policy_only_when_asked(stack):
    assert "cross-origin-opener-policy" not in httpx.get(stack.cms_site.admin_url).headers
    stack.cms_site.opener_policy = "same-origin"
    try:
        assert httpx.get(stack.cms_site.admin_url).headers["cross-origin-opener-policy"] == "same-origin"
    finally:
        stack.cms_site.opener_policy = None
    assert httpx.get(stack.cms_site.origin + "/bundle/../secrets").status_code == 404
