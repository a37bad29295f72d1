// oauth.js: browser side of oauth-exchange. A dependency-free ES module any
// single-page app can copy.
//
// The SPA never sees a client secret: it sends the user to the provider with
// a single-use `state` and a PKCE (RFC 7636, S256) challenge, then hands the
// returned `code` to the exchange function, which adds the secret and returns
// the access token. The token lives in memory only: never in storage, never
// in the URL.
//
//   import { createOAuthClient, OAuthError } from "./oauth.js";
//   import config from "./config.js";
//
//   const client = createOAuthClient(config);
//   try {
//     const session = await client.completeSignIn(); // null unless this is the callback
//   } catch (error) {
//     if (error instanceof OAuthError) show(error.code, error.message);
//   }
//   button.onclick = () => client.signIn("github");  // navigates to the provider
//   const profile = await client.fetchUserInfo();     // GET userInfoUrl with the token
//   const token = await client.getAccessToken();       // for your own API calls
//   const { revoked, error } = await client.signOut(); // forgets the token even if revoking fails
//
// A session is { provider, tokenType, scope, expiresAt (ms epoch or null), canRefresh }:
// safe to show or keep, it holds no token. When the provider is configured with
// `refresh: true` and answers with expires_in and a refresh_token, the token is
// refreshed in the background shortly before it expires (see `onChange`).
//
// `config` is the generated config.js:
//   { functionUrl,
//     providers: [{ name, label, callbackPath, clientId, authorizeUrl, userInfoUrl, scopes, pkce, refresh, revoke,
//                   issuer, requireIss }] }
//
// Mix-up defence (RFC 9700 §4.4, RFC 9207). Each provider has its own callbackPath (/callback/<name>),
// and a callback is completed only when the path it landed on, its `state` and the attempt this tab
// started all name the same provider; when it carries `iss`, that must be the provider's `issuer`, and a
// provider with `requireIss` must send one. So a code one provider issued is never sent to another
// provider's token endpoint, even when a malicious provider forwards the user to an honest one with
// this tab's state and PKCE challenge. After the callback the address bar shows the page the sign-in
// started from, without the provider's answer.
//
// Session mode (config.mode === "session", see createSessionClient): the same calls, but the server keeps
// the tokens and the browser only an HttpOnly cookie; `createClient(config)` picks the client config.js asks for.
//   const client = createClient(config);
//   await client.getSession();                 // survives reloads and tabs in session mode
//   const response = await client.fetch("/user"); // the provider's API (through /api/proxy in session mode)

const PENDING_KEY = "oauth-exchange:pending-sign-in";
const CALLBACK_PARAMS = ["code", "state", "error", "error_description", "error_uri", "iss"];
// 32 random bytes: 256 bits for `state`, and a 43-character PKCE verifier.
const RANDOM_BYTES = 32;
// Refresh this long before the token expires (or at half its lifetime if shorter).
const REFRESH_LEAD_SECONDS = 60;
// setTimeout's largest delay; longer-lived tokens are refreshed on demand.
const MAX_TIMER_MS = 2 ** 31 - 1;

const MESSAGES = {
  // Returned by the exchange function (see docs/http-api.md, "Errors").
  invalid_request: "The sign-in service rejected the request as invalid.",
  unsupported_grant_type: "The sign-in service does not allow this kind of token request.",
  invalid_grant: "The sign-in code has expired or was already used. Please sign in again.",
  origin_not_allowed: "This site is not allowed to use the sign-in service (its origin is not on the allowed list).",
  not_found: "The sign-in service does not know this address; check functionUrl in config.js.",
  method_not_allowed: "The sign-in service refused the request method.",
  request_too_large: "The sign-in request was too large.",
  unsupported_media_type: "The sign-in service only accepts JSON requests.",
  server_misconfigured: "The sign-in service is misconfigured: the provider rejected its client credentials.",
  provider_error: "The sign-in provider failed to answer properly. Please try again later.",
  secret_unavailable: "The sign-in service cannot read its client secret right now. Please try again later.",
  provider_timeout: "The sign-in provider took too long to answer. Please try again.",
  server_error: "The sign-in service hit an unexpected error. Please try again later.",
  unsupported_operation: "This provider does not support that operation.",
  // Raised here, in the browser.
  state_mismatch: "The sign-in response did not match the sign-in started in this tab, so it was rejected. Please sign in again.",
  access_denied: "Sign-in was cancelled: access was not granted at the provider.",
  authorization_error: "The provider could not complete the sign-in.",
  invalid_callback: "The provider's answer had no authorization code.",
  wrong_callback: "The sign-in answer came back to the address of another provider than the one this sign-in was started with, so it was rejected. Please sign in again.",
  issuer_mismatch: "The sign-in answer names another issuer than the provider this sign-in was started with, so it was rejected. Please sign in again.",
  issuer_missing: "The sign-in answer does not say which provider issued it, although this provider always does, so it was rejected. Please sign in again.",
  no_pending_sign_in: "There is no sign-in in progress in this tab (it was already completed or started elsewhere). Please sign in again.",
  network_error: "The sign-in service could not be reached. Check your connection and try again.",
  bad_response: "The sign-in service sent an answer that could not be understood.",
  unknown_provider: "This provider is not configured.",
  crypto_unavailable: "This browser cannot sign in here: secure random numbers and SHA-256 need HTTPS (or localhost).",
  not_signed_in: "You are not signed in.",
  csrf_rejected: "The sign-in service refused a request that did not come from this site's own pages.",
  path_not_allowed: "This site may not call that part of the provider's API.",
  session_unavailable: "Sessions cannot be read or stored right now. Please try again later.",
  session_expired: "Your session has expired. Please sign in again.",
  userinfo_failed: "Your profile could not be loaded from the provider.",
};

// Codes both sides use for different things. `access_denied` from the function (HTTP 403) means
// its access policy refused this account (the token was revoked, never returned); raised here
// (status 0) it means the user cancelled at the provider's consent page (RFC 6749 §4.1.2.1).
const FUNCTION_MESSAGES = {
  access_denied: "This account is not allowed to sign in to this site. Ask the site's owner for access, or sign in with another account.",
};

/** A failed OAuth step. `code` is machine-readable, `message` is for people. */
export class OAuthError extends Error {
  /**
   * @param {string} code one of the keys of MESSAGES (or a code the function added later)
   * @param {{description?: string, status?: number, cause?: unknown}} [details]
   *   description: the function's or provider's own `error_description`;
   *   status: the HTTP status that carried the error (0 when raised in the browser);
   *   `access_denied` with status 403 is the function's access policy, with 0 a cancelled consent.
   */
  constructor(code, { description = "", status = 0, cause } = {}) {
    const message = (status !== 0 ? FUNCTION_MESSAGES[code] : undefined) ?? MESSAGES[code];
    super(message ?? (description || `Sign-in failed (${code}).`), cause === undefined ? undefined : { cause });
    this.name = "OAuthError";
    this.code = code;
    this.description = description;
    this.status = status;
  }
}

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  if (!globalThis.crypto?.getRandomValues) throw new OAuthError("crypto_unavailable");
  return base64url(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)));
}

/**
 * The PKCE S256 transform: BASE64URL(SHA-256(ASCII(verifier))), without padding.
 * @param {string} verifier 43-128 characters of [A-Za-z0-9-._~]
 * @returns {Promise<string>}
 */
export async function computeChallenge(verifier) {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) {
    throw new TypeError("a PKCE verifier is 43-128 characters of A-Z a-z 0-9 - . _ ~");
  }
  if (!globalThis.crypto?.subtle) throw new OAuthError("crypto_unavailable");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/**
 * Start a sign-in (both clients): a fresh state and PKCE verifier wait in this
 * tab's storage, and the browser goes to the provider's authorize page.
 */
async function startSignIn(provider, { storage, location }) {
  const state = randomString();
  const verifier = provider.pkce === false ? null : randomString();
  const redirectUri = location.origin + provider.callbackPath;
  const url = new URL(provider.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  if (provider.scopes?.length) url.searchParams.set("scope", provider.scopes.join(" "));
  url.searchParams.set("state", state);
  if (verifier !== null) {
    url.searchParams.set("code_challenge", await computeChallenge(verifier));
    url.searchParams.set("code_challenge_method", "S256");
  }
  // Where the user comes back to once the callback is handled.
  const here = new URL(location.href);
  const returnTo = here.pathname + here.search + here.hash;
  // One attempt at a time per tab: a new attempt replaces (and so invalidates) the previous one.
  storage.setItem(PENDING_KEY, JSON.stringify({ provider: provider.name, state, verifier, redirectUri, returnTo }));
  location.assign(url.toString());
}

/** Whether the URL carries a provider's answer (code, state, error or iss). */
function isCallbackUrl(location) {
  const params = new URL(location.href).searchParams;
  return params.has("code") || params.has("state") || params.has("error") || params.has("iss");
}

/** A same-origin path to come back to, or "/" (never another origin's URL). */
function safeReturnPath(value) {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") && !value.includes("\\")
    ? value
    : "/";
}

/**
 * RFC 9207: a present `iss` must be the provider's issuer (or, for a provider without one, must not
 * be another configured provider's); a provider that always sends `iss` must have sent it.
 */
function checkIssuer(providers, provider, iss) {
  if (iss === null) {
    if (provider.requireIss) throw new OAuthError("issuer_missing");
    return;
  }
  if (provider.issuer) {
    if (iss !== provider.issuer) throw new OAuthError("issuer_mismatch");
  } else if (providers.some((p) => p.issuer && p.issuer === iss)) {
    throw new OAuthError("issuer_mismatch");
  }
}

/**
 * The callback's code as the request that redeems it ({provider, code,
 * redirect_uri, code_verifier?}), after every check against the attempt this
 * tab started; null when the URL is not a callback. Both clients redeem
 * codes only through this, so both get the mix-up defence: the path it landed
 * on, its `state` and the pending attempt must name one provider.
 * @throws {OAuthError}
 */
function takeCallback(providers, { storage, location, history }) {
  if (!isCallbackUrl(location)) return null;
  const url = new URL(location.href);
  const params = new URLSearchParams(url.search);
  const landedAt = url.origin + url.pathname;
  const stored = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  let pending = null;
  try {
    pending = stored === null ? null : JSON.parse(stored);
  } catch {
    pending = null;
  }
  // Before anything can fail: the code must not stay in the address bar, history or Referer.
  for (const name of CALLBACK_PARAMS) url.searchParams.delete(name);
  const leftover = url.search + url.hash;
  history.replaceState(history.state, "", pending ? safeReturnPath(pending.returnTo) : url.pathname + leftover);

  // No state at all is a forged callback too (login CSRF), whatever else it carries.
  if (!params.has("state")) throw new OAuthError("state_mismatch");
  if (!pending || typeof pending.state !== "string") throw new OAuthError("no_pending_sign_in");
  // Exact match, checked before the provider's error so a forged answer cannot even show a message.
  if (params.get("state") !== pending.state) throw new OAuthError("state_mismatch");
  // The path it came back to must be the callback path of the provider this attempt went to.
  const provider = providers.find((p) => p.callbackPath === new URL(landedAt).pathname) ?? null;
  if (!provider || provider.name !== pending.provider || landedAt !== pending.redirectUri) {
    throw new OAuthError("wrong_callback");
  }
  checkIssuer(providers, provider, params.get("iss"));

  const error = params.get("error");
  if (error !== null) {
    const description = params.get("error_description") ?? error;
    throw new OAuthError(error === "access_denied" ? "access_denied" : "authorization_error", { description });
  }
  const code = params.get("code");
  if (!code) throw new OAuthError("invalid_callback");

  const request = { provider: provider.name, code, redirect_uri: pending.redirectUri };
  if (pending.verifier) request.code_verifier = pending.verifier;
  return request;
}

/**
 * @param {object} config the generated config.js (see the top of this file)
 * @param {object} [options] browser objects, replaceable for tests or other hosts
 * @param {Storage} [options.storage] where a sign-in attempt waits for its callback
 * @param {typeof fetch} [options.fetch]
 * @param {Location} [options.location]
 * @param {History} [options.history]
 * @param {(session: object|null, error?: OAuthError) => void} [options.onChange]
 *   called whenever the session changes without a direct call: a background
 *   refresh succeeded (new session) or failed (null and the error).
 */
export function createOAuthClient(
  config,
  {
    storage = globalThis.sessionStorage,
    fetch = globalThis.fetch.bind(globalThis),
    location = globalThis.location,
    history = globalThis.history,
    onChange = () => {},
  } = {},
) {
  if (!config || typeof config.functionUrl !== "string" || !Array.isArray(config.providers)) {
    throw new TypeError("config needs functionUrl and providers: use the generated config.js");
  }
  const functionUrl = config.functionUrl.replace(/\/+$/, "");

  // The only copies of the tokens: these closure variables.
  let accessToken = null;
  let refreshToken = null;
  // What the app may see and keep: no token in it.
  let session = null;
  let refreshTimer = null;
  let refreshing = null;
  // Bumped by forget(), so an exchange or refresh finishing after sign-out is dropped.
  let generation = 0;

  function providerConfig(name) {
    const provider = config.providers.find((p) => p.name === name);
    if (!provider) throw new OAuthError("unknown_provider", { description: `No provider named "${name}".` });
    return provider;
  }

  async function callFunction(path, body) {
    let response;
    try {
      response = await fetch(`${functionUrl}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (cause) {
      // fetch rejects only when no HTTP answer could be read: down, offline or blocked by CORS.
      throw new OAuthError("network_error", { cause });
    }
    let answer;
    try {
      answer = await response.json();
    } catch (cause) {
      throw new OAuthError(response.ok ? "bad_response" : "server_error", { status: response.status, cause });
    }
    if (!response.ok || typeof answer?.error === "string") {
      const code = typeof answer?.error === "string" ? answer.error : "server_error";
      throw new OAuthError(code, { description: String(answer?.error_description ?? ""), status: response.status });
    }
    return answer;
  }

  function clearRefreshTimer() {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  function forget() {
    clearRefreshTimer();
    generation += 1;
    accessToken = null;
    refreshToken = null;
    session = null;
    refreshing = null;
  }

  function accept(providerName, answer, startedIn) {
    if (startedIn !== generation) throw new OAuthError("not_signed_in", { description: "Signed out meanwhile." });
    if (typeof answer.access_token !== "string" || !answer.access_token) {
      throw new OAuthError("bad_response", { description: "The answer had no access_token." });
    }
    const provider = providerConfig(providerName);
    const expiresIn = Number(answer.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null;
    clearRefreshTimer();
    accessToken = answer.access_token;
    if (!provider.refresh) refreshToken = null;
    else if (typeof answer.refresh_token === "string" && answer.refresh_token) refreshToken = answer.refresh_token;
    // else: a refresh answer without a new refresh token (no rotation); keep the old one.
    session = Object.freeze({
      provider: providerName,
      tokenType: answer.token_type ?? "bearer",
      scope: answer.scope ?? "",
      expiresAt: lifetime === null ? null : Date.now() + lifetime * 1000,
      canRefresh: refreshToken !== null,
    });
    if (refreshToken !== null && lifetime !== null) {
      const lead = Math.min(REFRESH_LEAD_SECONDS, lifetime / 2);
      const delay = Math.min((lifetime - lead) * 1000, MAX_TIMER_MS);
      refreshTimer = setTimeout(() => {
        refresh().then(
          (renewed) => onChange(renewed),
          (error) => onChange(null, error),
        );
      }, delay);
    }
    return session;
  }

  /**
   * Start signing in: remember a fresh state and PKCE verifier in this tab's
   * storage, then navigate to the provider's authorize page.
   * @param {string} providerName a `name` from config.providers
   */
  async function signIn(providerName) {
    return startSignIn(providerConfig(providerName), { storage, location });
  }

  /** Whether the current URL carries a provider's answer (code, state, error or iss). */
  function isCallback() {
    return isCallbackUrl(location);
  }

  /**
   * On the callback: take the provider's answer out of the address bar,
   * check it against the attempt this tab started (then forget that attempt
   * whatever the outcome) and exchange the code at the function.
   * @returns {Promise<object|null>} the session, or null when the URL is not a callback
   * @throws {OAuthError}
   */
  async function completeSignIn() {
    const request = takeCallback(config.providers, { storage, location, history });
    if (request === null) return null;
    forget();
    const startedIn = generation;
    return accept(request.provider, await callFunction("/token", request), startedIn);
  }

  /**
   * Get a new access token with the refresh token (providers with `refresh: true`).
   * On failure the session is forgotten and the error thrown.
   */
  function refresh() {
    if (refreshing) return refreshing;
    if (!session || refreshToken === null) return Promise.reject(new OAuthError("not_signed_in"));
    const provider = session.provider;
    const startedIn = generation;
    refreshing = (async () => {
      try {
        const answer = await callFunction("/token", { provider, grant_type: "refresh_token", refresh_token: refreshToken });
        return accept(provider, answer, startedIn);
      } catch (error) {
        if (startedIn === generation) forget();
        throw error;
      } finally {
        if (startedIn === generation) refreshing = null;
      }
    })();
    return refreshing;
  }

  /** The current access token, refreshed first if it has expired. */
  async function getAccessToken() {
    if (!session) throw new OAuthError("not_signed_in");
    if (session.expiresAt !== null && Date.now() >= session.expiresAt) {
      if (!session.canRefresh) {
        forget();
        throw new OAuthError("session_expired");
      }
      await refresh();
    }
    return accessToken;
  }

  /** The signed-in user's profile from the provider's user API (`userInfoUrl`). */
  async function fetchUserInfo() {
    if (!session) throw new OAuthError("not_signed_in");
    const provider = providerConfig(session.provider);
    if (!provider.userInfoUrl) throw new OAuthError("unsupported_operation", { description: "No userInfoUrl configured." });
    const token = await getAccessToken();
    let response;
    try {
      response = await fetch(provider.userInfoUrl, {
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (cause) {
      throw new OAuthError("userinfo_failed", { description: "The provider's user API could not be reached.", cause });
    }
    if (!response.ok) throw new OAuthError("userinfo_failed", { status: response.status, description: `HTTP ${response.status}` });
    try {
      return await response.json();
    } catch (cause) {
      throw new OAuthError("userinfo_failed", { description: "The user API did not answer JSON.", cause });
    }
  }

  /**
   * Revoke the access token, and the refresh token when there is one, at the
   * provider (through the function), then forget them. The session is
   * forgotten even when revocation fails.
   * @returns {Promise<{revoked: boolean, error: OAuthError|null}>}
   *   revoked false with error null: the provider has no revocation endpoint.
   */
  async function signOut() {
    // A refresh under way would replace the token revoked here with a new one nobody revokes: let it land.
    if (refreshing) await refreshing.catch(() => {});
    if (!session) return { revoked: false, error: null };
    const { provider } = session;
    const request = { provider, token: accessToken };
    if (refreshToken !== null) request.refresh_token = refreshToken;
    forget();
    if (!providerConfig(provider).revoke) return { revoked: false, error: null };
    try {
      const answer = await callFunction("/revoke", request);
      return { revoked: answer.revoked === true, error: null };
    } catch (error) {
      return { revoked: false, error };
    }
  }

  /** The current session (null when signed out); in this client it lives in this page only. */
  async function getSession() {
    return session;
  }

  /**
   * Call the provider's API (`apiBaseUrl` + `path`) with the access token;
   * the answer is fetch's Response.
   */
  async function apiFetch(path, init = {}) {
    if (!session) throw new OAuthError("not_signed_in");
    const { apiBaseUrl } = providerConfig(session.provider);
    if (!apiBaseUrl) throw new OAuthError("unsupported_operation", { description: "No apiBaseUrl configured." });
    const token = await getAccessToken();
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(apiBaseUrl + path, { cache: "no-store", ...init, headers, credentials: "omit", referrerPolicy: "no-referrer" });
  }

  return Object.freeze({
    mode: "browser",
    providers: Object.freeze(config.providers.map((p) => Object.freeze({ ...p }))),
    get session() {
      return session;
    },
    signIn,
    isCallback,
    completeSignIn,
    getSession,
    fetch: apiFetch,
    refresh,
    getAccessToken,
    fetchUserInfo,
    signOut,
  });
}

/**
 * The hex SHA-256 of a request body, as origin access control signs it.
 * @param {Uint8Array} bytes
 */
export async function sha256Hex(bytes) {
  if (!globalThis.crypto?.subtle) throw new OAuthError("crypto_unavailable");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function bodyBytes(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("in session mode a body is a string or bytes: its SHA-256 is sent with it");
}

/**
 * Session mode (config.mode === "session"): the same shape as the browser
 * client, but the tokens stay on the server. The browser holds only an
 * HttpOnly cookie that page script cannot read; the session survives reloads
 * and other tabs; the provider's API is reached through the site's own
 * `/api/proxy/<provider>/...`.
 *
 * A session is { provider, scope, expiresAt (ms epoch: when it ends unless used again), user }.
 * @param {object} config the generated config.js, with `session: {apiPath, csrfHeader, exposeAccessToken}`
 * @param {object} [options] as for createOAuthClient
 */
export function createSessionClient(
  config,
  {
    storage = globalThis.sessionStorage,
    fetch = globalThis.fetch.bind(globalThis),
    location = globalThis.location,
    history = globalThis.history,
    onChange = () => {},
  } = {},
) {
  if (!config || !config.session || typeof config.session.apiPath !== "string" || !Array.isArray(config.providers)) {
    throw new TypeError("config needs session.apiPath and providers: use the generated config.js of a session-mode stack");
  }
  const { apiPath, csrfHeader, exposeAccessToken } = config.session;
  let session = null;

  function providerConfig(name) {
    const provider = config.providers.find((p) => p.name === name);
    if (!provider) throw new OAuthError("unknown_provider", { description: `No provider named "${name}".` });
    return provider;
  }

  /** One request to the site's own /api/: the CSRF header, the cookie, the body's SHA-256 for OAC. */
  async function send(method, path, { body, headers: extra, signal } = {}) {
    const headers = new Headers(extra);
    headers.set(csrfHeader, "1");
    const bytes = bodyBytes(body);
    if (bytes !== null || method === "POST" || method === "PUT") {
      headers.set("x-amz-content-sha256", await sha256Hex(bytes ?? new Uint8Array()));
    }
    try {
      return await fetch(`${apiPath}${path}`, {
        method,
        headers,
        body: bytes ?? undefined,
        signal,
        credentials: "same-origin",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (cause) {
      throw new OAuthError("network_error", { cause });
    }
  }

  async function call(method, path, payload) {
    const init = payload === undefined ? {} : { body: JSON.stringify(payload), headers: { "Content-Type": "application/json" } };
    const response = await send(method, path, init);
    let answer;
    try {
      answer = await response.json();
    } catch (cause) {
      throw new OAuthError(response.ok ? "bad_response" : "server_error", { status: response.status, cause });
    }
    if (!response.ok || typeof answer?.error === "string") {
      const code = typeof answer?.error === "string" ? answer.error : "server_error";
      if (code === "not_signed_in") session = null;
      throw new OAuthError(code, { description: String(answer?.error_description ?? ""), status: response.status });
    }
    return answer;
  }

  function accept(view) {
    session = Object.freeze({
      provider: view.provider,
      scope: view.scope ?? "",
      expiresAt: typeof view.expiresAt === "number" ? view.expiresAt : null,
      user: view.user ?? null,
    });
    return session;
  }

  async function signIn(providerName) {
    return startSignIn(providerConfig(providerName), { storage, location });
  }

  function isCallback() {
    return isCallbackUrl(location);
  }

  /** On the callback: the same checks as the browser client, then the server redeems the code and keeps the tokens. */
  async function completeSignIn() {
    const request = takeCallback(config.providers, { storage, location, history });
    if (request === null) return null;
    session = null;
    return accept(await call("POST", "/session", request));
  }

  /** The server's session for this browser (any tab), or null when there is none. */
  async function getSession() {
    try {
      return accept(await call("GET", "/session"));
    } catch (error) {
      if (error instanceof OAuthError && error.code === "not_signed_in") return null;
      throw error;
    }
  }

  async function currentProvider() {
    const current = session ?? (await getSession());
    if (!current) throw new OAuthError("not_signed_in");
    return current.provider;
  }

  /**
   * Call the provider's API through the site's proxy: `path` is relative to
   * the provider's API (e.g. "/user"); the server adds the token, refreshing
   * it first when due. Only the stack's `apiPaths` pass. The answer is fetch's Response.
   */
  async function apiFetch(path, init = {}) {
    const provider = await currentProvider();
    const response = await send(init.method ?? "GET", `/proxy/${provider}${path}`, init);
    if (response.status === 401 && response.headers.get("content-type")?.startsWith("application/json")) {
      const answer = await response.clone().json().catch(() => null);
      if (answer?.error === "not_signed_in") {
        session = null;
        onChange(null, new OAuthError("not_signed_in"));
      }
    }
    return response;
  }

  /** The signed-in user's profile, fetched through the proxy from the provider's user-info URL. */
  async function fetchUserInfo() {
    const provider = providerConfig(await currentProvider());
    const base = provider.apiBaseUrl;
    if (!provider.userInfoUrl || !base || !provider.userInfoUrl.startsWith(`${base}/`)) {
      if (session?.user) return session.user;
      throw new OAuthError("unsupported_operation", { description: "The user-info URL is not under apiBaseUrl." });
    }
    const response = await apiFetch(provider.userInfoUrl.slice(base.length), { headers: { Accept: "application/json" } });
    if (!response.ok) throw new OAuthError("userinfo_failed", { status: response.status, description: `HTTP ${response.status}` });
    try {
      return await response.json();
    } catch (cause) {
      throw new OAuthError("userinfo_failed", { description: "The user API did not answer JSON.", cause });
    }
  }

  /** Only for stacks with `exposeAccessToken: true`: the current short-lived access token. */
  async function getAccessToken() {
    if (!exposeAccessToken) {
      throw new OAuthError("unsupported_operation", { description: "This site keeps the access token on the server." });
    }
    return (await call("GET", "/session/token")).access_token;
  }

  /**
   * End the session: the server revokes the tokens at the provider, deletes
   * the session and clears the cookie (in every tab).
   * @returns {Promise<{revoked: boolean, error: OAuthError|null}>}
   */
  async function signOut() {
    session = null;
    try {
      const answer = await call("DELETE", "/session");
      return { revoked: answer.revoked === true, error: null };
    } catch (error) {
      if (error instanceof OAuthError && error.code === "not_signed_in") return { revoked: false, error: null };
      return { revoked: false, error };
    }
  }

  return Object.freeze({
    mode: "session",
    providers: Object.freeze(config.providers.map((p) => Object.freeze({ ...p }))),
    get session() {
      return session;
    },
    signIn,
    isCallback,
    completeSignIn,
    getSession,
    fetch: apiFetch,
    getAccessToken,
    fetchUserInfo,
    signOut,
  });
}

/** The client config.js asks for: createSessionClient in session mode, createOAuthClient otherwise. */
export function createClient(config, options) {
  return config?.mode === "session" ? createSessionClient(config, options) : createOAuthClient(config, options);
}
