"""A user's own unit test of a program that uses the component: the README's example, run as the user runs it.

tests/infra/test_testing_mocks.py copies this file as test_infra.py into a project of its own
and runs pytest there, with oauth_exchange importable as if pip-installed.
"""

import pulumi

from oauth_exchange.testing import DISTRIBUTION_DOMAIN, Mocks, function_url

pulumi.runtime.set_mocks(Mocks("eu-west-1"), preview=False)

from oauth_exchange import OAuthExchange, OAuthExchangeArgs, load_settings  # noqa: E402 - after set_mocks

SITE = f"https://{DISTRIBUTION_DOMAIN}"
SETTINGS = load_settings({"providers": {"github": {"clientId": "Ov23liExample01"}}}, {"github"})


@pulumi.runtime.test
def test_the_spa_signs_in_through_its_own_function_url():
    exchange = OAuthExchange(
        "auth", OAuthExchangeArgs(settings=SETTINGS, client_secrets=pulumi.Output.secret({"github": "test-secret"}))
    )

    def check(values):
        origins, callbacks, spa = values
        assert origins == [SITE]
        assert callbacks == {"github": [f"{SITE}/callback/github"]}
        assert spa["functionUrl"] == function_url("eu-west-1").rstrip("/")

    return pulumi.Output.all(exchange.origins, exchange.callback_urls, exchange.spa_config).apply(check)
