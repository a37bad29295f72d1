"""oauth.js on its own, in Chromium, with the function replaced by a scripted fetch.

Failure paths the real function and fake provider cannot be made to produce
on cue (a refresh that fails, a revocation that errors, every function error
code) are driven here; the working refresh runs end to end in test_refresh.py.
"""

from __future__ import annotations

import re

# Builds a client whose storage, location, history and fetch are in-page fakes;
# `answers` maps a function path to the list of replies it gives, in order
# ({status, body} or {reject: true} for a network failure).
HARNESS = """
async function harness(answers, providerOverrides = {}) {
  const { createOAuthClient, OAuthError } = await import("/oauth.js");
  const calls = [];
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    calls.push({ url, path, body: JSON.parse(init.body) });
    const answer = answers[path].shift();
    if (answer.reject) throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(answer.body), {
      status: answer.status ?? 200, headers: { "Content-Type": "application/json" },
    });
  };
  const memory = new Map();
  const storage = {
    getItem: (key) => (memory.has(key) ? memory.get(key) : null),
    setItem: (key, value) => memory.set(key, String(value)),
    removeItem: (key) => memory.delete(key),
  };
  const location = {
    href: "https://spa.example/app/", origin: "https://spa.example", assigned: null,
    assign(url) { this.assigned = url; },
  };
  const history = { state: null, replaceState(_state, _title, url) { location.href = new URL(url, location.href).href; } };
  const config = {
    functionUrl: "https://fn.example/",
    providers: [{
      name: "acme", label: "Acme", callbackPath: "/app/callback/acme", clientId: "acme-client", authorizeUrl: "https://id.acme.example/authorize",
      userInfoUrl: null, scopes: ["profile", "email"], pkce: true, refresh: true, revoke: true, ...providerOverrides,
    }],
  };
  const changes = [];
  const client = createOAuthClient(config, {
    storage, fetch, location, history,
    onChange: (session, error) => changes.push({ session, error: error ? error.code : null }),
  });
  async function signedIn() {
    await client.signIn("acme");
    const state = new URL(location.assigned).searchParams.get("state");
    location.href = `https://spa.example/app/callback/acme?code=the-code&state=${state}`;
    return client.completeSignIn();
  }
  const waitFor = async (check) => {
    for (let i = 0; i < 100 && !check(); i += 1) await new Promise((done) => setTimeout(done, 20));
  };
  return { client, calls, changes, location, memory, signedIn, waitFor, OAuthError };
}
"""


def run(page, body: str):
    return page.evaluate(f"async () => {{ {HARNESS} {body} }}")


def test_tokens_are_refreshed_before_they_expire_and_rotated(flow, page):
    flow.open_site()

    result = run(
        page,
        """
        const h = await harness({
          "/token": [
            { body: { access_token: "at-1", token_type: "bearer", expires_in: 1, refresh_token: "rt-1" } },
            { body: { access_token: "at-2", token_type: "bearer", expires_in: 3600, refresh_token: "rt-2" } },
          ],
          "/revoke": [{ body: { revoked: true } }],
        });
        const session = await h.signedIn();
        // expires_in 1: refreshed in the background at half its lifetime.
        await h.waitFor(() => h.changes.length > 0);
        const token = await h.client.getAccessToken();
        const signOut = await h.client.signOut();
        return { session, calls: h.calls, changes: h.changes, token, signOut, href: h.location.href,
                 stored: [...h.memory.keys()] };
        """,
    )

    exchange, refresh, revoke = result["calls"]
    assert exchange["url"] == "https://fn.example/token"
    assert exchange["body"]["provider"] == "acme"
    assert exchange["body"]["code"] == "the-code"
    assert exchange["body"]["redirect_uri"] == "https://spa.example/app/callback/acme"
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", exchange["body"]["code_verifier"])
    assert refresh["body"] == {"provider": "acme", "grant_type": "refresh_token", "refresh_token": "rt-1"}
    assert revoke["body"] == {"provider": "acme", "token": "at-2", "refresh_token": "rt-2"}, "sign-out revokes both"
    assert result["session"]["canRefresh"] is True
    assert "accessToken" not in result["session"], "sessions never carry the token"
    assert result["changes"][0]["error"] is None
    assert result["changes"][0]["session"]["expiresAt"] > result["session"]["expiresAt"]
    assert result["token"] == "at-2"
    assert result["signOut"] == {"revoked": True, "error": None}
    assert result["href"] == "https://spa.example/app/", "back where the sign-in started, without the answer"
    assert result["stored"] == []


def test_a_failed_refresh_signs_out_and_says_why(flow, page):
    flow.open_site()

    result = run(
        page,
        """
        const h = await harness({
          "/token": [
            { body: { access_token: "at-1", expires_in: 1, refresh_token: "rt-1" } },
            { status: 400, body: { error: "invalid_grant", error_description: "The refresh token is invalid." } },
          ],
        });
        await h.signedIn();
        await h.waitFor(() => h.changes.length > 0);
        let after;
        try { await h.client.getAccessToken(); } catch (error) { after = error.code; }
        return { changes: h.changes, session: h.client.session, after };
        """,
    )

    assert result["changes"] == [{"session": None, "error": "invalid_grant"}]
    assert result["session"] is None
    assert result["after"] == "not_signed_in"


def test_sign_out_forgets_the_token_even_when_revoking_fails(flow, page):
    flow.open_site()

    result = run(
        page,
        """
        const h = await harness(
          { "/token": [{ body: { access_token: "at-1", token_type: "bearer" } }], "/revoke": [{ reject: true }] },
          { refresh: false },
        );
        await h.signedIn();
        const { revoked, error } = await h.client.signOut();
        let after;
        try { await h.client.getAccessToken(); } catch (e) { after = e.code; }
        return { revoked, code: error.code, isOAuthError: error instanceof h.OAuthError, message: error.message,
                 session: h.client.session, after };
        """,
    )

    assert result["revoked"] is False
    assert result["code"] == "network_error"
    assert result["isOAuthError"] is True
    assert "could not be reached" in result["message"]
    assert result["session"] is None
    assert result["after"] == "not_signed_in"


def test_function_errors_become_typed_errors_with_a_readable_message(flow, page):
    flow.open_site()

    result = run(
        page,
        """
        const h = await harness({
          "/token": [{ status: 504, body: { error: "provider_timeout", error_description: "GitHub did not answer in 5 s." } }],
        });
        try {
          await h.signedIn();
          return { thrown: false };
        } catch (error) {
          return { thrown: true, name: error.name, code: error.code, status: error.status, message: error.message,
                   description: error.description, isOAuthError: error instanceof h.OAuthError,
                   session: h.client.session, stored: [...h.memory.keys()] };
        }
        """,
    )

    assert result == {
        "thrown": True,
        "name": "OAuthError",
        "code": "provider_timeout",
        "status": 504,
        "message": "The sign-in provider took too long to answer. Please try again.",
        "description": "GitHub did not answer in 5 s.",
        "isOAuthError": True,
        "session": None,
        "stored": [],
    }
