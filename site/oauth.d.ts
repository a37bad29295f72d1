// Type declarations for oauth.js, the browser side of oauth-exchange.
// They describe oauth.js exactly; tests/typescript checks them with tsc and
// against the module itself.

/** One provider as config.js lists it (nothing in it is secret). */
export interface ProviderConfig {
  /** The provider's name in the stack config, e.g. "github". */
  readonly name: string;
  /** What a sign-in button says, e.g. "GitHub". */
  readonly label?: string;
  /**
   * The path on this site this provider redirects back to, e.g. "/callback/github":
   * one per provider, so a code can only come back to the provider it was issued for.
   */
  readonly callbackPath: string;
  /** The OAuth app's (public) client id. */
  readonly clientId: string;
  /** Where signIn() sends the user. */
  readonly authorizeUrl: string;
  /** The provider's user API, read by fetchUserInfo(); null when there is none. */
  readonly userInfoUrl?: string | null;
  /** The scopes to ask for. */
  readonly scopes?: readonly string[];
  /** false turns PKCE off for this provider; anything else sends an S256 challenge. */
  readonly pkce?: boolean;
  /** true when the provider hands out refresh tokens and the function accepts them. */
  readonly refresh?: boolean;
  /** true when the function can revoke this provider's tokens (POST /revoke). */
  readonly revoke?: boolean;
  /** The provider's API, which fetch() calls (through /api/proxy in session mode); null when there is none. */
  readonly apiBaseUrl?: string | null;
  /** The `iss` the provider sends in its callbacks (RFC 9207); a present `iss` must equal it. */
  readonly issuer?: string | null;
  /** true when the provider always sends `iss`: a callback without one is refused. */
  readonly requireIss?: boolean;
}

/** The generated config.js's default export (or the same object written by hand). */
export interface OAuthConfig {
  /** The exchange function's URL; a trailing slash is ignored. */
  readonly functionUrl: string;
  readonly providers: readonly ProviderConfig[];
}

/** What the app may see and keep about a sign-in: it holds no token. */
export interface OAuthSession {
  readonly provider: string;
  readonly tokenType: string;
  readonly scope: string;
  /** When the access token expires, in milliseconds since the epoch; null when it does not. */
  readonly expiresAt: number | null;
  /** Whether refresh() can renew the access token. */
  readonly canRefresh: boolean;
}

/** config.js of a session-mode stack: the function is on the site's own origin and keeps the tokens. */
export interface SessionModeConfig extends OAuthConfig {
  readonly mode: "session";
  readonly session: {
    /** Where the function is served on this site, "/api". */
    readonly apiPath: string;
    /** The header every /api/ request carries (CSRF: other origins cannot send it). */
    readonly csrfHeader: string;
    /** Whether getAccessToken() may read the access token (GET /api/session/token). */
    readonly exposeAccessToken: boolean;
  };
}

/** A session-mode session, as the server describes it: it holds no token. */
export interface SessionView {
  readonly provider: string;
  readonly scope: string;
  /** When the session ends unless used again, in milliseconds since the epoch. */
  readonly expiresAt: number | null;
  /** Who signed in, from the provider's user-info answer (a few fields); null when unknown. */
  readonly user: Readonly<Record<string, string | number>> | null;
}

/** Error codes the exchange function returns (see docs/http-api.md). */
export type FunctionErrorCode =
  | "invalid_request"
  | "unsupported_grant_type"
  | "invalid_grant"
  | "origin_not_allowed"
  | "access_denied"
  | "not_signed_in"
  | "csrf_rejected"
  | "path_not_allowed"
  | "session_unavailable"
  | "not_found"
  | "method_not_allowed"
  | "request_too_large"
  | "unsupported_media_type"
  | "server_misconfigured"
  | "provider_error"
  | "secret_unavailable"
  | "provider_timeout"
  | "server_error"
  | "unsupported_operation";

/** Error codes raised in the browser, by oauth.js itself. */
export type ClientErrorCode =
  | "state_mismatch"
  | "wrong_callback"
  | "issuer_mismatch"
  | "issuer_missing"
  | "authorization_error"
  | "invalid_callback"
  | "no_pending_sign_in"
  | "network_error"
  | "bad_response"
  | "unknown_provider"
  | "crypto_unavailable"
  | "session_expired"
  | "userinfo_failed";

export type OAuthErrorCode = FunctionErrorCode | ClientErrorCode;

export interface OAuthErrorDetails {
  /** The function's or provider's own error_description. */
  description?: string;
  /** The HTTP status that carried the error (0 when there was none). */
  status?: number;
  cause?: unknown;
}

/** A failed OAuth step: `code` is for programs, `message` for people. */
export class OAuthError extends Error {
  constructor(code: OAuthErrorCode, details?: OAuthErrorDetails);
  readonly name: "OAuthError";
  readonly code: OAuthErrorCode;
  /** The function's or provider's own words, "" when there were none. */
  readonly description: string;
  /** The HTTP status that carried the error, 0 when there was none. */
  readonly status: number;
}

export interface SignOutResult {
  /** true when the provider revoked the token. */
  readonly revoked: boolean;
  /** Why revocation failed; null when it succeeded or the provider has no revocation endpoint. */
  readonly error: OAuthError | null;
}

/** Browser objects the client uses; replaceable for tests or other hosts. */
export interface OAuthClientOptions {
  /** Where a sign-in attempt waits for its callback (default: sessionStorage). */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  fetch?: typeof fetch;
  location?: Pick<Location, "origin" | "href" | "assign">;
  history?: Pick<History, "state" | "replaceState">;
  /**
   * Called when the session changes without a direct call: a background
   * refresh succeeded (the new session) or failed (null and the error).
   */
  onChange?: (session: OAuthSession | null, error?: OAuthError) => void;
}

export interface OAuthClient {
  /** Which client this is: the tokens are in this page. */
  readonly mode: "browser";
  /** The configured providers, frozen copies of config.providers. */
  readonly providers: readonly ProviderConfig[];
  /** The current session, or null when signed out. */
  readonly session: OAuthSession | null;
  /** Remember a fresh state and PKCE verifier in this tab, then navigate to the provider. */
  signIn(providerName: string): Promise<void>;
  /** Whether the current URL carries a provider's answer (code, state or error). */
  isCallback(): boolean;
  /** On the callback: check it and exchange the code; null when the URL is not a callback. */
  completeSignIn(): Promise<OAuthSession | null>;
  /** The current session (in this client it lives in this page only, so a reload loses it). */
  getSession(): Promise<OAuthSession | null>;
  /** Call the provider's API (apiBaseUrl + path) with the access token: fetch's Response. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Renew the access token with the refresh token; on failure the session is forgotten. */
  refresh(): Promise<OAuthSession>;
  /** The current access token, refreshed first if it has expired. */
  getAccessToken(): Promise<string>;
  /**
   * The signed-in user's profile from the provider's user API: its JSON as the
   * provider sends it (type it with your provider's shape, e.g. fetchUserInfo<GitHubUser>()).
   */
  fetchUserInfo<Profile = Record<string, unknown>>(): Promise<Profile>;
  /** Revoke the access token at the provider, then forget it (forgotten even if revoking fails). */
  signOut(): Promise<SignOutResult>;
}

/** Session mode's client: the same calls as OAuthClient, with the tokens on the server. */
export interface SessionClient {
  /** Which client this is: the browser holds only an HttpOnly cookie. */
  readonly mode: "session";
  readonly providers: readonly ProviderConfig[];
  /** The last session the server described, or null. */
  readonly session: SessionView | null;
  signIn(providerName: string): Promise<void>;
  isCallback(): boolean;
  /** On the callback: the same checks as OAuthClient; the server redeems the code and keeps the tokens. */
  completeSignIn(): Promise<SessionView | null>;
  /** The server's session for this browser (survives reloads and other tabs), or null. */
  getSession(): Promise<SessionView | null>;
  /**
   * The provider's API through the site's proxy (path relative to apiBaseUrl, e.g. "/user"):
   * fetch's Response. A body must be a string or bytes (its SHA-256 is sent with it).
   */
  fetch(path: string, init?: Omit<RequestInit, "body"> & { body?: string | ArrayBuffer | ArrayBufferView | null }): Promise<Response>;
  /** Only with exposeAccessToken: the current short-lived access token; otherwise unsupported_operation. */
  getAccessToken(): Promise<string>;
  fetchUserInfo<Profile = Record<string, unknown>>(): Promise<Profile>;
  /** The server revokes both tokens, deletes the session and clears the cookie. */
  signOut(): Promise<SignOutResult>;
}

/** Build a client from config.js's object; throws TypeError when it lacks functionUrl or providers. */
export function createOAuthClient(config: OAuthConfig, options?: OAuthClientOptions): OAuthClient;

/** Build session mode's client; throws TypeError when config has no session section. */
export function createSessionClient(config: SessionModeConfig, options?: OAuthClientOptions): SessionClient;

/** The client config.js asks for: SessionClient in session mode, OAuthClient otherwise. */
export function createClient(config: SessionModeConfig, options?: OAuthClientOptions): SessionClient;
export function createClient(config: OAuthConfig, options?: OAuthClientOptions): OAuthClient | SessionClient;

/** The hex SHA-256 of a request body, as CloudFront's origin access control signs it. */
export function sha256Hex(bytes: Uint8Array): Promise<string>;

/** The PKCE S256 transform of a 43-128 character verifier: BASE64URL(SHA-256(verifier)). */
export function computeChallenge(verifier: string): Promise<string>;
