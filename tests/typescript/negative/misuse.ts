// Each marked line misuses the client; tsc must reject exactly those lines,
// with the error code named in the marker. Were the declarations `any`, it would accept them all.
import { computeChallenge, createOAuthClient, createSessionClient, OAuthError, type OAuthConfig, type SessionView } from "@oauth-exchange/client";

declare const config: OAuthConfig;
const client = createOAuthClient(config);

// expect TS2741: a config needs functionUrl
createOAuthClient({ providers: [] });

// expect TS2345: a provider name is a string
void client.signIn(42);

// expect TS2367: no such error code
export const isTypo = (error: OAuthError) => error.code === "invalid_grnat";

// expect TS2345: OAuthError takes a known code
new OAuthError("made_up_code");

export async function leak() {
  const session = await client.completeSignIn();
  // expect TS2339: a session holds no token
  return session?.accessToken;
}

// expect TS2540: the session is read-only
client.session = null;

export async function wrongTypes() {
  // expect TS2322: the access token is a string
  const token: number = await client.getAccessToken();
  // expect TS2345: computeChallenge takes the verifier string
  await computeChallenge(new Uint8Array(32));
  // expect TS2339: signOut reports revoked and error, nothing else
  return [token, (await client.signOut()).token];
}

// expect TS2353: unknown options are refused
createOAuthClient(config, { storage: sessionStorage, redirectUri: "/" });

// expect TS2322: scopes are a list
export const bad: OAuthConfig = { functionUrl: "x", providers: [{ name: "a", callbackPath: "/callback/a", clientId: "b", authorizeUrl: "c", scopes: "read:user" }] };

// expect TS2741: every provider has its own callback path
export const noCallback: OAuthConfig = { functionUrl: "x", providers: [{ name: "a", clientId: "b", authorizeUrl: "c" }] };

// expect TS2353: a session view holds no token
export const leaky: SessionView = { provider: "github", scope: "", expiresAt: null, user: null, accessToken: "x" };

// expect TS2739: session mode's client needs the session section of config.js
createSessionClient(config);
