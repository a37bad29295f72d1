"""Built-in provider presets: the endpoints users would otherwise copy from docs.

Plain data, no Pulumi import: the Pulumi program, the local stack and the tests
all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """What is fixed about a provider; the stack config adds the client id."""

    label: str
    authorize_url: str
    token_url: str
    token_auth: str
    revoke_url: str | None
    revoke_style: str
    userinfo_url: str | None
    scopes: tuple[str, ...]
    pkce: bool
    image_origins: tuple[str, ...]
    api_base_url: str | None
    """Where the provider's API lives: session mode proxies ``/api/proxy/<provider>/<path>`` to it."""


PRESETS: dict[str, Preset] = {
    "github": Preset(
        label="GitHub",
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        token_auth="client_secret_post",
        revoke_url="https://api.github.com/applications/{client_id}/token",
        revoke_style="github",
        userinfo_url="https://api.github.com/user",
        scopes=("read:user",),
        pkce=True,
        image_origins=("https://avatars.githubusercontent.com",),
        api_base_url="https://api.github.com",
    ),
    "gitlab": Preset(
        label="GitLab",
        authorize_url="https://gitlab.com/oauth/authorize",
        token_url="https://gitlab.com/oauth/token",
        token_auth="client_secret_post",
        revoke_url="https://gitlab.com/oauth/revoke",
        revoke_style="rfc7009",
        userinfo_url="https://gitlab.com/api/v4/user",
        scopes=("read_user",),
        pkce=True,
        image_origins=("https://gitlab.com", "https://secure.gravatar.com"),
        api_base_url="https://gitlab.com/api/v4",
    ),
    "google": Preset(
        label="Google",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        token_auth="client_secret_post",
        revoke_url="https://oauth2.googleapis.com/revoke",
        revoke_style="rfc7009",
        userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
        scopes=("openid", "email", "profile"),
        pkce=True,
        image_origins=("https://lh3.googleusercontent.com",),
        api_base_url="https://openidconnect.googleapis.com",
    ),
}
