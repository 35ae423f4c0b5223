/**
 * The TypeScript baseline: the protocol behaviour docs/behaviour.md describes (everything but the
 * token session) written the way a careful host team
 * would write it by hand, with `fetch`, `URLSearchParams` and `JSON.parse`. It is the yardstick the
 * shared suite (tests/ts/shared.*.test.ts) measures the WebAssembly module against, not a second
 * product: same exported names and types, its own `OAuthDeviceFlowError`.
 */
import type {
  Clock,
  DeviceCode,
  DeviceFlowDeps,
  DeviceFlowEvent,
  FetchLike,
  OAuthErrorCode,
  OAuthProvider,
  OAuthTokens,
  PollResult,
  TokenClaims,
  WaitDeps,
} from "../js/oauthDeviceFlow.ts";
import { OAuthDeviceFlowError, configError } from "./error.ts";
import { checkEndpoint, isObject, own, openaiCodexProvider, rfc8628Provider, validateProvider } from "./provider.ts";
import { MAX_TOKEN_LEN, checkArgumentSize, checkLen } from "./limits.ts";
import {
  classify,
  expiresIn,
  intervalMs,
  jwtExpiresAt,
  jwtPayload,
  MAX_BODY_BYTES,
  MAX_TIME_MS,
  replyOptString,
  replyString,
  type Reply,
  type ReplyDetails,
  type Exchange,
} from "./reply.ts";

export type {
  Clock,
  DeviceCode,
  DeviceFlowDeps,
  DeviceFlowEvent,
  FetchLike,
  OAuthErrorCode,
  OAuthProvider,
  OAuthTokens,
  PollResult,
  TokenClaims,
  WaitDeps,
};
export { OAuthDeviceFlowError, openaiCodexProvider, rfc8628Provider };

/** OpenAI's public Codex client at https://auth.openai.com, frozen. */
export const OPENAI_CODEX: Readonly<OAuthProvider> = Object.freeze(openaiCodexProvider());

const OPENAI_CODE_LIFETIME_MS = 15 * 60_000;
const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3_600_000;
const SLOW_DOWN_STEP_MS = 5000;
const MAX_RETRY_DELAY_MS = 60_000;
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** Control characters (Unicode Cc): never in a header value or a code shown to the user. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// ---------------------------------------------------------------------------------------------
// Host arguments

interface IO {
  fetch: FetchLike;
  clock: Clock;
  signal?: AbortSignal;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onEvent?: (e: DeviceFlowEvent) => void;
}

/** `obj[key]`, with a throwing getter or a non-object read as undefined. */
function get(obj: unknown, key: string): unknown {
  if ((typeof obj !== "object" || obj === null) && typeof obj !== "function") return undefined;
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function checkDeps(deps: unknown, waiting: boolean): IO {
  if (typeof deps !== "object" || deps === null) throw configError("deps must be an object with fetch and clock");
  const fn = (key: string, required: boolean) => {
    const v = get(deps, key);
    if (v === undefined && !required) return undefined;
    if (typeof v !== "function") throw configError(`deps.${key} must be a function`);
    return v;
  };
  const io: IO = { fetch: fn("fetch", true) as FetchLike, clock: fn("clock", true) as Clock };
  const signal = get(deps, "signal");
  if (signal !== undefined && signal !== null) {
    if (typeof get(signal, "addEventListener") !== "function" || typeof get(signal, "aborted") !== "boolean") {
      throw configError("deps.signal must be an AbortSignal");
    }
    io.signal = signal as AbortSignal;
  }
  const timeoutMs = get(deps, "timeoutMs");
  if (timeoutMs !== undefined && timeoutMs !== null) {
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw configError("deps.timeoutMs must be a positive number of milliseconds");
    }
    io.timeoutMs = timeoutMs;
  }
  if (waiting) {
    const sleep = fn("sleep", false);
    const onEvent = fn("onEvent", false);
    if (sleep) io.sleep = sleep as IO["sleep"];
    if (onEvent) io.onEvent = onEvent as IO["onEvent"];
  }
  return io;
}

/** One clock reading: a finite number >= 0, else `invalid_config`. */
function readClock(clock: unknown): number {
  let reading: unknown;
  try {
    reading = (clock as Clock)();
  } catch {
    reading = NaN;
  }
  if (typeof reading !== "number" || !(reading >= 0 && reading <= MAX_TIME_MS)) {
    throw configError("clock() must return milliseconds since the Unix epoch (a finite number from 0 to 8.64e15)");
  }
  return reading;
}

function checkCode(code: unknown): DeviceCode {
  if (!isObject(code)) throw configError("code must be the DeviceCode object requestDeviceCode returned");
  checkArgumentSize(code, "code");
  const interval = own(code, "intervalMs");
  if (typeof interval !== "number" || !(interval >= MIN_INTERVAL_MS && interval <= MAX_INTERVAL_MS)) {
    throw configError("code.intervalMs must be a number from 1000 to 3600000");
  }
  const expiresAt = own(code, "expiresAt");
  if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt) || expiresAt < 0) {
    throw configError("code.expiresAt must be a finite number of epoch milliseconds");
  }
  const str = (name: string) => {
    const v = own(code, name);
    if (typeof v !== "string" || v === "") throw configError(`code.${name} must be a non-empty string`);
    checkLen(`code.${name}`, v, MAX_TOKEN_LEN);
    return v;
  };
  const out: DeviceCode = {
    deviceCode: str("deviceCode"),
    userCode: str("userCode"),
    verificationUri: str("verificationUri"),
    intervalMs: interval,
    expiresAt,
  };
  const complete = own(code, "verificationUriComplete");
  if (complete !== undefined && complete !== null && typeof complete !== "string") {
    throw configError("code.verificationUriComplete must be a string when set");
  }
  if (typeof complete === "string") checkLen("code.verificationUriComplete", complete, MAX_TOKEN_LEN);
  if (typeof complete === "string" && complete !== "") out.verificationUriComplete = complete;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Requests (what each call sends: docs/behaviour.md)

interface Request {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function request(p: OAuthProvider, url: string, contentType: string, body: string, authorization?: string): Request {
  const headers: Record<string, string> = { Accept: "application/json", "Content-Type": contentType };
  if (authorization !== undefined) headers["Authorization"] = authorization;
  return { url, headers: { ...headers, ...p.headers }, body };
}

const jsonRequest = (p: OAuthProvider, url: string, fields: Array<[string, string]>): Request =>
  request(p, url, "application/json", JSON.stringify(Object.fromEntries(fields)));

const formRequest = (p: OAuthProvider, url: string, fields: Array<[string, string]>): Request =>
  request(p, url, "application/x-www-form-urlencoded", new URLSearchParams(fields).toString());

const formEncode = (s: string): string => new URLSearchParams({ x: s }).toString().slice(2);

/** An RFC 8628 form ending in `client_id`, with the client's authentication, then `tail`. */
function clientForm(
  p: OAuthProvider,
  url: string,
  fields: Array<[string, string]>,
  tail: Array<[string, string]> = [],
): Request {
  const all = [...fields];
  let authorization: string | undefined;
  if (p.clientAuth === "client_secret_post") all.push(["client_secret", p.clientSecret ?? ""]);
  if (p.clientAuth === "client_secret_basic") {
    const pair = `${formEncode(p.clientId)}:${formEncode(p.clientSecret ?? "")}`;
    authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
  }
  all.push(...tail);
  return request(p, url, "application/x-www-form-urlencoded", new URLSearchParams(all).toString(), authorization);
}

// ---------------------------------------------------------------------------------------------
// Sending: one fetch, bounded by deps.signal and deps.timeoutMs

const aborted = () => new OAuthDeviceFlowError("aborted", "The operation was aborted (deps.signal).");
const network = (what: string) =>
  new OAuthDeviceFlowError("network_error", `Network error: ${what}. Check the connection and try again.`);
const notResponse = () => configError("fetch resolved to something that is not a Response");

const ABORT = Symbol("abort");
const TIMEOUT = Symbol("timeout");

/** Races promises against the host's signal and a timeout; `release()` removes timer and listener. */
class Guard {
  readonly controller?: AbortController;
  private readonly fired?: Promise<never>;
  private timer?: ReturnType<typeof setTimeout>;
  private onAbort?: () => void;

  constructor(private readonly signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    if (signal === undefined && timeoutMs === undefined) return;
    this.controller = new AbortController();
    this.fired = new Promise<never>((_, reject) => {
      if (timeoutMs !== undefined) this.timer = setTimeout(() => reject(TIMEOUT), Math.min(timeoutMs, 2_147_483_647));
      if (signal !== undefined) {
        this.onAbort = () => reject(ABORT);
        signal.addEventListener("abort", this.onAbort);
      }
    });
    this.fired.catch(() => {});
  }

  async race<T>(p: Promise<T>, what: string): Promise<T> {
    try {
      return await (this.fired === undefined ? p : Promise.race([p, this.fired]));
    } catch (reason) {
      if (reason === ABORT || reason === TIMEOUT) this.controller?.abort();
      if (reason === ABORT) throw aborted();
      if (reason === TIMEOUT) throw network("the request timed out (deps.timeoutMs)");
      throw network(what);
    }
  }

  release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.signal?.removeEventListener("abort", this.onAbort);
  }
}

async function send(io: IO, req: Request, exchange: Exchange): Promise<Reply> {
  if (io.signal?.aborted) throw aborted();
  const init: Parameters<FetchLike>[1] = { method: "POST", headers: req.headers, body: req.body, redirect: "manual" };
  const guard = new Guard(io.signal, io.timeoutMs);
  if (guard.controller) init.signal = guard.controller.signal;
  try {
    let called: unknown;
    try {
      called = io.fetch(req.url, init);
    } catch {
      throw network("fetch threw");
    }
    const response = await guard.race(Promise.resolve(called), "fetch rejected");
    const status = get(response, "status");
    if (typeof status !== "number" || !Number.isInteger(status) || status < 0 || status > 65_535) throw notResponse();
    const headers = get(response, "headers");
    const headerGet = get(headers, "get");
    if (typeof headerGet !== "function") throw notResponse();
    const header = (name: string): string | null => {
      let v: unknown;
      try {
        v = headerGet.call(headers, name);
      } catch {
        throw notResponse();
      }
      return typeof v === "string" ? v : null;
    };
    const contentLength = header("content-length");
    const retryAfter = header("retry-after");
    const text = get(response, "text");
    if (typeof text !== "function") throw notResponse();
    const reply: Reply = { status, retryAfter, body: "", oversized: false };
    // A redirect is never followed and its body never read; a revocation's 2xx needs no body.
    if ((status >= 300 && status < 400) || (exchange === "revocation" && status >= 200 && status < 300)) return reply;
    const length = contentLength?.trim() ?? "";
    if (/^[0-9]+$/.test(length) && (length.length > 12 || Number(length) > MAX_BODY_BYTES)) {
      return { ...reply, oversized: true };
    }
    let pending: unknown;
    try {
      pending = text.call(response);
    } catch {
      throw network("reading the response body failed");
    }
    const body = await guard.race(Promise.resolve(pending), "reading the response body failed");
    if (typeof body !== "string") throw notResponse();
    return { ...reply, body };
  } finally {
    guard.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens

function tokensFromReply(body: Record<string, unknown>, exchange: Exchange, now: number, details: ReplyDetails): OAuthTokens {
  const accessToken = replyString(body, exchange, ["access_token"], details);
  const seconds = expiresIn(body);
  const expiresAt = seconds !== undefined ? now + seconds * 1000 : jwtExpiresAt(accessToken);
  const tokenType = replyOptString(body, "token_type");
  const tokens: OAuthTokens = {
    accessToken,
    tokenType: tokenType === undefined || tokenType.toLowerCase() === "bearer" ? "Bearer" : tokenType,
  };
  const refreshToken = replyOptString(body, "refresh_token");
  const idToken = replyOptString(body, "id_token");
  const scope = replyOptString(body, "scope");
  if (refreshToken !== undefined) tokens.refreshToken = refreshToken;
  if (idToken !== undefined) tokens.idToken = idToken;
  if (scope !== undefined) tokens.scope = scope;
  if (expiresAt !== undefined) tokens.expiresAt = expiresAt;
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Device authorization

export async function requestDeviceCode(provider: OAuthProvider, deps: DeviceFlowDeps): Promise<DeviceCode> {
  const p = validateProvider(provider);
  const io = checkDeps(deps, false);
  const now = readClock(io.clock);
  const codex = p.kind === "openai-codex";
  const req = codex
    ? jsonRequest(p, p.deviceAuthorizationEndpoint, [["client_id", p.clientId]])
    : clientForm(p, p.deviceAuthorizationEndpoint, [["client_id", p.clientId]], [
        ...(p.scope === undefined ? [] : [["scope", p.scope] as [string, string]]),
        ...Object.entries(p.extraParams ?? {}),
      ]);
  const exchange: Exchange = "device authorization";
  const reply = await send(io, req, exchange);
  const c = classify(
    { exchange, kind: p.kind, now, successMarker: codex ? "device_auth_id" : "device_code", secrets: [p.clientSecret ?? ""] },
    reply,
  );
  if (c.kind !== "success") throw new OAuthDeviceFlowError("invalid_response", "The reply is a polling answer.");
  const { body, details } = c;
  // The user types this code and is sent to that URL: no control characters, only a usable endpoint.
  const userCode = replyString(body, exchange, ["user_code", "usercode"], details);
  if (CONTROL.test(userCode)) {
    throw new OAuthDeviceFlowError("invalid_response", 'The device authorization reply\'s "user_code" contains control characters.', details);
  }
  const usable = (url: string) => {
    try {
      checkEndpoint("verification_uri", url);
      return true;
    } catch {
      return false;
    }
  };
  const code: DeviceCode = codex
    ? {
        deviceCode: replyString(body, exchange, ["device_auth_id"], details),
        userCode,
        verificationUri: p.verificationUri ?? "",
        intervalMs: intervalMs(body),
        expiresAt: now + (expiresIn(body) ?? OPENAI_CODE_LIFETIME_MS / 1000) * 1000,
      }
    : {
        deviceCode: replyString(body, exchange, ["device_code"], details),
        userCode,
        verificationUri: replyString(body, exchange, ["verification_uri", "verification_url"], details),
        intervalMs: intervalMs(body),
        expiresAt: 0,
      };
  if (!codex) {
    if (!usable(code.verificationUri)) {
      throw new OAuthDeviceFlowError("invalid_response", 'The device authorization reply\'s "verification_uri" is not a usable https: URL.', details);
    }
    const complete = replyOptString(body, "verification_uri_complete") ?? replyOptString(body, "verification_url_complete");
    if (complete !== undefined && usable(complete)) code.verificationUriComplete = complete;
    const seconds = expiresIn(body);
    if (seconds === undefined) {
      throw new OAuthDeviceFlowError("invalid_response", 'The device authorization reply has no usable "expires_in".', details);
    }
    code.expiresAt = now + seconds * 1000;
  }
  // The documented field order (verificationUriComplete before intervalMs), for readable output.
  const { deviceCode, verificationUri, verificationUriComplete, intervalMs: iv, expiresAt } = code;
  return {
    deviceCode,
    userCode: code.userCode,
    verificationUri,
    ...(verificationUriComplete === undefined ? {} : { verificationUriComplete }),
    intervalMs: iv,
    expiresAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Polling

/** Without deps.timeoutMs, each request of the waiting loop gets this bound, never past the code's expiry. */
const DEFAULT_WAIT_FETCH_TIMEOUT_MS = 30_000;

async function pollOnce(p: OAuthProvider, code: DeviceCode, ioIn: IO, waiting = false): Promise<PollResult> {
  const now = readClock(ioIn.clock);
  if (now >= code.expiresAt) {
    throw new OAuthDeviceFlowError("expired_token", "The device code has expired: start the sign-in again.");
  }
  const io: IO =
    waiting && ioIn.timeoutMs === undefined
      ? { ...ioIn, timeoutMs: Math.min(DEFAULT_WAIT_FETCH_TIMEOUT_MS, code.expiresAt - now) }
      : ioIn;
  const codex = p.kind === "openai-codex";
  const req = codex
    ? jsonRequest(p, p.devicePollEndpoint ?? "", [
        ["device_auth_id", code.deviceCode],
        ["user_code", code.userCode],
      ])
    : clientForm(p, p.tokenEndpoint, [
        ["grant_type", DEVICE_CODE_GRANT],
        ["device_code", code.deviceCode],
        ["client_id", p.clientId],
      ]);
  const reply = await send(io, req, "poll");
  const c = classify(
    {
      exchange: "poll",
      kind: p.kind,
      now,
      successMarker: codex ? "authorization_code" : "access_token",
      secrets: [code.deviceCode, p.clientSecret ?? ""],
    },
    reply,
  );
  if (c.kind === "pending") return { status: "pending", intervalMs: code.intervalMs };
  if (c.kind === "slow_down") {
    return { status: "slow_down", intervalMs: Math.min(code.intervalMs + SLOW_DOWN_STEP_MS, MAX_INTERVAL_MS) };
  }
  if (!codex) return { status: "success", tokens: tokensFromReply(c.body, "poll", now, c.details) };

  // OpenAI: redeem the authorization code with the server-made PKCE verifier (a form request).
  const authorizationCode = replyString(c.body, "poll", ["authorization_code"], c.details);
  const codeVerifier = replyString(c.body, "poll", ["code_verifier"], c.details);
  const exchangeRequest = formRequest(p, p.tokenEndpoint, [
    ["grant_type", "authorization_code"],
    ["code", authorizationCode],
    ["redirect_uri", p.redirectUri ?? ""],
    ["client_id", p.clientId],
    ["code_verifier", codeVerifier],
  ]);
  const exchange: Exchange = "code exchange";
  const c2 = classify(
    { exchange, kind: p.kind, now, successMarker: "access_token", secrets: [authorizationCode, codeVerifier] },
    await send(io, exchangeRequest, exchange),
  );
  if (c2.kind !== "success") throw new OAuthDeviceFlowError("invalid_response", "The reply is a polling answer.");
  return { status: "success", tokens: tokensFromReply(c2.body, exchange, now, c2.details) };
}

/** One poll; for openai-codex a successful poll also redeems the authorization code. */
export async function pollDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: DeviceFlowDeps): Promise<PollResult> {
  const p = validateProvider(provider);
  const c = checkCode(code);
  return pollOnce(p, c, checkDeps(deps, false));
}

// ---------------------------------------------------------------------------------------------
// Waiting

async function sleepFor(io: IO, ms: number): Promise<void> {
  if (io.signal?.aborted) throw aborted();
  const guard = new Guard(io.signal, undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    let pending: Promise<void>;
    if (io.sleep) {
      try {
        pending = Promise.resolve(io.sleep(ms));
      } catch {
        throw configError("deps.sleep threw");
      }
    } else {
      pending = new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, Math.min(ms, 2_147_483_647)))));
    }
    try {
      await guard.race(pending, "");
    } catch (e) {
      throw e instanceof OAuthDeviceFlowError && e.code === "aborted" ? e : configError("deps.sleep rejected");
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    guard.release();
  }
}

export async function waitForDeviceToken(provider: OAuthProvider, code: DeviceCode, deps: WaitDeps): Promise<OAuthTokens> {
  const p = validateProvider(provider);
  const current = checkCode(code);
  const io = checkDeps(deps, true);
  const emit = (e: DeviceFlowEvent) => {
    try {
      io.onEvent?.(e);
    } catch {
      // A throwing handler does not stop the sign-in.
    }
  };
  const expired = () =>
    new OAuthDeviceFlowError("expired_token", "The device code expired before the sign-in was approved: start again.");
  let attempt = 0;
  let wait = current.intervalMs;
  let now = readClock(io.clock);
  for (;;) {
    if (now + wait >= current.expiresAt) {
      emit({ type: "expired" });
      throw expired();
    }
    emit({ type: "waiting", nextPollInMs: wait, expiresAt: current.expiresAt });
    await sleepFor(io, wait);
    let result: PollResult | undefined;
    let error: OAuthDeviceFlowError | undefined;
    try {
      result = await pollOnce(p, current, io, true);
    } catch (e) {
      error = e as OAuthDeviceFlowError;
    }
    now = readClock(io.clock);
    if (result?.status === "success") return result.tokens;
    if (result !== undefined) {
      attempt = 0;
      current.intervalMs = result.intervalMs;
      wait = result.intervalMs;
      if (result.status === "slow_down") emit({ type: "slowed_down", intervalMs: result.intervalMs });
    } else if (error?.code === "expired_token") {
      emit({ type: "expired" });
      throw error;
    } else if (error?.retryable) {
      attempt += 1;
      const backoff = current.intervalMs * 2 ** Math.min(attempt - 1, 30);
      wait = Math.min(MAX_RETRY_DELAY_MS, Math.max(current.intervalMs, error.retryAfterMs ?? 0, backoff));
      emit({ type: "retrying", code: error.code, attempt, delayMs: wait });
    } else {
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Refresh and revocation

function previousTokens(previous: unknown): { refreshToken: string; previous?: OAuthTokens } {
  if (typeof previous === "string" && previous !== "") {
    checkLen("previous (the refresh token)", previous, MAX_TOKEN_LEN);
    return { refreshToken: previous };
  }
  if (!isObject(previous)) throw configError("previous must be a refresh token string or an OAuthTokens object");
  checkArgumentSize(previous, "previous");
  const access = own(previous, "accessToken");
  if (typeof access !== "string") throw configError("tokens.accessToken must be a string");
  checkLen("tokens.accessToken", access, MAX_TOKEN_LEN);
  const optional = (name: string): string | undefined => {
    const v = own(previous, name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw configError(`tokens.${name} must be a string when set`);
    checkLen(`tokens.${name}`, v, MAX_TOKEN_LEN);
    return v === "" ? undefined : v;
  };
  optional("tokenType");
  const refreshToken = optional("refreshToken");
  const idToken = optional("idToken");
  const scope = optional("scope");
  const expiresAt = own(previous, "expiresAt");
  if (expiresAt !== undefined && expiresAt !== null && typeof expiresAt !== "number") {
    throw configError("tokens.expiresAt must be a finite number when set");
  }
  if (refreshToken === undefined) {
    throw configError("tokens.refreshToken is missing: these tokens cannot be refreshed; sign in again");
  }
  const prev: OAuthTokens = { accessToken: own(previous, "accessToken") as string, tokenType: "Bearer" };
  if (idToken !== undefined) prev.idToken = idToken;
  if (scope !== undefined) prev.scope = scope;
  return { refreshToken, previous: prev };
}

export async function refreshAccessToken(
  provider: OAuthProvider,
  previous: string | OAuthTokens,
  deps: DeviceFlowDeps,
): Promise<OAuthTokens> {
  const p = validateProvider(provider);
  const input = previousTokens(previous);
  const io = checkDeps(deps, false);
  const now = readClock(io.clock);
  const rt = input.refreshToken;
  const req =
    p.kind === "openai-codex"
      ? jsonRequest(p, p.tokenEndpoint, [
          ["client_id", p.clientId],
          ["grant_type", "refresh_token"],
          ["refresh_token", rt],
        ])
      : clientForm(p, p.tokenEndpoint, [
          ["grant_type", "refresh_token"],
          ["refresh_token", rt],
          ["client_id", p.clientId],
        ]);
  const exchange: Exchange = "refresh";
  const c = classify(
    {
      exchange,
      kind: p.kind,
      now,
      successMarker: "access_token",
      secrets: [rt, p.clientSecret ?? "", input.previous?.accessToken ?? ""],
    },
    await send(io, req, exchange),
  );
  if (c.kind !== "success") throw new OAuthDeviceFlowError("invalid_response", "The reply is a polling answer.");
  const next = tokensFromReply(c.body, exchange, now, c.details);
  // A rotated refresh token replaces the old one; an omitted one leaves the old one valid.
  const out: OAuthTokens = { accessToken: next.accessToken, tokenType: next.tokenType, refreshToken: next.refreshToken ?? rt };
  const idToken = next.idToken ?? input.previous?.idToken;
  const scope = next.scope ?? input.previous?.scope;
  if (idToken !== undefined) out.idToken = idToken;
  if (scope !== undefined) out.scope = scope;
  if (next.expiresAt !== undefined) out.expiresAt = next.expiresAt;
  return out;
}

export async function revokeToken(provider: OAuthProvider, token: string, deps: DeviceFlowDeps): Promise<void> {
  const p = validateProvider(provider);
  if (typeof token !== "string") throw configError("token must be a non-empty string");
  checkLen("token", token, MAX_TOKEN_LEN);
  const io = checkDeps(deps, false);
  const now = readClock(io.clock);
  if (p.revocationEndpoint === undefined) {
    throw configError("provider.revocationEndpoint is not set: this provider cannot revoke tokens");
  }
  if (token === "") throw configError("token must be a non-empty string");
  const fields: Array<[string, string]> = [
    ["token", token],
    ["token_type_hint", "refresh_token"],
    ["client_id", p.clientId],
  ];
  const req =
    p.kind === "openai-codex" ? jsonRequest(p, p.revocationEndpoint, fields) : clientForm(p, p.revocationEndpoint, fields);
  const exchange: Exchange = "revocation";
  const reply = await send(io, req, exchange);
  if (reply.status >= 200 && reply.status < 300) return; // RFC 7009: any 2xx, whatever the body
  classify({ exchange, kind: p.kind, now, successMarker: "", secrets: [token, p.clientSecret ?? ""] }, reply);
  throw new OAuthDeviceFlowError("invalid_response", `Unexpected reply to the revocation: HTTP ${reply.status}.`, {
    status: reply.status,
  });
}

// ---------------------------------------------------------------------------------------------
// Synchronous helpers

export function isAccessTokenExpired(tokens: OAuthTokens, clock: Clock, skewMs = 60_000): boolean {
  if (typeof tokens !== "object" || tokens === null) throw configError("tokens must be an OAuthTokens object");
  if (typeof clock !== "function") throw configError("clock must be a function");
  const now = readClock(clock);
  if (typeof skewMs !== "number" || !Number.isFinite(skewMs)) {
    throw configError("skewMs must be a finite number of milliseconds");
  }
  const stored = get(tokens, "expiresAt");
  let expiresAt: number | undefined;
  if (stored !== undefined && stored !== null) {
    if (typeof stored !== "number" || !Number.isFinite(stored)) {
      throw configError("tokens.expiresAt must be a finite number when set");
    }
    expiresAt = stored;
  } else {
    const access = get(tokens, "accessToken");
    if (typeof access !== "string") throw configError("tokens.accessToken must be a string");
    checkLen("tokens.accessToken", access, MAX_TOKEN_LEN);
    expiresAt = jwtExpiresAt(access);
  }
  return expiresAt !== undefined && now + skewMs >= expiresAt;
}

const AUTH_CLAIM = "https://api.openai.com/auth";
const PROFILE_CLAIM = "https://api.openai.com/profile";

function stringAt(v: unknown, path: readonly string[]): string | undefined {
  let cur = v;
  for (const key of path) cur = isObject(cur) ? own(cur, key) : undefined;
  return typeof cur === "string" && cur !== "" ? cur : undefined;
}

/** Never throws: a token that is not a JWT gives no fields. */
export function decodeTokenClaims(tokens: OAuthTokens): TokenClaims {
  const access = get(tokens, "accessToken");
  const idToken = get(tokens, "idToken");
  const id = typeof idToken === "string" ? jwtPayload(idToken) : undefined;
  const at = typeof access === "string" ? jwtPayload(access) : undefined;
  const auth = (field: string) => stringAt(id, [AUTH_CLAIM, field]) ?? stringAt(at, [AUTH_CLAIM, field]);
  const claims: TokenClaims = {};
  const set = <K extends keyof TokenClaims>(k: K, v: TokenClaims[K] | undefined) => {
    if (v !== undefined) claims[k] = v;
  };
  set("accountId", auth("chatgpt_account_id"));
  set("planType", auth("chatgpt_plan_type"));
  set("email", stringAt(id, ["email"]) ?? stringAt(id, [PROFILE_CLAIM, "email"]));
  set("userId", auth("chatgpt_user_id"));
  set("expiresAt", typeof access === "string" ? jwtExpiresAt(access) : undefined);
  const aud = at === undefined ? undefined : own(at, "aud");
  if (typeof aud === "string") claims.audience = [aud];
  else if (Array.isArray(aud)) claims.audience = aud.filter((a): a is string => typeof a === "string");
  return claims;
}

export function codexAuthHeaders(tokens: OAuthTokens): Record<string, string> {
  const access = get(tokens, "accessToken");
  if (typeof access === "string") checkLen("tokens.accessToken", access, MAX_TOKEN_LEN);
  if (typeof access !== "string" || access === "" || CONTROL.test(access)) {
    throw configError("tokens.accessToken must be a non-empty string without control characters");
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${access}` };
  const accountId = decodeTokenClaims({ accessToken: access, tokenType: "Bearer", idToken: get(tokens, "idToken") as string }).accountId;
  if (accountId !== undefined) {
    if (CONTROL.test(accountId)) throw configError("the ChatGPT account id in the token contains control characters");
    headers["ChatGPT-Account-ID"] = accountId;
  }
  return headers;
}
