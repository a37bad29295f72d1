// The demo: sign-in buttons, the callback, a profile card and sign out,
// all through oauth.js. It reads the generated config.js at run time, so a
// missing or broken one becomes a message instead of a blank page.
import { createClient, OAuthError } from "./oauth.js";

const $ = (id) => document.getElementById(id);
const view = {
  status: $("status"),
  notice: $("notice"),
  noticeTitle: $("notice-title"),
  noticeMessage: $("notice-message"),
  noticeDetail: $("notice-detail"),
  signedOut: $("signed-out"),
  providers: $("providers"),
  signedIn: $("signed-in"),
  avatar: $("avatar"),
  avatarFallback: $("avatar-fallback"),
  name: $("profile-name"),
  login: $("profile-login"),
  factProvider: $("fact-provider"),
  factScope: $("fact-scope"),
  factExpiry: $("fact-expiry"),
  factExpiryLabel: $("fact-expiry-label"),
  factKept: $("fact-kept"),
  footerNote: $("footer-note"),
  signOut: $("sign-out"),
};

const TITLES = {
  state_mismatch: "Sign-in rejected",
  wrong_callback: "Sign-in answer from the wrong provider",
  issuer_mismatch: "Sign-in answer from the wrong issuer",
  issuer_missing: "Sign-in answer without its issuer",
  no_pending_sign_in: "Sign-in not recognised",
  access_denied: "Sign-in cancelled",
  invalid_grant: "Sign-in code expired",
  network_error: "Sign-in service unreachable",
  origin_not_allowed: "Site not allowed",
  server_misconfigured: "Sign-in service misconfigured",
  provider_timeout: "Provider too slow",
  provider_error: "Provider unavailable",
  secret_unavailable: "Sign-in service unavailable",
  session_expired: "Session expired",
  userinfo_failed: "Profile unavailable",
  config_missing: "Site not configured",
};

// The function's access policy refusing the account, not the user cancelling at the provider (see oauth.js).
const POLICY_DENIED_TITLE = "Access not allowed";

function titleFor(error) {
  if (error.code === "access_denied" && error.status === 403) return POLICY_DENIED_TITLE;
  return TITLES[error.code] ?? "Sign-in failed";
}

function setStatus(text) {
  view.status.textContent = text;
}

function clearNotice() {
  view.notice.hidden = true;
  delete view.notice.dataset.code;
}

function showNotice({ code, title, message, detail = "", tone = "error" }) {
  view.notice.dataset.code = code;
  view.notice.className = `notice notice-${tone}`;
  view.noticeTitle.textContent = title;
  view.noticeMessage.textContent = message;
  view.noticeDetail.textContent = detail;
  view.noticeDetail.hidden = !detail;
  view.notice.hidden = false;
}

function showError(error) {
  if (error instanceof OAuthError) {
    // The function's or provider's own words, when they add something.
    const detail = error.description && error.description !== error.message ? error.description : "";
    showNotice({ code: error.code, title: titleFor(error), message: error.message, detail });
  } else {
    showNotice({ code: "unexpected", title: "Something went wrong", message: String(error?.message ?? error) });
  }
}

function setBusy(busy) {
  for (const button of document.querySelectorAll("button")) button.disabled = busy;
}

function showSignedOut(providers) {
  view.signedIn.hidden = true;
  view.signedOut.hidden = providers.length === 0;
  setBusy(false);
}

function initials(text) {
  const words = text.replace(/^@/, "").split(/[\s._-]+/).filter(Boolean);
  return (words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? "?").slice(0, 2)).toUpperCase();
}

function httpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

// GitHub, GitLab and OpenID Connect user APIs name the same things differently.
function normalizeProfile(raw) {
  const handle = raw.login ?? raw.username ?? raw.preferred_username ?? null;
  const name = raw.name || handle || raw.email || "Signed in";
  let secondary = handle ? `@${handle}` : raw.email ?? "";
  if (secondary === `@${name}`) secondary = raw.email ?? secondary;
  const avatar = httpUrl(raw.avatar_url ?? raw.picture ?? "");
  return { name, secondary, avatar };
}

function formatExpiry(session, mode) {
  if (session.expiresAt === null) return "Never (valid until revoked)";
  const time = new Date(session.expiresAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (mode === "session") return `${time} unless used again`;
  return session.canRefresh ? `${time}, then refreshed automatically` : time;
}

// Session mode: the server keeps the tokens and the browser only an HttpOnly cookie.
function describeMode(client) {
  if (client.mode !== "session") return;
  view.factExpiryLabel.textContent = "Session ends";
  view.factKept.textContent = "On the server";
  view.footerNote.textContent =
    "The tokens stay with a serverless function on this site's own origin; this page holds only a cookie its scripts cannot read, so a reload or a new tab stays signed in.";
}

// The profile on the card, kept for redrawing it when a refresh renews the session.
let shownProfile = null;

function showSignedIn(session, provider, profile, mode) {
  shownProfile = profile;
  view.signedOut.hidden = true;
  view.name.textContent = profile.name;
  view.login.textContent = profile.secondary;
  view.login.hidden = !profile.secondary;
  view.avatarFallback.textContent = initials(profile.secondary || profile.name);
  if (profile.avatar) view.avatar.alt = `${profile.name}'s avatar`;
  // Redrawn after every refresh: an unchanged avatar stays shown, without a flash of the initials.
  if (view.avatar.getAttribute("src") !== profile.avatar) {
    view.avatarFallback.hidden = false;
    view.avatar.hidden = true;
    if (profile.avatar) view.avatar.src = profile.avatar;
    else view.avatar.removeAttribute("src");
  }
  view.factProvider.textContent = provider.label;
  view.factScope.textContent = session.scope || "(none)";
  view.factExpiry.textContent = formatExpiry(session, mode);
  view.signedIn.hidden = false;
  setBusy(false);
}

view.avatar.addEventListener("load", () => {
  view.avatar.hidden = false;
  view.avatarFallback.hidden = true;
});
// Blocked by the CSP's img-src or simply gone: the initials stay.
view.avatar.addEventListener("error", () => {
  view.avatar.hidden = true;
  view.avatarFallback.hidden = false;
});

function renderProviderButtons(client) {
  view.providers.replaceChildren();
  for (const provider of client.providers) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `button button-provider provider-${provider.name}`;
    button.dataset.provider = provider.name;
    const mark = document.createElement("span");
    mark.className = "provider-mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = provider.label.slice(0, 1).toUpperCase();
    button.append(mark, `Sign in with ${provider.label}`);
    button.addEventListener("click", async () => {
      clearNotice();
      setBusy(true);
      setStatus(`Redirecting to ${provider.label}…`);
      try {
        await client.signIn(provider.name);
      } catch (error) {
        setBusy(false);
        setStatus("Not signed in.");
        showError(error);
      }
    });
    view.providers.append(button);
  }
}

async function loadConfig() {
  let config;
  try {
    config = (await import("./config.js")).default;
  } catch (error) {
    throw new Error(`config.js could not be loaded (${error.message}).`);
  }
  const valid =
    config &&
    typeof config.functionUrl === "string" &&
    Array.isArray(config.providers) &&
    config.providers.length > 0 &&
    config.providers.every((p) => p && typeof p.name === "string" && typeof p.authorizeUrl === "string" && typeof p.clientId === "string");
  if (!valid) throw new Error("config.js has no functionUrl or no providers.");
  return config;
}

async function loadProfile(client) {
  const session = client.session;
  const provider = client.providers.find((p) => p.name === session.provider);
  setStatus(`Loading your ${provider.label} profile…`);
  let profile = { name: `Signed in with ${provider.label}`, secondary: "", avatar: null };
  try {
    profile = normalizeProfile(await client.fetchUserInfo());
  } catch (error) {
    if (!(error instanceof OAuthError && error.code === "unsupported_operation")) showError(error);
  }
  showSignedIn(session, provider, profile, client.mode);
  setStatus(`Signed in as ${profile.name}.`);
}

// A background refresh renewed the token: re-read the profile with the new token and redraw the card,
// whose expiry otherwise stays the old token's. A profile that cannot be read leaves the one shown.
async function showRenewedSession(client, session) {
  const provider = client.providers.find((p) => p.name === session.provider);
  let profile = shownProfile;
  let failure = null;
  try {
    profile = normalizeProfile(await client.fetchUserInfo());
  } catch (error) {
    failure = error;
  }
  // Signed out or renewed again meanwhile: what is on screen is newer.
  if (client.session !== session) return;
  showSignedIn(session, provider, profile, client.mode);
  if (failure && !(failure instanceof OAuthError && failure.code === "unsupported_operation")) showError(failure);
}

async function main() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    setStatus("The demo cannot start.");
    showNotice({
      code: "config_missing",
      title: TITLES.config_missing,
      message: `${error.message} It is generated when the site is deployed, or by running: python3 -m local`,
    });
    return;
  }

  const client = createClient(config, {
    onChange(session, error) {
      if (session !== null) {
        showRenewedSession(client, session);
        return;
      }
      // A background refresh failed: the session is gone, say why.
      showSignedOut(client.providers);
      setStatus("Not signed in.");
      if (error) showError(error);
    },
  });
  renderProviderButtons(client);
  describeMode(client);

  view.signOut.addEventListener("click", async () => {
    const provider = client.providers.find((p) => p.name === client.session?.provider);
    setBusy(true);
    setStatus("Signing out…");
    const { revoked, error } = await client.signOut();
    showSignedOut(client.providers);
    if (error) {
      setStatus("Signed out of this page.");
      showNotice({
        code: error.code,
        title: "Signed out, but the token was not revoked",
        message: `The token is forgotten here but may stay valid at ${provider?.label ?? "the provider"} until it expires. ${error.message}`,
        tone: "warning",
      });
    } else {
      clearNotice();
      setStatus(revoked ? `Signed out. The token was revoked at ${provider?.label ?? "the provider"}.` : "Signed out.");
    }
  });

  // Back from the provider page via the back button: the page may come from the back-forward cache.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && !client.session) {
      showSignedOut(client.providers);
      setStatus("Not signed in.");
    }
  });

  if (client.isCallback()) {
    view.signedOut.hidden = true;
    setStatus("Completing sign-in…");
    try {
      await client.completeSignIn();
    } catch (error) {
      showSignedOut(client.providers);
      setStatus("Not signed in.");
      showError(error);
      return;
    }
    await loadProfile(client);
    return;
  }
  // Session mode: a reload or another tab finds the server's session.
  setStatus("Checking your session…");
  let current = null;
  try {
    current = await client.getSession();
  } catch (error) {
    showError(error);
  }
  if (current) {
    await loadProfile(client);
    return;
  }
  showSignedOut(client.providers);
  setStatus("Not signed in.");
}

main().catch((error) => {
  setStatus("The demo stopped.");
  showError(error);
});
