/**
 * The device login and token functions of the drop-in: providers, device code, polling, refresh,
 * revocation, expiry, claims and the Codex headers.
 *
 * All protocol logic runs in the WebAssembly module; each function here only hands its arguments
 * over (js/operations.ts runs the async ones), so that bad arguments reject (or, for the
 * synchronous helpers, throw) an `OAuthDeviceFlowError` instead of escaping as something else.
 * docs/behaviour.md says what each call sends and how it reads the replies.
 */
import * as wasm from "./wasm.ts";
import { asOAuthError } from "./errors.ts";
import { guardedSync, recoverFromTrap, run } from "./operations.ts";
import type {
  Clock,
  DeviceCode,
  DeviceFlowDeps,
  OAuthProvider,
  OAuthTokens,
  PollResult,
  TokenClaims,
  WaitDeps,
} from "./types.ts";

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

/**
 * OpenAI's "Sign in with ChatGPT" provider, its endpoints derived from `issuer`.
 * Throws `invalid_config` (or `insecure_endpoint`) for a bad option.
 *
 * @param opts - `issuer` (default `https://auth.openai.com`), `clientId` (default the public Codex
 *   client) and extra request `headers`.
 */
export function openaiCodexProvider(opts?: {
  /** The authorization server; default `https://auth.openai.com`. */
  issuer?: string;
  /** The OAuth client; default the public Codex client. */
  clientId?: string;
  /** More request headers for every request to this provider. */
  headers?: Record<string, string>;
}): OAuthProvider {
  return guardedSync(() => wasm.openaiCodexProvider(opts));
}

/**
 * A validated RFC 8628 provider. Throws `invalid_config` (or `insecure_endpoint` for an `http:`
 * endpoint that is not loopback) for a bad field.
 *
 * @param opts - every {@link OAuthProvider} field but `kind`.
 */
export function rfc8628Provider(opts: Omit<OAuthProvider, "kind">): OAuthProvider {
  return guardedSync(() => wasm.rfc8628Provider(opts));
}

/** OpenAI's public Codex client at https://auth.openai.com, frozen. */
export const OPENAI_CODEX: Readonly<OAuthProvider> = Object.freeze(openaiCodexProvider());

/**
 * Starts a device login: the code the user types, the page to open, the poll interval and the
 * expiry. Show `userCode` and `verificationUri`; keep the rest server-side.
 */
export function requestDeviceCode(provider: OAuthProvider, deps: DeviceFlowDeps): Promise<DeviceCode> {
  return run("requestDeviceCode", (m) => m.requestDeviceCode(provider, deps));
}

/**
 * One poll: `pending`, `slow_down` (the interval already increased by 5 s) or `success`; for
 * openai-codex a successful poll also redeems the authorization code. Polling after the code
 * expired rejects with `expired_token`, a declined login with `access_denied`.
 */
export function pollDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: DeviceFlowDeps): Promise<PollResult> {
  return run("pollDeviceToken", (m) => m.pollDeviceToken(provider, code, deps));
}

/**
 * Polls until the user signed in, the code expired (`expired_token`) or the login was declined
 * (`access_denied`), at the server's interval, retrying what is retryable and telling `onEvent`.
 * Without `timeoutMs` each request is bounded by 30 s, never past the code's expiry.
 */
export function waitForDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: WaitDeps): Promise<OAuthTokens> {
  return run("waitForDeviceToken", (m) => m.waitForDeviceToken(provider, code, deps));
}

/**
 * A refreshed token set. The server's rotated refresh token replaces the old one, which is spent:
 * save the result before using it. Fields the reply omits are kept from `previous`.
 *
 * @param previous - the current token set, or its refresh token alone.
 */
export function refreshAccessToken(
  provider: OAuthProvider,
  previous: string | OAuthTokens,
  deps: DeviceFlowDeps,
): Promise<OAuthTokens> {
  return run("refreshAccessToken", (m) => m.refreshAccessToken(provider, previous, deps));
}

/**
 * Revokes a token at the provider's `revocationEndpoint` (RFC 7009, or OpenAI's JSON form): the
 * sign-out. Rejects with `invalid_config` when the provider has no revocation endpoint.
 */
export function revokeToken(provider: OAuthProvider, token: string, deps: DeviceFlowDeps): Promise<void> {
  return run("revokeToken", (m) => m.revokeToken(provider, token, deps));
}

/**
 * Whether the access token is due: `clock() + skewMs >= expiresAt` (without `expiresAt`, the JWT's
 * `exp`; neither known: `false`). Throws `invalid_config` for a clock that gives no usable time.
 *
 * @param skewMs - how long before expiry a token counts as expired; default 60 000.
 */
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

/**
 * The account, plan, user and email (from the ID token) and the expiry and audience (from the
 * access token), decoded WITHOUT signature verification. Never throws: a token that is not a JWT
 * gives no fields.
 */
export function decodeTokenClaims(tokens: OAuthTokens): TokenClaims {
  try {
    return wasm.decodeTokenClaims(tokens);
  } catch {
    recoverFromTrap();
    return {};
  }
}

/**
 * The headers the ChatGPT Codex backend wants: `Authorization`, and `ChatGPT-Account-ID` when the
 * tokens' claims carry an account id. Throws `invalid_config` for tokens that cannot be sent (a
 * control character, an over-long token).
 */
export function codexAuthHeaders(tokens: OAuthTokens): Record<string, string> {
  return guardedSync(() => wasm.codexAuthHeaders(tokens));
}
