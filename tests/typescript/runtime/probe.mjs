// Drives the real oauth.js through a whole sign-in in Node, with in-memory
// stand-ins for the browser objects, and prints the names of everything it
// exposes, for the test to compare with what oauth.d.ts declares.
import * as module from "@oauth-exchange/client";

const { createOAuthClient } = module;
const items = new Map();
const storage = {
  getItem: (key) => (items.has(key) ? items.get(key) : null),
  setItem: (key, value) => items.set(key, String(value)),
  removeItem: (key) => items.delete(key),
};
const location = { origin: "https://app.example", href: "https://app.example/", assign(url) { this.assigned = url; } };
const history = { state: null, replaceState() {} };
const answers = {
  "/token": { access_token: "probe-token", token_type: "bearer", scope: "read:user", expires_in: 3600 },
  "/revoke": { revoked: true },
};
const fetch = async (url) => {
  const path = new URL(url).pathname;
  return new Response(JSON.stringify(answers[path] ?? { login: "probe" }), {
    status: 200,
    headers: { "Content-Type": "application/json" },
  });
};
const config = {
  functionUrl: "https://fn.example/",
  providers: [{
    name: "github", label: "GitHub", callbackPath: "/callback/github", clientId: "Ov23liProbe", authorizeUrl: "https://provider.example/authorize",
    userInfoUrl: "https://provider.example/user", scopes: ["read:user"], pkce: true, refresh: false, revoke: true,
  }],
};

const client = createOAuthClient(config, { storage, fetch, location, history });
await client.signIn("github");
const state = new URL(location.assigned).searchParams.get("state");
location.href = `https://app.example/callback/github?code=probe-code&state=${state}`;
const session = await client.completeSignIn();
await client.fetchUserInfo();
await client.getAccessToken();
const signedOut = await client.signOut();

console.log(JSON.stringify({
  exports: Object.keys(module),
  client: Object.keys(client),
  session: Object.keys(session),
  signOut: Object.keys(signedOut),
}));
