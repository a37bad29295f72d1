// Compiled with a declarations file the test generates from the real module
// (runtime/probe.mjs), infra/oauth_exchange/spa_config.py's config.js and function/exchange_errors.py:
// each check fails to compile when oauth.d.ts and the real thing name different members.
import type * as Client from "@oauth-exchange/client";
import type {
  ClientErrorCode,
  FunctionErrorCode,
  OAuthClient,
  OAuthConfig,
  OAuthSession,
  ProviderConfig,
  SignOutResult,
} from "@oauth-exchange/client";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

export type ExportsMatch = Assert<Equal<keyof typeof Client, Runtime.Exports>>;
export type ClientMembersMatch = Assert<Equal<keyof OAuthClient, Runtime.ClientMembers>>;
export type SessionFieldsMatch = Assert<Equal<keyof OAuthSession, Runtime.SessionFields>>;
export type SignOutFieldsMatch = Assert<Equal<keyof SignOutResult, Runtime.SignOutFields>>;
export type ConfigFieldsMatch = Assert<Equal<keyof OAuthConfig, Runtime.ConfigFields>>;
export type ProviderFieldsMatch = Assert<Equal<keyof ProviderConfig, Runtime.ProviderFields>>;
export type FunctionErrorCodesMatch = Assert<Equal<FunctionErrorCode, Runtime.FunctionErrorCodes>>;
export type ClientErrorCodesMatch = Assert<Equal<ClientErrorCode, Runtime.ClientErrorCodes>>;
