// Runs the real site/oauth.js through one sign-in in Node, with in-memory stand-ins for the
// browser objects: starts at `startAt`, comes back with `iss` (or none), and prints what the
// client did: its error code, the URL it put in the address bar, the function paths it called.
import { createOAuthClient } from "../../site/oauth.js";

const { startAt, issuer, iss } = JSON.parse(process.argv[2]);
const items = new Map();
const storage = {
  getItem: (key) => (items.has(key) ? items.get(key) : null),
  setItem: (key, value) => items.set(key, String(value)),
  removeItem: (key) => items.delete(key),
};
const location = { origin: "https://app.example", href: startAt, assign(url) { this.assigned = url; } };
const addressBar = [];
const history = { state: null, replaceState(state, title, url) { addressBar.push(url); } };
const called = [];
const fetch = async (url) => {
  called.push(new URL(url).pathname);
  return new Response(JSON.stringify({ access_token: "node-token", token_type: "bearer", scope: "" }), {
    status: 200,
    headers: { "Content-Type": "application/json" },
  });
};
const config = {
  functionUrl: "https://fn.example",
  providers: [{
    name: "acme", label: "Acme", callbackPath: "/callback/acme", clientId: "acme-client",
    authorizeUrl: "https://id.acme.example/authorize", userInfoUrl: null, scopes: [], pkce: true,
    refresh: false, revoke: false, issuer, requireIss: issuer !== null,
  }],
};

const client = createOAuthClient(config, { storage, fetch, location, history });
await client.signIn("acme");
const callback = new URL("https://app.example/callback/acme");
callback.searchParams.set("code", "node-code");
callback.searchParams.set("state", new URL(location.assigned).searchParams.get("state"));
if (iss !== null) callback.searchParams.set("iss", iss);
location.href = callback.toString();
let error = null;
try {
  await client.completeSignIn();
} catch (failure) {
  error = failure.code;
}
console.log(JSON.stringify({ error, addressBar, called }));
