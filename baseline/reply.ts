/**
 * Reading a reply, as plain TypeScript does it: `JSON.parse`, the ordered
 * classification rules (docs/behaviour.md), its number rules, `Retry-After` via `Date.parse`,
 * and JWT payloads via `Buffer`. One place, so that every exchange classifies the same way.
 */
import type { OAuthErrorCode } from "../js/oauthDeviceFlow.ts";
import { OAuthDeviceFlowError, type ErrorDetails } from "./error.ts";
import { isObject, own } from "./provider.ts";

export const MAX_BODY_BYTES = 64 * 1024;

/** Which of the protocol's request/reply exchanges a reply answers (named in error messages). */
export type Exchange = "device authorization" | "poll" | "code exchange" | "refresh" | "revocation";

/** What came back: the status, the raw `Retry-After`, and the body text ("" when not read). */
export interface Reply {
  status: number;
  retryAfter: string | null;
  body: string;
  /** `Content-Length` announced more than 64 KiB: the body was not read. */
  oversized: boolean;
}

/** What every error built from this reply carries. */
export interface ReplyDetails {
  status: number;
  retryAfterMs?: number;
}

export interface ReplyContext {
  exchange: Exchange;
  kind: "openai-codex" | "rfc8628";
  now: number;
  /** The member whose string presence marks a success body (rule 4's "success fields"). */
  successMarker: string;
  /** What was sent in the request: a server code echoing one is not reported. */
  secrets: readonly string[];
}

export type Classified =
  | { kind: "success"; body: Record<string, unknown>; details: ReplyDetails }
  | { kind: "pending" }
  | { kind: "slow_down" };

const NOT_JSON = Symbol("not JSON");

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** The server's code: `error` as a string, else `error.code`, else a top-level `code`. */
function errorCode(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const error = own(body, "error");
  let raw: unknown;
  if (typeof error === "string") raw = error;
  else if (isObject(error) && typeof own(error, "code") === "string") raw = own(error, "code");
  else raw = own(body, "code");
  if (typeof raw !== "string") return undefined;
  const code = asciiLower(raw.trim());
  return code === "" ? undefined : code;
}

/** Server codes are ASCII: `A`-`Z` only are lowercased (a look-alike letter is not the code). */
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The largest time a JS `Date` holds: clock readings, JWT `exp` and Retry-After stay within it. */
export const MAX_TIME_MS = 8.64e15;

/** Lowercased, only `[a-z0-9_.-]` kept, at most 64 characters; undefined when nothing is left. */
export function sanitizeServerCode(raw: string): string | undefined {
  const cleaned = asciiLower(raw).replace(/[^a-z0-9_.-]/g, "").slice(0, 64);
  return cleaned === "" ? undefined : cleaned;
}

/** Delay-seconds (plain digits) or an HTTP date (a past date gives 0). */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) {
    const ms = Number(v) * 1000;
    return ms <= MAX_TIME_MS ? ms : undefined;
  }
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Whether a server code holds a secret of the request (of 6+ UTF-8 bytes): as sent, or, once
 * sanitised the way serverCode is, any 16-character piece of the sanitised secret (sanitising
 * drops characters, so "rt_abc!def" would otherwise be shown as the secret "rt_abcdef").
 */
function echoes(code: string, secret: string): boolean {
  if (Buffer.byteLength(secret, "utf8") < 6) return false;
  if (code.includes(asciiLower(secret))) return true;
  const shown = sanitizeServerCode(code) ?? "";
  const hidden = asciiLower(secret).replace(/[^a-z0-9_.-]/g, "");
  const window = Math.min(16, hidden.length);
  if (window < 6) return false;
  for (let i = 0; i + window <= shown.length; i++) {
    if (hidden.includes(shown.slice(i, i + window))) return true;
  }
  return false;
}

export const httpError = (code: OAuthErrorCode, message: string, details: ErrorDetails): OAuthDeviceFlowError =>
  new OAuthDeviceFlowError(code, message, details);

/** Applies the classification rules 0-8 (docs/behaviour.md), first match wins; throws the error outcomes. */
export function classify(ctx: ReplyContext, reply: Reply): Classified {
  const { status } = reply;
  const exchange = ctx.exchange;
  const retryAfterMs = reply.retryAfter === null ? undefined : parseRetryAfter(reply.retryAfter, ctx.now);
  const details: ReplyDetails = { status, retryAfterMs };
  const fail = (code: OAuthErrorCode, message: string, serverCode?: string) =>
    httpError(code, message, { ...details, serverCode });
  if (status >= 300 && status < 400) {
    throw fail("redirect", `The server answered with a redirect (HTTP ${status}); redirects are not followed.`);
  }
  if (reply.oversized || Buffer.byteLength(reply.body, "utf8") > MAX_BODY_BYTES) {
    throw fail("invalid_response", `The server's reply (HTTP ${status}) is larger than 64 KiB.`);
  }

  const empty = reply.body.trim() === "";
  const body = empty ? NOT_JSON : parseJson(reply.body);
  const isJson = body !== NOT_JSON;
  const code = errorCode(body);
  const echoesSecret = (c: string) => ctx.secrets.some((s) => echoes(c, s));
  const publicCode = code !== undefined && !echoesSecret(code) ? sanitizeServerCode(code) : undefined;

  // Rule 1: a known protocol code decides, at any status.
  if (code !== undefined) {
    const known = (c: OAuthErrorCode, message: string) => fail(c, message, sanitizeServerCode(code));
    switch (code) {
      case "authorization_pending":
      case "deviceauth_authorization_pending":
        if (exchange === "poll") return { kind: "pending" };
        break;
      case "slow_down":
        if (exchange === "poll") return { kind: "slow_down" };
        break;
      case "access_denied":
      case "authorization_declined": // Codex's own tests mock a denial this way
        throw known("access_denied", "The user declined the sign-in request.");
      case "expired_token":
      case "deviceauth_expired":
        throw known("expired_token", "The device code has expired: start the sign-in again.");
      case "invalid_grant":
        throw known("invalid_grant", `The ${exchange} was rejected (invalid_grant): sign in again.`);
      case "refresh_token_expired":
        throw known("refresh_token_expired", "The refresh token has expired: sign in again.");
      case "refresh_token_reused":
        throw known("refresh_token_reused", "The refresh token was already used: sign in again.");
      case "refresh_token_invalidated":
        throw known("refresh_token_invalidated", "The refresh token was revoked: sign in again.");
    }
  }
  // Rule 2: the server is down or throttling.
  if ((status >= 500 && status <= 599) || status === 429) {
    throw fail("server_error", `The authorization server could not answer the ${exchange} (HTTP ${status}).`, publicCode);
  }
  // Rule 3: OpenAI's user-code endpoint answers 404 when device login is off, whatever the body says.
  if (ctx.kind === "openai-codex" && exchange === "device authorization" && status === 404) {
    throw fail("device_flow_disabled", "Device code login is not enabled for this account or server (HTTP 404).");
  }
  const is2xx = status >= 200 && status < 300;
  const hasSuccess = isObject(body) && typeof own(body, ctx.successMarker) === "string";
  // Rule 4: another OAuth error code on a 4xx, or on a 2xx without the success fields.
  if (code !== undefined && ((status >= 400 && status < 500) || (is2xx && !hasSuccess))) {
    throw fail("oauth_error", `The authorization server refused the ${exchange} with error "${publicCode ?? "[redacted]"}".`, publicCode);
  }
  const noCodeBody = empty || (isJson && code === undefined);
  // Rule 5: OpenAI's poll conventions.
  if (ctx.kind === "openai-codex") {
    if (exchange === "poll" && (status === 404 || (status === 403 && noCodeBody))) return { kind: "pending" };
  }
  // Rule 6: a bare 401 on a token request.
  if (status === 401 && noCodeBody && (exchange === "refresh" || exchange === "code exchange")) {
    throw fail("invalid_grant", `The ${exchange} was rejected (HTTP 401): sign in again.`);
  }
  // Rule 7: success.
  if (is2xx && isObject(body)) return { kind: "success", body, details };
  // Rule 8: anything else.
  throw fail("invalid_response", `Unexpected reply to the ${exchange}: HTTP ${status}.`);
}

// ---------------------------------------------------------------------------------------------
// Fields of a success body

/** A required non-empty string (the first of `names` present wins, for aliases). */
export function replyString(
  body: Record<string, unknown>,
  exchange: Exchange,
  names: readonly string[],
  details: ReplyDetails,
): string {
  for (const n of names) {
    const v = own(body, n);
    if (typeof v === "string" && v !== "") return v;
  }
  throw httpError("invalid_response", `The ${exchange} reply has no usable "${names[0]}".`, details);
}

/** An optional string: absent, null, "" or another type all count as absent. */
export function replyOptString(body: Record<string, unknown>, name: string): string | undefined {
  const v = own(body, name);
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A JSON number, or a string matching `^\s*[0-9]+(\.[0-9]+)?\s*$`. */
export function numberLike(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(v)) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** `interval` in ms: seconds in 1..=3600, else 5 s. */
export function intervalMs(body: Record<string, unknown>): number {
  const s = numberLike(own(body, "interval"));
  return (s !== undefined && s >= 1 && s <= 3600 ? s : 5) * 1000;
}

/** `expires_in` in seconds when in (0, 31_536_000], else undefined. */
export function expiresIn(body: Record<string, unknown>): number | undefined {
  const s = numberLike(own(body, "expires_in"));
  return s !== undefined && s > 0 && s <= 31_536_000 ? s : undefined;
}

// ---------------------------------------------------------------------------------------------
// JWT (no signature verification)

/** The payload object of a three-part compact JWS, if it is one. */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  // A token longer than any reply could carry has no claims (as in the module, which never copies it).
  if (token.length > 65_536) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const payload = parts[1] as string;
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(payload)) return undefined;
  const parsed = parseJson(Buffer.from(payload, "base64url").toString("utf8"));
  return isObject(parsed) ? parsed : undefined;
}

/** `exp` in epoch ms: a JSON number within the range of a JS date only. */
export function jwtExpiresAt(token: string): number | undefined {
  const payload = jwtPayload(token);
  const exp = payload === undefined ? undefined : own(payload, "exp");
  if (typeof exp !== "number") return undefined;
  const ms = exp * 1000;
  return ms >= 0 && ms <= MAX_TIME_MS ? ms : undefined;
}
