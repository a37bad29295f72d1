"""A stack configured with ``providers.<name>.allow`` deploys the policy to the function and its scopes to the SPA."""

from __future__ import annotations

import json
from collections.abc import Callable

from oauth_config import parse_config
from tests.infra.stack_mocks import Deployment, function_config_text

ALLOW = {"orgs": ["Octo-Org"], "teams": ["octo-org/octo-team"]}


def test_allow_reaches_the_function_and_the_scope_it_needs_reaches_config_js(deploy: Callable[..., Deployment]) -> None:
    stack = deploy(providers={"github": {"clientId": "Iv1.0123456789", "allow": ALLOW}})

    variables = stack.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    allow = parse_config(function_config_text(stack), variables["OAUTH_CLIENT_SECRETS_ARN"]).providers["github"].allow
    assert (allow.check, allow.url, allow.orgs, allow.teams) == ("github", "https://api.github.com", ("octo-org",), ("octo-org/octo-team",))

    objects = {o.plain_inputs["key"]: o.plain_inputs for o in stack.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    config_js = objects["config.js"]["content"]
    spa = json.loads(config_js[config_js.index("{") : config_js.rindex("}") + 1])
    assert spa["providers"][0]["scopes"] == ["read:user", "read:org"]
    assert "octo-org" not in config_js, "the policy itself stays with the function"
