"""Session mode's settings: defaults, bounds, the proxy allow-list, and what the function and the SPA get."""

import pytest

from oauth_exchange.function_config import function_config_json
from oauth_exchange.session_contract import API_FORWARDED_HEADERS, CSRF_HEADER, SESSION_COOKIE, SITE_ORIGIN_HEADER
from oauth_exchange.settings import ApiPath, ConfigError, SessionSettings, load_settings
from oauth_exchange.site_headers import connect_policy
from oauth_exchange.spa_config import spa_config
from oauth_config import parse_config
from sessions import PATH_PREFIX

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-exchange-AbCdEf"
SITE = "https://d1234.cloudfront.net"


def settings(session=True, **provider):
    return load_settings({"providers": {"github": {"clientId": "Iv1.x", **provider}}, "session": session}, {"github"})


def test_session_is_off_unless_configured():
    assert load_settings({"providers": {"github": {"clientId": "x"}}}, {"github"}).session is None
    assert settings(session=False).session is None
    assert settings(session="false").session is None


def test_session_defaults_fit_github_app_tokens():
    session = settings().session
    assert session == SessionSettings(idle_minutes=480, max_hours=720, expose_access_token=False)
    assert session.max_hours <= 4380  # never longer than a GitHub App's six-month refresh token


def test_session_values_are_read_and_checked():
    assert settings({"idleMinutes": 30, "maxHours": 12, "exposeAccessToken": True}).session == SessionSettings(30, 12, True)
    with pytest.raises(ConfigError, match="session.idleMinutes"):
        settings({"idleMinutes": 60 * 13, "maxHours": 12})
    with pytest.raises(ConfigError, match="session.maxHours"):
        settings({"maxHours": 0})
    with pytest.raises(ConfigError, match="session.exposeAccessToken"):
        settings({"exposeAccessToken": "maybe"})


def test_api_paths_default_to_the_user_info_path_under_the_api_base():
    github = settings().provider("github")
    assert github.api_base_url == "https://api.github.com"
    assert github.api_paths == (ApiPath(("GET",), "/user"),)
    gitlab = load_settings({"providers": {"gitlab": {"clientId": "x"}}, "session": True}, {"gitlab"}).provider("gitlab")
    assert gitlab.api_paths == (ApiPath(("GET",), "/user"),)
    google = load_settings({"providers": {"google": {"clientId": "x"}}, "session": True}, {"google"}).provider("google")
    assert google.api_paths == (ApiPath(("GET",), "/v1/userinfo"),)


def test_api_paths_are_parsed_with_their_methods():
    github = settings(apiPaths=["GET /user", "get,post /repos/octo/app/issues", "GET /"]).provider("github")
    assert [p.text() for p in github.api_paths] == ["GET /user", "GET,POST /repos/octo/app/issues", "GET /"]


@pytest.mark.parametrize(
    "bad",
    ["/user", "GET", "GET user", "FETCH /user", "GET /../admin", "GET /a//b", "GET /a/./b", "GET /%2e%2e", "GET /a b"],
)
def test_malformed_api_paths_are_refused_naming_the_entry(bad):
    with pytest.raises(ConfigError, match=r"providers\.github\.apiPaths\[0\]"):
        settings(apiPaths=[bad])


def test_api_paths_need_an_api_base():
    custom = {"clientId": "x", "authorizeUrl": "https://sso.example/a", "tokenUrl": "https://sso.example/t"}
    with pytest.raises(ConfigError, match="providers.corp.apiPaths"):
        load_settings({"providers": {"corp": {**custom, "apiPaths": ["GET /me"]}}}, {"corp"})
    corp = load_settings({"providers": {"corp": custom}}, {"corp"}).provider("corp")
    assert corp.api_base_url is None and corp.api_paths == ()


def test_rate_limit_needs_session_mode_and_waf_bounds():
    assert load_settings({"providers": {"github": {"clientId": "x"}}, "session": True, "rateLimit": "500"}, {"github"}).rate_limit == 500
    with pytest.raises(ConfigError, match="rateLimit"):
        load_settings({"providers": {"github": {"clientId": "x"}}, "rateLimit": 500}, {"github"})
    with pytest.raises(ConfigError, match="rateLimit"):
        load_settings({"providers": {"github": {"clientId": "x"}}, "session": True, "rateLimit": 9}, {"github"})


def test_the_function_accepts_the_session_config_settings_produce():
    config = parse_config(function_config_json(settings({"idleMinutes": 90}), None), ARN, "sessions-table")
    assert config.session is not None
    assert config.session.table_name == "sessions-table"
    assert config.session.cookie_name == SESSION_COOKIE
    assert config.session.csrf_header == CSRF_HEADER
    assert config.session.origin_header == SITE_ORIGIN_HEADER
    assert config.session.origins == frozenset()
    assert config.session.idle_seconds == 90 * 60
    github = config.session.providers["github"]
    assert github.callback_path == "/callback/github"
    assert github.api_base_url == "https://api.github.com"
    assert github.api_rules[0].allows("GET", "/user")
    assert not github.api_rules[0].allows("GET", "/users")
    # The site's origin comes per request in session mode: no site redirect URI is fixed in advance.
    assert config.providers["github"].redirect_uris == frozenset()


def test_a_known_site_origin_becomes_the_only_one_the_function_accepts():
    config = parse_config(function_config_json(settings(), SITE), ARN, "t")
    assert config.session.origins == {SITE}


def test_the_function_refuses_session_mode_without_its_table():
    from oauth_config import ConfigError as FunctionConfigError

    with pytest.raises(FunctionConfigError, match="OAUTH_SESSION_TABLE"):
        parse_config(function_config_json(settings(), None), ARN)


def test_the_function_routes_the_path_the_distribution_forwards():
    assert PATH_PREFIX == spa_config(settings(), SITE + "/api")["session"]["apiPath"] + "/"


def test_the_distribution_forwards_what_the_function_reads():
    assert {CSRF_HEADER, SITE_ORIGIN_HEADER, "sec-fetch-site", "origin", "content-type"} <= set(API_FORWARDED_HEADERS)
    assert "host" not in API_FORWARDED_HEADERS and "cookie" not in API_FORWARDED_HEADERS


def test_spa_config_says_session_mode_and_the_api():
    config = spa_config(settings({"exposeAccessToken": True}), SITE + "/api")
    assert config["mode"] == "session"
    assert config["session"] == {"apiPath": "/api", "csrfHeader": "X-OAuth-Exchange", "exposeAccessToken": True}
    assert config["providers"][0]["apiBaseUrl"] == "https://api.github.com"
    assert "mode" not in spa_config(settings(session=None), "https://abc.lambda-url.eu-west-1.on.aws/")


def test_session_mode_connects_only_to_the_site():
    assert connect_policy(settings(), "https://anything.example") == "connect-src 'self'"
    browser = connect_policy(settings(session=None), "https://abc.lambda-url.eu-west-1.on.aws")
    assert browser == "connect-src 'self' https://abc.lambda-url.eu-west-1.on.aws https://api.github.com"
