// How an app types the generated config.js, which exists only on the deployed
// (or locally served) site, at its root: see the README, "Using oauth.js from Vite/React".
declare module "*/config.js" {
  import type { OAuthConfig } from "@oauth-exchange/client";
  const config: OAuthConfig;
  export default config;
}
