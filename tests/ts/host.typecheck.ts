/**
 * Type-check only (never run, not a *.test.ts file): uses every export and type of the drop-in the
 * way a host would, so `tsc -p tsconfig.json --noEmit` proves the public types fit together.
 */
import {
  OAuthDeviceFlowError,
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
  type Clock,
  type DeviceCode,
  type DeviceFlowDeps,
  type DeviceFlowEvent,
  type FetchLike,
  type OAuthDeviceFlowErrorDetails,
  type OAuthErrorCode,
  type OAuthProvider,
  type OAuthTokens,
  type PollResult,
  type TokenClaims,
  type WaitDeps,
} from "../../js/oauthDeviceFlow.ts";

// The host's own I/O: Node's global fetch fits FetchLike, Date.now fits Clock.
const fetchLike: FetchLike = (url, init) => fetch(url, init);
const clock: Clock = Date.now;
const controller = new AbortController();
const deps: DeviceFlowDeps = { fetch: fetchLike, clock, signal: controller.signal, timeoutMs: 30_000 };

/** What the UI shows for an error (the "UI state" column of the error table in README.md); exhaustive over the codes. */
export function uiState(code: OAuthErrorCode): string {
  switch (code) {
    case "access_denied":
      return "denied";
    case "expired_token":
      return "code expired, start again";
    case "device_flow_disabled":
      return "device login is off for this account";
    case "reauth_required":
    case "invalid_grant":
    case "refresh_token_expired":
    case "refresh_token_reused":
    case "refresh_token_invalidated":
      return "sign in again";
    case "server_error":
    case "network_error":
    case "invalid_response":
    case "redirect":
    case "storage_error":
      return "temporary problem, retrying";
    case "invalid_config":
    case "insecure_endpoint":
    case "oauth_error":
      return "configuration error";
    case "aborted":
      return "cancelled";
    case "usage_limit_reached":
      return "usage limit reached, try again after the reset time";
    case "usage_not_included":
      return "this plan does not include Codex";
    case "model_error":
    case "challenge":
      return "configuration error";
    case "response_failed":
    case "stream_incomplete":
    case "idle_timeout":
      return "temporary problem, retrying";
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

function describeEvent(e: DeviceFlowEvent): string {
  switch (e.type) {
    case "waiting":
      return `next poll in ${e.nextPollInMs} ms, code expires at ${new Date(e.expiresAt).toISOString()}`;
    case "slowed_down":
      return `server asked to slow down: ${e.intervalMs} ms`;
    case "retrying": {
      const code: OAuthErrorCode = e.code;
      return `${uiState(code)} (attempt ${e.attempt}, ${e.delayMs} ms)`;
    }
    case "expired":
      return "expired";
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

function describePoll(r: PollResult): number | OAuthTokens {
  switch (r.status) {
    case "pending":
    case "slow_down":
      return r.intervalMs;
    case "success":
      return r.tokens;
    default: {
      const unreachable: never = r;
      return unreachable;
    }
  }
}

export async function signIn(kind: OAuthProvider["kind"]): Promise<OAuthTokens> {
  const provider: OAuthProvider =
    kind === "openai-codex"
      ? openaiCodexProvider({ issuer: "https://auth.openai.com", headers: { "User-Agent": "host/1.0" } })
      : rfc8628Provider({
          clientId: "cli",
          deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
          tokenEndpoint: "https://idp.example.com/token",
          revocationEndpoint: "https://idp.example.com/revoke",
          scope: "openid offline_access",
          clientSecret: "s",
          clientAuth: "client_secret_basic",
          extraParams: { audience: "https://api.example.com" },
          headers: { "User-Agent": "host/1.0" },
        });
  const code: DeviceCode = await requestDeviceCode(provider, deps);
  const shown: string = code.verificationUriComplete ?? `${code.verificationUri} ${code.userCode}`;
  void shown;
  const interval: number = code.intervalMs;
  const expiresAt: number = code.expiresAt;
  void interval;
  void expiresAt;

  const once: PollResult = await pollDeviceToken(provider, code, deps);
  const pollOutcome = describePoll(once);
  if (typeof pollOutcome !== "number") return pollOutcome;

  const waitDeps: WaitDeps = {
    ...deps,
    sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    onEvent: (e) => console.log(describeEvent(e)),
  };
  try {
    return await waitForDeviceToken(provider, code, waitDeps);
  } catch (e) {
    if (e instanceof OAuthDeviceFlowError) {
      const c: OAuthErrorCode = e.code;
      const retry: boolean = e.retryable;
      const status: number | undefined = e.status;
      const serverCode: string | undefined = e.serverCode;
      const retryAfterMs: number | undefined = e.retryAfterMs;
      const cause: OAuthDeviceFlowError | undefined = e.cause;
      const name: "OAuthDeviceFlowError" = e.name;
      const json = e.toJSON();
      const jsonCode: OAuthErrorCode = json.code;
      const jsonMessage: string = json.message;
      console.error(uiState(c), retry, status, serverCode, retryAfterMs, cause, name, jsonCode, jsonMessage);
    }
    throw e;
  }
}

export async function keepFresh(provider: Readonly<OAuthProvider>, stored: OAuthTokens): Promise<Record<string, string>> {
  let tokens: OAuthTokens = stored;
  if (isAccessTokenExpired(tokens, clock) || isAccessTokenExpired(tokens, clock, 300_000)) {
    tokens = await refreshAccessToken(provider, tokens, deps);
    if (tokens.refreshToken !== undefined) tokens = await refreshAccessToken(provider, tokens.refreshToken, deps);
  }
  const claims: TokenClaims = decodeTokenClaims(tokens);
  const fields: Array<string | number | string[] | undefined> = [
    claims.accountId,
    claims.planType,
    claims.email,
    claims.userId,
    claims.expiresAt,
    claims.audience,
  ];
  void fields;
  const t: [string, string | undefined, string | undefined, string | undefined, number | undefined] = [
    tokens.tokenType,
    tokens.refreshToken,
    tokens.idToken,
    tokens.scope,
    tokens.expiresAt,
  ];
  void t;
  const headers: Record<string, string> = codexAuthHeaders(tokens);
  return headers;
}

export async function signOut(tokens: OAuthTokens): Promise<void> {
  const p: Readonly<OAuthProvider> = OPENAI_CODEX;
  const kind: "openai-codex" | "rfc8628" = p.kind;
  void kind;
  if (tokens.refreshToken) {
    const done: void = await revokeToken(p, tokens.refreshToken, deps);
    return done;
  }
}

// A host may build the error itself (e.g. in its own token session).
const details: OAuthDeviceFlowErrorDetails = {
  retryable: false,
  status: 401,
  serverCode: "refresh_token_reused",
  retryAfterMs: 0,
  cause: new OAuthDeviceFlowError("refresh_token_reused", "reused"),
};
export const reauth = new OAuthDeviceFlowError("reauth_required", "sign in again", details);
export const storageFailure = new OAuthDeviceFlowError("storage_error", "disk full");

// @ts-expect-error OPENAI_CODEX is read-only
OPENAI_CODEX.clientId = "x";
// @ts-expect-error not an error code
uiState("nope");
// @ts-expect-error kind is required for a hand-built provider
export const badProvider: OAuthProvider = { clientId: "c", deviceAuthorizationEndpoint: "https://a", tokenEndpoint: "https://a" };
