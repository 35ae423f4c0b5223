/**
 * Both implementations of the contract behind one interface, so that every shared case and the
 * property test run the same code against each: the WebAssembly module (the drop-in
 * `js/oauthDeviceFlow.ts`) and the plain TypeScript baseline (`baseline/oauthDeviceFlow.ts`).
 */
import * as baseline from "../../../baseline/oauthDeviceFlow.ts";
import * as wasmModule from "../../../js/oauthDeviceFlow.ts";

/** The exports the contract names (the token session excepted), typed as the drop-in declares them. */
export interface Api {
  OAuthDeviceFlowError: abstract new (...args: never[]) => Error & {
    code: wasmModule.OAuthErrorCode;
    retryable: boolean;
    status?: number;
    serverCode?: string;
    retryAfterMs?: number;
    toJSON(): Record<string, unknown>;
  };
  OPENAI_CODEX: Readonly<wasmModule.OAuthProvider>;
  openaiCodexProvider: typeof wasmModule.openaiCodexProvider;
  rfc8628Provider: typeof wasmModule.rfc8628Provider;
  requestDeviceCode: typeof wasmModule.requestDeviceCode;
  pollDeviceToken: typeof wasmModule.pollDeviceToken;
  waitForDeviceToken: typeof wasmModule.waitForDeviceToken;
  refreshAccessToken: typeof wasmModule.refreshAccessToken;
  revokeToken: typeof wasmModule.revokeToken;
  isAccessTokenExpired: typeof wasmModule.isAccessTokenExpired;
  decodeTokenClaims: typeof wasmModule.decodeTokenClaims;
  codexAuthHeaders: typeof wasmModule.codexAuthHeaders;
}

export type ImplName = "module" | "baseline";

export interface Implementation {
  /** As shown in test names and the compare table. */
  name: ImplName;
  api: Api;
}

// Both assignments are type checks too: each side must offer every export with the drop-in's types.
const moduleApi: Api = wasmModule;
const baselineApi: Api = baseline;

export const MODULE: Implementation = { name: "module", api: moduleApi };
export const BASELINE: Implementation = { name: "baseline", api: baselineApi };
export const IMPLEMENTATIONS: readonly Implementation[] = [MODULE, BASELINE];
