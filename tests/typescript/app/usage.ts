// A typed app using every part of the client's API; tsc must accept it as it is.
import {
  computeChallenge,
  createClient,
  createOAuthClient,
  createSessionClient,
  OAuthError,
  sha256Hex,
  type SessionClient,
  type SessionModeConfig,
  type SessionView,
  type OAuthClient,
  type OAuthConfig,
  type OAuthErrorCode,
  type OAuthSession,
  type ProviderConfig,
  type SignOutResult,
} from "@oauth-exchange/client";

interface GitHubUser {
  login: string;
  name: string | null;
  avatar_url: string;
}

const handWritten: OAuthConfig = {
  functionUrl: "https://abc.lambda-url.eu-west-1.on.aws/",
  providers: [
    {
      name: "github",
      callbackPath: "/callback/github",
      clientId: "Ov23liAbCdEfGh123456",
      authorizeUrl: "https://github.com/login/oauth/authorize",
    },
  ],
};

// The generated config.js exists only on the served site, at its root: load it at
// run time. (A variable, so that bundlers leave the import alone.)
const CONFIG_URL = "/config.js";

export async function loadConfig(): Promise<OAuthConfig> {
  const module: { default: OAuthConfig } = await import(/* @vite-ignore */ CONFIG_URL);
  return module.default;
}

const messages: Partial<Record<OAuthErrorCode, string>> = {
  invalid_grant: "That sign-in link expired.",
  network_error: "You seem to be offline.",
};

export function describe(error: unknown): string {
  if (error instanceof OAuthError) {
    const code: OAuthErrorCode = error.code;
    const status: number = error.status;
    const description: string = error.description;
    return messages[code] ?? `${error.message} (${status}) ${description}`;
  }
  return String(error);
}

export async function start(config: OAuthConfig = handWritten): Promise<OAuthClient> {
  const client = createOAuthClient(config, {
    storage: window.sessionStorage,
    fetch: window.fetch.bind(window),
    onChange(session: OAuthSession | null, error?: OAuthError) {
      if (session === null) console.warn(error?.code);
    },
  });
  const first: ProviderConfig | undefined = client.providers[0];
  if (client.isCallback()) {
    const session = await client.completeSignIn();
    if (session !== null) {
      const expiresAt: number | null = session.expiresAt;
      const canRefresh: boolean = session.canRefresh;
      console.log(session.provider, session.scope, session.tokenType, expiresAt, canRefresh);
      const user = await client.fetchUserInfo<GitHubUser>();
      console.log(user.login.toUpperCase());
      const token: string = await client.getAccessToken();
      await fetch("https://api.github.com/user/repos", { headers: { Authorization: `Bearer ${token}` } });
      if (client.session?.canRefresh) await client.refresh();
    }
  } else if (first !== undefined) {
    await client.signIn(first.name);
  }
  const result: SignOutResult = await client.signOut();
  if (!result.revoked && result.error !== null) console.error(describe(result.error));
  const challenge: string = await computeChallenge("a".repeat(43));
  console.log(challenge, new OAuthError("not_signed_in", { description: "", status: 401 }).name);
  return client;
}

// Session mode: the same calls, the tokens on the server.
const sessionConfig: SessionModeConfig = {
  ...handWritten,
  functionUrl: "https://d1234.cloudfront.net/api",
  mode: "session",
  session: { apiPath: "/api", csrfHeader: "X-OAuth-Exchange", exposeAccessToken: false },
};

export async function sessionApp(): Promise<SessionClient> {
  const client = createSessionClient(sessionConfig);
  const same: SessionClient = createClient(sessionConfig);
  const view: SessionView | null = (await client.completeSignIn()) ?? (await client.getSession());
  if (view !== null && client.mode === "session") {
    console.log(view.provider, view.scope, view.expiresAt, view.user?.login);
    const repos: Response = await client.fetch("/user/repos?per_page=5", { headers: { Accept: "application/json" } });
    await client.fetch("/repos/octo/app/issues", { method: "POST", body: JSON.stringify({ title: "hi" }) });
    const user = await client.fetchUserInfo<GitHubUser>();
    console.log(repos.status, user.login, same.session?.provider);
  }
  console.log(await sha256Hex(new TextEncoder().encode("{}")));
  const result: SignOutResult = await client.signOut();
  return result.revoked ? client : same;
}
