/**
 * OAuth device login (OpenAI "Sign in with ChatGPT" and RFC 8628) and token refresh, as a drop-in
 * replacement for a host's hand-written `oauthDeviceFlow.ts`: same names, same types. Also the
 * token session, the file store and the Codex model calls.
 *
 * The package's main entry, and only a list: each name is defined in the module that owns it
 * (types.ts the data, errors.ts the error class, deviceFlow.ts the protocol calls over the
 * WebAssembly module, tokenSession.ts, fileStore.ts, codex*.ts), none of which imports this file.
 *
 * @packageDocumentation
 */
export type {
  Clock,
  DeviceCode,
  DeviceFlowDeps,
  DeviceFlowEvent,
  FetchLike,
  OAuthProvider,
  OAuthTokens,
  PollResult,
  TokenClaims,
  WaitDeps,
} from "./types.ts";
export { OAuthDeviceFlowError } from "./errors.ts";
export type { OAuthDeviceFlowErrorDetails, OAuthErrorCode } from "./errors.ts";
export {
  OPENAI_CODEX,
  codexAuthHeaders,
  decodeTokenClaims,
  isAccessTokenExpired,
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  waitForDeviceToken,
} from "./deviceFlow.ts";
export { createMemoryStore, createTokenSession } from "./tokenSession.ts";
export type { MemoryTokenStore, TokenSession, TokenSessionOptions, TokenStore } from "./tokenSession.ts";
export { createFileStore, FILE_STORE_SCHEMA_VERSION } from "./fileStore.ts";
export type { FileStoreOptions, FileTokenStore } from "./fileStore.ts";
export { CODEX_BASE_URL, createCodexFetch } from "./codexFetch.ts";
export type { CodexFetch, CodexFetchOptions, CodexSession } from "./codexFetch.ts";
export { streamCodexResponse } from "./codexStream.ts";
export type { CodexRequest, CodexStreamEvent, CodexStreamOptions, CodexUsage } from "./codexStream.ts";
export { DEFAULT_CLIENT_VERSION, listCodexModels } from "./codexModels.ts";
export type { CodexModel, ListCodexModelsOptions } from "./codexModels.ts";
