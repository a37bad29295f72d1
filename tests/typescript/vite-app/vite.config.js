// The app a new user would write with Vite and React, as the README shows it.
import { defineConfig } from "vite";

export default defineConfig({
  // During `vite` (development) config.js comes from scripts/run-local's site;
  // in production it is at the root of the deployed site.
  server: { proxy: { "/config.js": process.env.OAUTH_EXCHANGE_SITE ?? "http://127.0.0.1:8000" } },
});
