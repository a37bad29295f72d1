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

/** Error codes the exchange function returns (see docs/http-api.md). */
export type FunctionErrorCode =
  | "invalid_request"
  | "unsupported_grant_type"
  | "invalid_grant"
  | "origin_not_allowed"
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
  | "access_denied"
  | "authorization_error"
  | "invalid_callback"
  | "no_pending_sign_in"
  | "network_error"
  | "bad_response"
  | "unknown_provider"
  | "crypto_unavailable"
  | "not_signed_in"
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

/** Build a client from config.js's object; throws TypeError when it lacks functionUrl or providers. */
export function createOAuthClient(config: OAuthConfig, options?: OAuthClientOptions): OAuthClient;

/** The PKCE S256 transform of a 43-128 character verifier: BASE64URL(SHA-256(verifier)). */
export function computeChallenge(verifier: string): Promise<string>;
