/**
 * OAuth device login (OpenAI "Sign in with ChatGPT" and RFC 8628) and token refresh, as a drop-in
 * replacement for a host's hand-written `oauthDeviceFlow.ts`: same names, same types.
 *
 * All protocol logic runs in the WebAssembly module (`pkg/`); this file only declares the public
 * types, defines the error class, and wraps each export so that bad arguments reject (or, for the
 * synchronous helpers, throw) an `OAuthDeviceFlowError` instead of escaping as something else. It
 * also steps the module's async operations itself (see `run`), so that a WebAssembly trap always
 * surfaces here: every pending call then settles with a typed error and the module restarts.
 */
import * as wasm from "./wasm.ts";
import type { OperationResults } from "./wasmResults.ts";

export type FetchLike = (
  url: string,
  init: {
    method: "POST";
    headers: Record<string, string>;
    body: string;
    redirect: "manual";
    signal?: AbortSignal;
  },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

export interface DeviceFlowDeps {
  fetch: FetchLike;
  clock: Clock;
  /** Aborts the operation: it rejects with `aborted`. */
  signal?: AbortSignal;
  /** Per fetch call (headers and body), on a real timer: `network_error` when it passes. */
  timeoutMs?: number;
}

export interface WaitDeps extends DeviceFlowDeps {
  sleep?: (ms: number) => Promise<void>;
  onEvent?: (e: DeviceFlowEvent) => void;
}

/** Plain, JSON-serialisable provider configuration. */
export interface OAuthProvider {
  kind: "openai-codex" | "rfc8628";
  clientId: string;
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  devicePollEndpoint?: string;
  redirectUri?: string;
  verificationUri?: string;
  revocationEndpoint?: string;
  scope?: string;
  clientSecret?: string;
  clientAuth?: "none" | "client_secret_post" | "client_secret_basic";
  extraParams?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Treat as immutable and keep it server-side: `deviceCode` is a secret. */
export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  intervalMs: number;
  expiresAt: number;
}

export interface OAuthTokens {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
  expiresAt?: number;
}

export type PollResult =
  | { status: "pending"; intervalMs: number }
  | { status: "slow_down"; intervalMs: number }
  | { status: "success"; tokens: OAuthTokens };

export type DeviceFlowEvent =
  | { type: "waiting"; nextPollInMs: number; expiresAt: number }
  | { type: "slowed_down"; intervalMs: number }
  | { type: "retrying"; code: OAuthErrorCode; attempt: number; delayMs: number }
  | { type: "expired" };

/** Decoded WITHOUT signature verification. */
export interface TokenClaims {
  accountId?: string;
  planType?: string;
  email?: string;
  userId?: string;
  expiresAt?: number;
  audience?: string[];
}

export type OAuthErrorCode =
  | "access_denied"
  | "expired_token"
  | "device_flow_disabled"
  | "invalid_grant"
  | "refresh_token_expired"
  | "refresh_token_reused"
  | "refresh_token_invalidated"
  | "oauth_error"
  | "server_error"
  | "network_error"
  | "invalid_response"
  | "redirect"
  | "invalid_config"
  | "insecure_endpoint"
  | "aborted"
  | "reauth_required"
  | "storage_error"
  // Model calls on the Codex backend (codexStream.ts, codexModels.ts):
  | "usage_limit_reached"
  | "usage_not_included"
  | "model_error"
  | "response_failed"
  | "stream_incomplete"
  | "idle_timeout"
  | "challenge";

const RETRYABLE: ReadonlySet<OAuthErrorCode> = new Set<OAuthErrorCode>([
  "server_error",
  "network_error",
  "invalid_response",
  "redirect",
  "storage_error",
  "usage_limit_reached",
  "stream_incomplete",
  "idle_timeout",
]);

export interface OAuthDeviceFlowErrorDetails {
  retryable?: boolean;
  status?: number;
  serverCode?: string;
  retryAfterMs?: number;
  /** usage_limit_reached: when the limit resets (epoch ms). */
  resetsAt?: number;
  cause?: OAuthDeviceFlowError;
}

export class OAuthDeviceFlowError extends Error {
  override readonly name = "OAuthDeviceFlowError" as const;
  readonly code: OAuthErrorCode;
  /** The same call may succeed later without user action. */
  readonly retryable: boolean;
  readonly status?: number;
  readonly serverCode?: string;
  readonly retryAfterMs?: number;
  /** usage_limit_reached (and usage_not_included when the server says): the reset time, epoch ms. */
  readonly resetsAt?: number;
  declare readonly cause?: OAuthDeviceFlowError;

  constructor(code: OAuthErrorCode, message: string, details: OAuthDeviceFlowErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable ?? RETRYABLE.has(code);
    if (details.status !== undefined) this.status = details.status;
    if (details.serverCode !== undefined) this.serverCode = details.serverCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.resetsAt !== undefined) this.resetsAt = details.resetsAt;
  }

  toJSON(): {
    name: "OAuthDeviceFlowError";
    code: OAuthErrorCode;
    retryable: boolean;
    status?: number;
    serverCode?: string;
    retryAfterMs?: number;
    resetsAt?: number;
    message: string;
  } {
    return {
      name: this.name,
      code: this.code,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.serverCode === undefined ? {} : { serverCode: this.serverCode }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.resetsAt === undefined ? {} : { resetsAt: this.resetsAt }),
      message: this.message,
    };
  }
}

interface ErrorFields extends OAuthDeviceFlowErrorDetails {
  code: OAuthErrorCode;
  message: string;
}

const errorFactory = (f: ErrorFields) => new OAuthDeviceFlowError(f.code, f.message, f);
wasm.setErrorFactory(errorFactory);

/** What a call gets when the module trapped under it (out of memory, or a bug). */
function trapError(): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError(
    "invalid_config",
    "The OAuth module failed internally (a WebAssembly trap, such as running out of memory); it was restarted: try again.",
  );
}

/** Anything that is not our error (a bug, never expected) still surfaces as one, without detail. */
function asOAuthError(e: unknown): OAuthDeviceFlowError {
  if (e instanceof OAuthDeviceFlowError) return e;
  return new OAuthDeviceFlowError("invalid_config", "Unexpected internal failure in the OAuth module.");
}

// A trap leaves the WebAssembly instance's state undefined (allocator, stack pointer, borrowed
// cells), so the instance is never used again: every operation still pending on it fails with
// the trap error, and the module is re-instantiated before the next call. The operations are
// stepped from here (src/wasm/exec.rs), inside a `try`, so a trap always surfaces here.

/** Rejecters of the operations pending on the current instance. */
const pending = new Set<(e: OAuthDeviceFlowError) => void>();
/** Counts instances: a step for an operation of an earlier instance is dropped. */
let instance = 0;

function recoverFromTrap(): void {
  instance += 1;
  const failing = [...pending];
  pending.clear();
  try {
    wasm.scheduleReinit();
  } catch {
    // The flag is set by glue code around the export; a trap inside it leaves the next call to
    // try again.
  }
  try {
    // The first call after the schedule runs on the fresh instance, which needs the factory.
    wasm.setErrorFactory(errorFactory);
  } catch {
    // Nothing more to do here: the next call retries the restart.
  }
  for (const fail of failing) fail(trapError());
}

/** Runs one module operation: steps it until it settles; a trap rejects it (and every other). */
function run<K extends keyof OperationResults>(
  _op: K,
  start: (exports: Pick<typeof wasm, K>) => number,
): Promise<OperationResults[K]> {
  type T = OperationResults[K];
  return new Promise<T>((resolve, reject) => {
    const born = instance;
    let done = false;
    const fail = (e: OAuthDeviceFlowError) => {
      if (done) return;
      done = true;
      pending.delete(fail);
      reject(e);
    };
    let id: number;
    try {
      id = start(wasm);
    } catch {
      recoverFromTrap();
      fail(trapError());
      return;
    }
    pending.add(fail);
    const step = (ok: boolean, value: unknown): void => {
      if (done || born !== instance) return;
      let out: wasm.OpStep;
      try {
        out = wasm.opStep(id, ok, value);
      } catch {
        recoverFromTrap();
        return;
      }
      if (out[0] === 0) {
        out[1].then(
          (r) => step(true, r),
          (e: unknown) => step(false, e),
        );
        return;
      }
      done = true;
      pending.delete(fail);
      // The one place an operation's untyped result takes its type (js/wasmResults.ts).
      if (out[0] === 1) resolve(out[1] as T);
      else reject(asOAuthError(out[1]));
    };
    // The operation starts on the next microtask, as a promise-returning call would.
    queueMicrotask(() => step(true, undefined));
  });
}

function guardedSync<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (e instanceof OAuthDeviceFlowError) throw e;
    recoverFromTrap();
    throw trapError();
  }
}

/** `tokens.expiresAt` when it is a finite number (a throwing getter counts as absent). */
function knownExpiry(tokens: OAuthTokens): number | undefined {
  try {
    const at: unknown = typeof tokens === "object" && tokens !== null ? tokens.expiresAt : undefined;
    return typeof at === "number" && Number.isFinite(at) ? at : undefined;
  } catch {
    return undefined;
  }
}

/** One clock reading as the module checks it: anything but a number (or a throw) is `NaN`. */
function reading(clock: Clock): number {
  try {
    const now: unknown = clock();
    return typeof now === "number" ? now : NaN;
  } catch {
    return NaN;
  }
}

export function openaiCodexProvider(opts?: {
  issuer?: string;
  clientId?: string;
  headers?: Record<string, string>;
}): OAuthProvider {
  return guardedSync(() => wasm.openaiCodexProvider(opts));
}

export function rfc8628Provider(opts: Omit<OAuthProvider, "kind">): OAuthProvider {
  return guardedSync(() => wasm.rfc8628Provider(opts));
}

/** OpenAI's public Codex client at https://auth.openai.com, frozen. */
export const OPENAI_CODEX: Readonly<OAuthProvider> = Object.freeze(openaiCodexProvider());

export function requestDeviceCode(provider: OAuthProvider, deps: DeviceFlowDeps): Promise<DeviceCode> {
  return run("requestDeviceCode", (m) => m.requestDeviceCode(provider, deps));
}

/** One poll; for openai-codex a successful poll also redeems the authorization code. */
export function pollDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: DeviceFlowDeps): Promise<PollResult> {
  return run("pollDeviceToken", (m) => m.pollDeviceToken(provider, code, deps));
}

export function waitForDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: WaitDeps): Promise<OAuthTokens> {
  return run("waitForDeviceToken", (m) => m.waitForDeviceToken(provider, code, deps));
}

export function refreshAccessToken(
  provider: OAuthProvider,
  previous: string | OAuthTokens,
  deps: DeviceFlowDeps,
): Promise<OAuthTokens> {
  return run("refreshAccessToken", (m) => m.refreshAccessToken(provider, previous, deps));
}

export function revokeToken(provider: OAuthProvider, token: string, deps: DeviceFlowDeps): Promise<void> {
  return run("revokeToken", (m) => m.revokeToken(provider, token, deps));
}

export function isAccessTokenExpired(tokens: OAuthTokens, clock: Clock, skewMs = 60_000): boolean {
  // The per-request case: only numbers cross (the module checks the clock reading).
  const expiresAt = knownExpiry(tokens);
  if (expiresAt !== undefined && typeof clock === "function" && Number.isFinite(skewMs)) {
    const now = reading(clock);
    let answer: number;
    try {
      answer = wasm.isExpiredAt(expiresAt, now, skewMs);
    } catch (e) {
      throw asOAuthError(e);
    }
    if (answer !== 2) return answer === 1;
    // An unusable clock reading: the full check throws its error (with the same reading).
    return guardedSync(() => wasm.isAccessTokenExpired(tokens, () => now, skewMs));
  }
  return guardedSync(() => wasm.isAccessTokenExpired(tokens, clock, skewMs));
}

/** Never throws: a token that is not a JWT gives no fields. */
export function decodeTokenClaims(tokens: OAuthTokens): TokenClaims {
  try {
    return wasm.decodeTokenClaims(tokens);
  } catch {
    recoverFromTrap();
    return {};
  }
}

export function codexAuthHeaders(tokens: OAuthTokens): Record<string, string> {
  return guardedSync(() => wasm.codexAuthHeaders(tokens));
}

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
