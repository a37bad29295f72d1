"""OAUTH_CONFIG.cms: what CMS popup mode needs, validated with messages that name the key."""

from __future__ import annotations

import json

import pytest

from oauth_config import ConfigError, parse_config
from tests.function.test_configuration import ARN, VALID

CMS = {
    "origins": ["https://cms.example.com", "http://127.0.0.1:8001"],
    "providers": {"github": {"authorize_url": "https://github.com/login/oauth/authorize", "scopes": ["repo", "user"]}},
}


def config_with(cms) -> str:
    return json.dumps({**VALID, "cms": cms})


def test_without_a_cms_key_cms_mode_is_off():
    assert parse_config(json.dumps(VALID), ARN).cms is None


def test_a_cms_entry_is_read_with_defaults():
    cms = parse_config(config_with(CMS), ARN).cms

    assert cms.origins == ("https://cms.example.com", "http://127.0.0.1:8001")
    assert cms.providers["github"].scopes == ("repo", "user")
    assert cms.providers["github"].authorize_url == "https://github.com/login/oauth/authorize"
    assert (cms.callback_origin, cms.state_seconds) == (None, 600)


@pytest.mark.parametrize(
    ("cms", "key"),
    [
        ("yes", "OAUTH_CONFIG.cms"),
        ({**CMS, "origins": []}, "OAUTH_CONFIG.cms.origins"),
        ({**CMS, "origins": ["*"]}, "OAUTH_CONFIG.cms.origins[0]"),
        ({**CMS, "origins": ["https://cms.example.com/admin"]}, "OAUTH_CONFIG.cms.origins[0]"),
        ({**CMS, "providers": {}}, "OAUTH_CONFIG.cms.providers"),
        ({**CMS, "providers": {"gitlab": CMS["providers"]["github"]}}, "OAUTH_CONFIG.cms.providers.gitlab"),
        ({**CMS, "providers": {"github": {"authorize_url": "http://github.com/x", "scopes": ["repo"]}}}, "OAUTH_CONFIG.cms.providers.github.authorize_url"),
        ({**CMS, "providers": {"github": {"authorize_url": "https://github.com/x", "scopes": []}}}, "OAUTH_CONFIG.cms.providers.github.scopes"),
        ({**CMS, "providers": {"github": {"authorize_url": "https://github.com/x", "scopes": ["repo,user"]}}}, "OAUTH_CONFIG.cms.providers.github.scopes"),
        ({**CMS, "callback_origin": "https://fn.example/callback"}, "OAUTH_CONFIG.cms.callback_origin"),
        ({**CMS, "state_seconds": 5}, "OAUTH_CONFIG.cms.state_seconds"),
        ({**CMS, "state_seconds": True}, "OAUTH_CONFIG.cms.state_seconds"),
    ],
)
def test_a_bad_cms_entry_is_refused_naming_the_key(cms, key):
    with pytest.raises(ConfigError, match=r"^" + key.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]") + " "):
        parse_config(config_with(cms), ARN)
