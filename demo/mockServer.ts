/**
 * An embedded mock authorization server for the demo and the tests: OpenAI's "Sign in with ChatGPT"
 * device login (the `openai-codex` kind), a standard RFC 8628 server, the Codex model backend those
 * tokens are for, and a verification page where a person approves or denies. It listens on loopback
 * only, on an ephemeral port, so that the whole story runs with no account and no network.
 *
 * It is strict on purpose: it checks what the spec says a client sends (content types, `client_id`,
 * `redirect_uri`, the PKCE verifier, single-use codes and refresh tokens), so a client bug shows up as
 * a refusal here. It records every request and exposes knobs (lifetimes, interval, slow_down) and
 * injectable faults (5xx, 429 with Retry-After, HTML pages, delays) for tests.
 *
 * Routes (all POST except the page):
 *   openai-codex  /api/accounts/deviceauth/usercode, /api/accounts/deviceauth/token (403 = pending),
 *                 /oauth/token (form code exchange, JSON or form refresh), /oauth/revoke (JSON)
 *   rfc8628       /rfc8628/device_authorization, /rfc8628/token, /rfc8628/revoke (all form)
 *   backend       POST /backend-api/codex/responses (Server-Sent Events), GET /backend-api/codex/models
 *                 (demo/mockCodexBackend.ts)
 *   page          GET/POST /codex/device and /device
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { approvalForm, approvalResult } from "./approvalPage.ts";
import { readBodyWithin } from "./requestBody.ts";
import { createCodexBackend, sseFrame, type BackendReply, type CodexFault } from "./mockCodexBackend.ts";
import { JwtSigner, OPENAI_AUTH_CLAIM, newUserCode, normalizeUserCode, pkceChallenge, randomHandle } from "./mockTokens.ts";

export const CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
export const RFC_CLIENT_ID = "mock-device-client";

export interface MockAccount {
  accountId: string;
  planType: string;
  userId: string;
  email: string;
}

/** One injected fault: hits the next `times` requests to `path` (any path when absent). */
export interface MockFault {
  path?: string;
  /** Wait this long before answering (with the fault, or normally when nothing else is set). */
  delayMs?: number;
  /** Answer this status instead of the real reply (JSON error body unless `html` or `body`). */
  status?: number;
  /** A `Retry-After` header value, e.g. "2" or an HTTP date. */
  retryAfter?: string;
  /** Answer an HTML page (a proxy or captive-portal page); status 200 unless `status` says otherwise. */
  html?: boolean;
  /** An exact body to send (with `contentType`, default application/json). */
  body?: string;
  contentType?: string;
  /** How many matching requests it hits; default 1. */
  times?: number;
  /** A Codex backend fault (on `/backend-api/codex/responses`; see mockCodexBackend.ts). */
  codex?: CodexFault;
  /** codex usage_limit_reached: seconds from now to `resets_at` (default 3600). */
  resetsInSec?: number;
  /** codex response_failed: `response.error.code` (default "server_error") and message. */
  failedCode?: string;
  failedMessage?: string;
}

/** Live settings; change them at any time (they apply to the next request). */
export interface MockKnobs {
  /** Access and id token lifetime: `expires_in` and the JWT `exp`. */
  tokenLifetimeSec: number;
  /** The poll interval both device endpoints announce (OpenAI's as a string, as the real one). */
  intervalSec: number;
  /** Device code lifetime (rfc8628 `expires_in`; OpenAI sends none but the code still expires). */
  codeLifetimeSec: number;
  /** The next N device polls (either kind) answer `slow_down`. */
  slowDown: number;
  /** rfc8628: rotate refresh tokens on refresh (OpenAI always rotates). */
  rotateRefreshTokens: boolean;
  /** Decides every pending code by itself after `afterPolls` pending answers (no page needed). */
  autoDecide: { action: "approve" | "deny"; afterPolls: number } | undefined;
  /** The Codex backend's models for this account (the models list; others are refused). */
  models: string[];
  /** The Codex backend's pause between two streamed events (0: none), so that a stream is seen streaming. */
  eventDelayMs: number;
  /** Pending faults, consumed in order of matching. */
  faults: MockFault[];
}

/** The models the mock backend offers by default. */
export const MOCK_MODELS: readonly string[] = ["gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5-codex"];

export interface MockServerOptions extends Partial<Omit<MockKnobs, "faults">> {
  account?: Partial<MockAccount>;
  /** The server's own time source (epoch ms), for expiry; default `Date.now`. */
  clock?: () => number;
  /** rfc8628: require this client secret (client_secret_post or client_secret_basic). */
  rfcClientSecret?: string;
  /**
   * Test-only: answer CORS preflights and allow every origin, so that a page on another loopback
   * origin can run a flow against this server (the runtime matrix's browser flow). Off by
   * default, as on real authorization servers' device endpoints.
   */
  cors?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  /** Names lowercased, as Node reports them. */
  headers: Record<string, string>;
  body: string;
  /** Filled in when the reply is sent (0 until then). */
  status: number;
  reply: string;
}

export interface MockServer {
  /** `http://127.0.0.1:<port>`: the OpenAI issuer, and the base of every route. */
  readonly url: string;
  readonly port: number;
  readonly account: MockAccount;
  readonly codexClientId: string;
  readonly rfcClientId: string;
  /** Endpoints for `rfc8628Provider`. */
  readonly rfc8628: { deviceAuthorizationEndpoint: string; tokenEndpoint: string; revocationEndpoint: string };
  readonly log: LoggedRequest[];
  readonly knobs: MockKnobs;
  fault(f: MockFault): void;
  /** Requests seen for a path (and method, default POST). */
  count(path: string, method?: string): number;
  /** What the page's buttons do; false when the code is unknown, expired or already decided. */
  approve(userCode: string): boolean;
  deny(userCode: string): boolean;
  /** Makes a device code expire now. */
  expire(userCode: string): boolean;
  stop(): Promise<void>;
}

type Kind = "openai-codex" | "rfc8628";

interface DeviceGrant {
  kind: Kind;
  deviceCode: string;
  userCode: string;
  scope: string | undefined;
  expiresAt: number;
  state: "pending" | "approved" | "denied" | "consumed";
  polls: number;
  /** openai-codex, once approved: what the poll hands out, and the challenge the exchange checks. */
  authorizationCode?: string;
  codeVerifier?: string;
  codeChallenge?: string;
}

interface RefreshRecord {
  kind: Kind;
  family: string;
  scope: string | undefined;
  state: "live" | "used";
}

type Reply = BackendReply;

const MAX_BODY = 1 << 20;

const jsonReply = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body: JSON.stringify(value),
  headers: { "content-type": "application/json", ...headers },
});
const htmlReply = (status: number, body: string): Reply => ({
  status,
  body,
  headers: { "content-type": "text/html; charset=utf-8" },
});
/** OpenAI's error shape: `{"error":{"message","type","param","code"}}`. */
const openaiError = (status: number, code: string, message: string): Reply =>
  jsonReply(status, { error: { message, type: "invalid_request_error", param: null, code } });
/** RFC 6749 section 5.2 error shape. */
const oauthError = (status: number, error: string, description: string): Reply =>
  jsonReply(status, { error, error_description: description });

function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function parseJsonObject(raw: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Starts the mock on 127.0.0.1 with an ephemeral port. */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const clock = options.clock ?? Date.now;
  const account: MockAccount = {
    accountId: "acct_mock_4f2a",
    planType: "plus",
    userId: "user_mock_81c3",
    email: "newcomer@example.com",
    ...options.account,
  };
  const knobs: MockKnobs = {
    tokenLifetimeSec: options.tokenLifetimeSec ?? 3600,
    intervalSec: options.intervalSec ?? 1,
    codeLifetimeSec: options.codeLifetimeSec ?? 900,
    slowDown: options.slowDown ?? 0,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    autoDecide: options.autoDecide,
    models: [...(options.models ?? MOCK_MODELS)],
    eventDelayMs: options.eventDelayMs ?? 0,
    faults: [],
  };
  const log: LoggedRequest[] = [];
  const signer = new JwtSigner();
  const grantsByDeviceCode = new Map<string, DeviceGrant>();
  const grantsByUserCode = new Map<string, DeviceGrant>();
  const authorizationCodes = new Map<string, DeviceGrant>();
  const refreshTokens = new Map<string, RefreshRecord>();
  const revokedFamilies = new Set<string>();
  let url = "";

  const nowSec = () => Math.floor(clock() / 1000);

  function newDeviceGrant(kind: Kind, scope: string | undefined): DeviceGrant {
    let userCode = newUserCode();
    while (grantsByUserCode.has(normalizeUserCode(userCode))) userCode = newUserCode();
    const grant: DeviceGrant = {
      kind,
      deviceCode: randomHandle(kind === "openai-codex" ? "deviceauth_" : "dc_"),
      userCode,
      scope,
      expiresAt: clock() + knobs.codeLifetimeSec * 1000,
      state: "pending",
      polls: 0,
    };
    grantsByDeviceCode.set(grant.deviceCode, grant);
    grantsByUserCode.set(normalizeUserCode(userCode), grant);
    return grant;
  }

  /** A fresh token set for a sign-in (new family) or a refresh (same family). */
  function issueTokens(kind: Kind, family: string, scope: string | undefined, withRefresh = true) {
    const iat = nowSec();
    const exp = iat + knobs.tokenLifetimeSec;
    const auth = {
      chatgpt_account_id: account.accountId,
      chatgpt_plan_type: account.planType,
      chatgpt_user_id: account.userId,
    };
    const common = { iss: url, sub: account.userId, iat, exp, fam: family, jti: randomHandle("at_") };
    const refreshToken = randomHandle("rt_");
    if (withRefresh) refreshTokens.set(refreshToken, { kind, family, scope, state: "live" });
    if (kind === "openai-codex") {
      return {
        id_token: signer.sign({ iss: url, sub: account.userId, aud: [CODEX_CLIENT_ID], iat, exp, jti: randomHandle("id_"), email: account.email, [OPENAI_AUTH_CLAIM]: auth }),
        access_token: signer.sign({ ...common, aud: ["https://api.openai.com/v1"], client_id: CODEX_CLIENT_ID, [OPENAI_AUTH_CLAIM]: auth }),
        refresh_token: refreshToken,
        expires_in: knobs.tokenLifetimeSec,
        token_type: "Bearer",
      };
    }
    return {
      access_token: signer.sign({ ...common, aud: [url], client_id: RFC_CLIENT_ID, scope: scope ?? "" }),
      token_type: "Bearer",
      expires_in: knobs.tokenLifetimeSec,
      ...(withRefresh ? { refresh_token: refreshToken } : {}),
      ...(scope ? { scope } : {}),
    };
  }

  function findUserCode(input: string): DeviceGrant | undefined {
    return grantsByUserCode.get(normalizeUserCode(input));
  }

  function decide(userCode: string, outcome: "approved" | "denied"): boolean {
    const grant = findUserCode(userCode);
    if (!grant || grant.state !== "pending" || clock() >= grant.expiresAt) return false;
    grant.state = outcome;
    if (outcome === "approved" && grant.kind === "openai-codex") {
      grant.authorizationCode = randomHandle("ac_");
      grant.codeVerifier = randomHandle("");
      grant.codeChallenge = pkceChallenge(grant.codeVerifier);
      authorizationCodes.set(grant.authorizationCode, grant);
    }
    return true;
  }

  /** Counts a poll of a live code and applies the autoDecide knob. */
  function countPoll(grant: DeviceGrant): void {
    grant.polls += 1;
    const auto = knobs.autoDecide;
    if (auto && grant.state === "pending" && grant.polls > auto.afterPolls) {
      decide(grant.userCode, auto.action === "approve" ? "approved" : "denied");
    }
  }

  /** Answers slow_down for the next N polls when the knob says so. */
  function takeSlowDown(): boolean {
    if (knobs.slowDown <= 0) return false;
    knobs.slowDown -= 1;
    return true;
  }

  // ---- openai-codex ------------------------------------------------------------------------------

  function codexUserCode(req: IncomingMessage, raw: string): Reply {
    if (mediaType(req) !== "application/json") return openaiError(415, "unsupported_media_type", "Send JSON.");
    const body = parseJsonObject(raw);
    if (!body) return openaiError(400, "invalid_request", "The body is not a JSON object.");
    if (body.client_id !== CODEX_CLIENT_ID) return openaiError(400, "invalid_client", "Unknown client_id.");
    const grant = newDeviceGrant("openai-codex", undefined);
    return jsonReply(200, {
      device_auth_id: grant.deviceCode,
      user_code: grant.userCode,
      interval: String(knobs.intervalSec),
    });
  }

  function codexPoll(req: IncomingMessage, raw: string): Reply {
    if (mediaType(req) !== "application/json") return openaiError(415, "unsupported_media_type", "Send JSON.");
    const body = parseJsonObject(raw);
    const grant = body ? grantsByDeviceCode.get(str(body.device_auth_id) ?? "") : undefined;
    if (!body || !grant || grant.kind !== "openai-codex" || body.user_code !== grant.userCode) {
      return openaiError(400, "invalid_request", "Unknown device authorization.");
    }
    if (grant.state === "consumed") return openaiError(400, "invalid_grant", "This device authorization was already used.");
    if (clock() < grant.expiresAt) countPoll(grant);
    if (grant.state === "denied") return openaiError(403, "access_denied", "The user denied the sign-in.");
    if (clock() >= grant.expiresAt) return openaiError(403, "deviceauth_expired", "The code expired.");
    if (takeSlowDown()) return openaiError(403, "slow_down", "Polling too fast.");
    if (grant.state === "pending") {
      return openaiError(403, "deviceauth_authorization_pending", "Waiting for the user.");
    }
    // Approved: hand out the code until it is redeemed (a failed exchange may be retried).
    return jsonReply(200, {
      authorization_code: grant.authorizationCode,
      code_challenge: grant.codeChallenge,
      code_verifier: grant.codeVerifier,
    });
  }

  function codexExchange(form: URLSearchParams): Reply {
    const grant = authorizationCodes.get(form.get("code") ?? "");
    if (!grant || grant.state !== "approved") return oauthError(400, "invalid_grant", "Unknown or used authorization code.");
    if (form.get("client_id") !== CODEX_CLIENT_ID) return oauthError(401, "invalid_client", "Unknown client_id.");
    if (form.get("redirect_uri") !== `${url}/deviceauth/callback`) {
      return oauthError(400, "invalid_grant", "redirect_uri does not match the device callback.");
    }
    const verifier = form.get("code_verifier") ?? "";
    if (pkceChallenge(verifier) !== grant.codeChallenge) return oauthError(400, "invalid_grant", "PKCE verification failed.");
    grant.state = "consumed";
    authorizationCodes.delete(form.get("code") ?? "");
    return jsonReply(200, issueTokens("openai-codex", randomHandle("fam_"), undefined));
  }

  function codexRefresh(clientId: string | undefined, token: string | undefined): Reply {
    if (clientId !== CODEX_CLIENT_ID) return openaiError(401, "invalid_client", "Unknown client_id.");
    const record = refreshTokens.get(token ?? "");
    if (!record || record.kind !== "openai-codex") return openaiError(401, "invalid_grant", "Unknown refresh token.");
    if (revokedFamilies.has(record.family)) {
      return openaiError(401, "refresh_token_invalidated", "Your refresh token was revoked. Please sign in again.");
    }
    if (record.state === "used") {
      return openaiError(401, "refresh_token_reused", "Your refresh token has already been used to generate a new access token. Please try signing in again.");
    }
    record.state = "used";
    return jsonReply(200, issueTokens("openai-codex", record.family, undefined));
  }

  function codexToken(req: IncomingMessage, raw: string): Reply {
    const type = mediaType(req);
    if (type === "application/x-www-form-urlencoded") {
      const form = new URLSearchParams(raw);
      const grantType = form.get("grant_type");
      if (grantType === "authorization_code") return codexExchange(form);
      if (grantType === "refresh_token") return codexRefresh(form.get("client_id") ?? undefined, form.get("refresh_token") ?? undefined);
      return oauthError(400, "unsupported_grant_type", "Unsupported grant_type.");
    }
    if (type === "application/json") {
      const body = parseJsonObject(raw);
      if (!body) return openaiError(400, "invalid_request", "The body is not a JSON object.");
      if (body.grant_type !== "refresh_token") {
        return openaiError(400, "unsupported_grant_type", "Only refresh_token is accepted as JSON; the code exchange is a form.");
      }
      return codexRefresh(str(body.client_id), str(body.refresh_token));
    }
    return openaiError(415, "unsupported_media_type", "Send a form or JSON.");
  }

  function revokeFamilyOf(token: string): void {
    const record = refreshTokens.get(token);
    if (record) revokedFamilies.add(record.family);
    const claims = signer.verify(token);
    if (claims && typeof claims.fam === "string") revokedFamilies.add(claims.fam);
  }

  function codexRevoke(req: IncomingMessage, raw: string): Reply {
    if (mediaType(req) !== "application/json") return openaiError(415, "unsupported_media_type", "Send JSON.");
    const body = parseJsonObject(raw);
    if (!body || typeof body.token !== "string") return openaiError(400, "invalid_request", "token is required.");
    if (body.client_id !== CODEX_CLIENT_ID) return openaiError(401, "invalid_client", "Unknown client_id.");
    revokeFamilyOf(body.token);
    return jsonReply(200, {});
  }

  // ---- rfc8628 -----------------------------------------------------------------------------------

  /** The client authentication RFC 6749 section 2.3 allows; undefined when it holds. */
  function rfcClientAuth(req: IncomingMessage, form: URLSearchParams): Reply | undefined {
    if (form.get("client_id") !== RFC_CLIENT_ID) return oauthError(401, "invalid_client", "Unknown client_id.");
    const secret = options.rfcClientSecret;
    if (secret === undefined) return undefined;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (basic) {
      const [id = "", given = ""] = Buffer.from(basic, "base64").toString("utf8").split(":");
      const ok = decodeURIComponent(id.replace(/\+/g, " ")) === RFC_CLIENT_ID && decodeURIComponent(given.replace(/\+/g, " ")) === secret;
      return ok ? undefined : oauthError(401, "invalid_client", "Client authentication failed.");
    }
    return form.get("client_secret") === secret ? undefined : oauthError(401, "invalid_client", "Client authentication failed.");
  }

  function rfcForm(req: IncomingMessage, raw: string): URLSearchParams | Reply {
    if (mediaType(req) !== "application/x-www-form-urlencoded") {
      return oauthError(400, "invalid_request", "Send application/x-www-form-urlencoded.");
    }
    const form = new URLSearchParams(raw);
    return rfcClientAuth(req, form) ?? form;
  }

  function rfcDeviceAuthorization(req: IncomingMessage, raw: string): Reply {
    const form = rfcForm(req, raw);
    if (!(form instanceof URLSearchParams)) return form;
    const grant = newDeviceGrant("rfc8628", form.get("scope") ?? undefined);
    return jsonReply(200, {
      device_code: grant.deviceCode,
      user_code: grant.userCode,
      verification_uri: `${url}/device`,
      verification_uri_complete: `${url}/device?user_code=${encodeURIComponent(grant.userCode)}`,
      expires_in: knobs.codeLifetimeSec,
      interval: knobs.intervalSec,
    });
  }

  function rfcToken(req: IncomingMessage, raw: string): Reply {
    const form = rfcForm(req, raw);
    if (!(form instanceof URLSearchParams)) return form;
    const grantType = form.get("grant_type");
    if (grantType === "urn:ietf:params:oauth:grant-type:device_code") {
      const grant = grantsByDeviceCode.get(form.get("device_code") ?? "");
      if (!grant || grant.kind !== "rfc8628" || grant.state === "consumed") {
        return oauthError(400, "invalid_grant", "Unknown or used device code.");
      }
      if (clock() < grant.expiresAt) countPoll(grant);
      if (grant.state === "denied") return oauthError(400, "access_denied", "The user denied the request.");
      if (clock() >= grant.expiresAt) return oauthError(400, "expired_token", "The device code expired.");
      if (takeSlowDown()) return oauthError(400, "slow_down", "Polling too fast.");
      if (grant.state === "pending") return oauthError(400, "authorization_pending", "Waiting for the user.");
      grant.state = "consumed";
      return jsonReply(200, issueTokens("rfc8628", randomHandle("fam_"), grant.scope));
    }
    if (grantType === "refresh_token") {
      const token = form.get("refresh_token") ?? "";
      const record = refreshTokens.get(token);
      if (!record || record.kind !== "rfc8628" || record.state === "used" || revokedFamilies.has(record.family)) {
        return oauthError(400, "invalid_grant", "The refresh token is invalid, used or revoked.");
      }
      if (!knobs.rotateRefreshTokens) return jsonReply(200, issueTokens("rfc8628", record.family, record.scope, false));
      record.state = "used";
      return jsonReply(200, issueTokens("rfc8628", record.family, record.scope));
    }
    return oauthError(400, "unsupported_grant_type", "Unsupported grant_type.");
  }

  function rfcRevoke(req: IncomingMessage, raw: string): Reply {
    const form = rfcForm(req, raw);
    if (!(form instanceof URLSearchParams)) return form;
    const token = form.get("token");
    if (!token) return oauthError(400, "invalid_request", "token is required.");
    revokeFamilyOf(token); // RFC 7009: 200 also for an unknown token
    return { status: 200, body: "" };
  }

  // ---- the Codex backend ---------------------------------------------------------------------------

  const backend = createCodexBackend({
    signer,
    clock,
    isRevoked: (family) => revokedFamilies.has(family),
    models: () => knobs.models,
  });

  // ---- the approval page -------------------------------------------------------------------------

  function approvalPage(req: IncomingMessage, raw: string, path: string, query: string): Reply {
    if (req.method === "GET") {
      return htmlReply(200, approvalForm(path, new URLSearchParams(query).get("user_code") ?? ""));
    }
    const form = new URLSearchParams(raw);
    const entered = form.get("user_code") ?? "";
    const action = form.get("action");
    const grant = findUserCode(entered);
    if (!grant) return htmlReply(404, approvalForm(path, entered, "That code is not known. Check it and try again."));
    if (clock() >= grant.expiresAt) return htmlReply(410, approvalResult("Code expired", "Start again on your device."));
    if (grant.state !== "pending") return htmlReply(409, approvalResult("Already used", "This code was already approved or denied."));
    if (action === "approve" && decide(entered, "approved")) {
      return htmlReply(200, approvalResult("Device connected", "You can return to your device."));
    }
    if (action === "deny" && decide(entered, "denied")) {
      return htmlReply(200, approvalResult("Request denied", "The device was not connected."));
    }
    return htmlReply(400, approvalForm(path, entered, "Choose Approve or Deny."));
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  function route(req: IncomingMessage, raw: string, path: string, query: string, fault?: MockFault): Reply {
    const codexFault = fault?.codex === undefined ? undefined : { ...fault, codex: fault.codex };
    if (path === "/codex/device" || path === "/device") {
      if (req.method === "GET" || req.method === "POST") return approvalPage(req, raw, path, query);
      return jsonReply(405, { error: "method_not_allowed" }, { allow: "GET, POST" });
    }
    if (path === "/backend-api/codex/models") {
      if (req.method !== "GET") return jsonReply(405, { error: "method_not_allowed" }, { allow: "GET" });
      return backend.models(req, query);
    }
    if (path === "/backend-api/codex/responses" && req.method === "POST") return backend.responses(req, raw, codexFault);
    const routes: Record<string, (req: IncomingMessage, raw: string) => Reply> = {
      "/api/accounts/deviceauth/usercode": codexUserCode,
      "/api/accounts/deviceauth/token": codexPoll,
      "/oauth/token": codexToken,
      "/oauth/revoke": codexRevoke,
      "/rfc8628/device_authorization": rfcDeviceAuthorization,
      "/rfc8628/token": rfcToken,
      "/rfc8628/revoke": rfcRevoke,
    };
    const handler = routes[path];
    if (!handler) return jsonReply(404, { error: "not_found" });
    if (req.method !== "POST") return jsonReply(405, { error: "method_not_allowed" }, { allow: "POST" });
    return handler(req, raw);
  }

  function takeFault(path: string): MockFault | undefined {
    const index = knobs.faults.findIndex((f) => (f.path === undefined || f.path === path) && (f.times ?? 1) > 0);
    if (index < 0) return undefined;
    const fault = knobs.faults[index];
    if (!fault) return undefined;
    const left = (fault.times ?? 1) - 1;
    if (left <= 0) knobs.faults.splice(index, 1);
    else fault.times = left;
    return fault;
  }

  function faultReply(fault: MockFault): Reply | undefined {
    const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter };
    if (fault.body !== undefined) {
      return { status: fault.status ?? 200, body: fault.body, headers: { "content-type": fault.contentType ?? "application/json", ...headers } };
    }
    if (fault.html) {
      const page = "<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>Please try again later</h1></body></html>";
      return { status: fault.status ?? 200, body: page, headers: { "content-type": "text/html", ...headers } };
    }
    if (fault.status === undefined) return undefined;
    const type = fault.status === 429 ? "rate_limit_exceeded" : "server_error";
    return { ...jsonReply(fault.status, { error: { message: "Injected fault.", type } }), headers: { "content-type": "application/json", ...headers } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBodyWithin(req, res, MAX_BODY);
    if (raw === undefined) return;
    const target = new URL(req.url ?? "/", "http://mock.invalid");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const entry: LoggedRequest = {
      method: req.method ?? "",
      path: target.pathname,
      query: target.search.slice(1),
      headers,
      body: raw,
      status: 0,
      reply: "",
    };
    log.push(entry);
    const fault = takeFault(entry.path);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    const reply = (fault && fault.codex === undefined && faultReply(fault)) || route(req, raw, entry.path, entry.query, fault);
    entry.status = reply.status;
    entry.reply = reply.body;
    if (res.destroyed) return;
    if (reply.sse) {
      await writeEvents(res, reply, entry);
      return;
    }
    res.writeHead(reply.status, { "cache-control": "no-store", ...reply.headers }).end(reply.body);
  }

  /** Writes a stream event by event (each its own chunk), then ends it as the script says. */
  async function writeEvents(res: ServerResponse, reply: Reply, entry: LoggedRequest): Promise<void> {
    const script = reply.sse;
    if (!script) return;
    res.writeHead(reply.status, { "cache-control": "no-store", ...reply.headers });
    res.flushHeaders();
    for (const event of script.events) {
      if (res.destroyed) return;
      const frame = sseFrame(event);
      entry.reply += frame;
      res.write(frame);
      await new Promise<void>((resolve) => (knobs.eventDelayMs > 0 ? setTimeout(resolve, knobs.eventDelayMs) : setImmediate(resolve)));
    }
    if (script.end === "stall") return; // silent until the client gives up or the mock stops
    res.end();
  }

  const server = createServer((req, res) => {
    if (options.cors && allowCrossOrigin(req, res)) return;
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { "content-type": "application/json" }).end('{"error":"mock_failure"}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    account,
    codexClientId: CODEX_CLIENT_ID,
    rfcClientId: RFC_CLIENT_ID,
    rfc8628: {
      deviceAuthorizationEndpoint: `${url}/rfc8628/device_authorization`,
      tokenEndpoint: `${url}/rfc8628/token`,
      revocationEndpoint: `${url}/rfc8628/revoke`,
    },
    log,
    knobs,
    fault: (f) => {
      knobs.faults.push({ ...f });
    },
    count: (path, method = "POST") => log.filter((e) => e.path === path && e.method === method).length,
    approve: (userCode) => decide(userCode, "approved"),
    deny: (userCode) => decide(userCode, "denied"),
    expire: (userCode) => {
      const grant = findUserCode(userCode);
      if (!grant || grant.state === "consumed") return false;
      grant.expiresAt = clock();
      return true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The `cors` option: every reply may be read by any origin (no credentials are involved), and a
 * preflight is answered here (true: the request is done) without reaching the routes or the log.
 */
function allowCrossOrigin(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-expose-headers", "*");
  if (req.method !== "OPTIONS") return false;
  res
    .writeHead(204, {
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "",
      "access-control-max-age": "600",
    })
    .end();
  return true;
}
