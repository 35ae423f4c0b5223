/**
 * Test doubles for the drop-in module: a recording fake `fetch` answering scripted replies, a fake
 * clock, a fake `sleep` that advances that clock, JWT builders and secret-leak assertions.
 * Nothing here waits on a real timer.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  OAuthDeviceFlowError,
  type Clock,
  type DeviceCode,
  type DeviceFlowDeps,
  type FetchLike,
  type OAuthErrorCode,
} from "../../../js/oauthDeviceFlow.ts";

/** A scripted reply: `headers` are matched case-insensitively, `body` defaults to "". */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** What the fake answers one call with. */
export type Script =
  | Reply
  | { kind: "reject"; error?: unknown }
  | { kind: "throw"; error?: unknown }
  | { kind: "never" }
  | { kind: "resolve"; value: unknown }
  | { kind: "textRejects"; status: number }
  | ((call: RecordedCall) => Reply | Promise<Reply>);

/** One request as the module sent it. */
export interface RecordedCall {
  url: string;
  /** The whole init object as passed (not copied), e.g. to look at `init.signal` later. */
  init: Record<string, unknown>;
  initKeys: string[];
  method: unknown;
  headers: Record<string, string>;
  body: unknown;
  redirect: unknown;
  hasSignal: boolean;
  signal: AbortSignal | undefined;
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(value),
});

export const html = (status: number, text = "<html><body>Oops</body></html>"): Reply => ({
  status,
  headers: { "Content-Type": "text/html" },
  body: text,
});

export class FakeFetch {
  readonly calls: RecordedCall[] = [];
  /** How many times a reply's `text()` was called. */
  textReads = 0;
  private readonly queue: Script[];

  constructor(...scripts: Script[]) {
    this.queue = [...scripts];
  }

  push(...scripts: Script[]): this {
    this.queue.push(...scripts);
    return this;
  }

  get remaining(): number {
    return this.queue.length;
  }

  readonly fetch: FetchLike = (url, init) => {
    const raw = init as unknown as Record<string, unknown>;
    const signal = raw["signal"] as AbortSignal | undefined;
    const call: RecordedCall = {
      url,
      init: raw,
      initKeys: Object.keys(raw).sort(),
      method: raw["method"],
      headers: { ...(raw["headers"] as Record<string, string>) },
      body: raw["body"],
      redirect: raw["redirect"],
      hasSignal: signal !== undefined,
      signal,
    };
    this.calls.push(call);
    const script = this.queue.shift();
    if (script === undefined) {
      throw new Error(`FakeFetch: unexpected request #${this.calls.length} to ${url}`);
    }
    if (typeof script === "function") {
      return Promise.resolve(script(call)).then((r) => this.response(r));
    }
    if ("kind" in script) {
      switch (script.kind) {
        case "reject":
          return Promise.reject(script.error ?? new TypeError("fetch failed"));
        case "throw":
          throw script.error ?? new TypeError("synchronous fetch failure");
        case "never":
          return new Promise(() => {});
        case "resolve":
          return Promise.resolve(script.value) as ReturnType<FetchLike>;
        case "textRejects":
          return Promise.resolve({
            status: script.status,
            headers: { get: () => null },
            text: () => {
              this.textReads++;
              return Promise.reject(new TypeError("terminated"));
            },
          });
      }
    }
    return Promise.resolve(this.response(script));
  };

  private response(r: Reply): Awaited<ReturnType<FetchLike>> {
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: r.status,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: () => {
        this.textReads++;
        return Promise.resolve(r.body ?? "");
      },
    };
  }
}

/** A clock the test moves by hand; counts its readings. */
export class FakeClock {
  reads = 0;
  constructor(public now = 1_700_000_000_000) {}
  readonly clock: Clock = () => {
    this.reads++;
    return this.now;
  };
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A sleep that records each request and advances the clock instead of waiting. */
export class FakeSleep {
  readonly requested: number[] = [];
  /** When set, the next sleeps never resolve (to abort during one). */
  hang = false;
  /** Resolves when a sleep is requested (the latest one). */
  private waiters: Array<() => void> = [];
  constructor(private readonly clock: FakeClock) {}
  readonly sleep = (ms: number): Promise<void> => {
    this.requested.push(ms);
    const ws = this.waiters;
    this.waiters = [];
    ws.forEach((w) => w());
    if (this.hang) return new Promise(() => {});
    this.clock.advance(ms);
    return Promise.resolve();
  };
  /** A promise that settles when the next sleep is requested. */
  nextSleep(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export function deps(fetch: FakeFetch, clock: FakeClock, extra: Partial<DeviceFlowDeps> = {}): DeviceFlowDeps {
  return { fetch: fetch.fetch, clock: clock.clock, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Tokens

const b64url = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

/** An unsigned compact JWS with the given payload (the module never verifies signatures). */
export function jwt(payload: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.c2lnbmF0dXJl`;
}

/** WHATWG form encoding of one value, as URLSearchParams writes it. */
export function formEncode(s: string): string {
  return new URLSearchParams({ x: s }).toString().slice(2);
}

export function form(pairs: Array<[string, string]>): string {
  return new URLSearchParams(pairs).toString();
}

/** The request shape every call must have. */
export function assertWire(
  call: RecordedCall | undefined,
  expected: { url: string; headers: Record<string, string>; body: string },
): void {
  assert.ok(call, "a request was made");
  assert.equal(call.url, expected.url);
  assert.equal(call.method, "POST");
  assert.equal(call.redirect, "manual");
  assert.deepEqual(lowerKeys(call.headers), lowerKeys(expected.headers), "headers (names case-insensitive)");
  assert.equal(call.body, expected.body);
  const allowed = ["body", "headers", "method", "redirect", "signal"];
  for (const k of call.initKeys) assert.ok(allowed.includes(k), `unexpected init member ${k}`);
}

export function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

export const JSON_HEADERS = { Accept: "application/json", "Content-Type": "application/json" };
export const FORM_HEADERS = { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" };

// ---------------------------------------------------------------------------------------------
// Errors

export interface ExpectedError {
  code: OAuthErrorCode;
  retryable?: boolean;
  status?: number;
  serverCode?: string;
  retryAfterMs?: number;
}

const RETRYABLE: ReadonlySet<OAuthErrorCode> = new Set([
  "server_error",
  "network_error",
  "invalid_response",
  "redirect",
  "storage_error",
]);

/** Checks class, name, code, retryable, status/serverCode/retryAfterMs and the toJSON shape. */
export function assertOAuthError(e: unknown, expected: ExpectedError): OAuthDeviceFlowError {
  assert.ok(e instanceof OAuthDeviceFlowError, `expected OAuthDeviceFlowError, got ${inspect(e)}`);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "OAuthDeviceFlowError");
  assert.equal(e.code, expected.code, `code (message: ${e.message})`);
  assert.equal(e.retryable, expected.retryable ?? RETRYABLE.has(expected.code), "retryable");
  assert.equal(e.status, expected.status, "status");
  if ("serverCode" in expected) assert.equal(e.serverCode, expected.serverCode, "serverCode");
  if ("retryAfterMs" in expected) assert.equal(e.retryAfterMs, expected.retryAfterMs, "retryAfterMs");
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0, "a message that helps a person act");
  const j = e.toJSON();
  const expectedKeys = ["name", "code", "retryable", "message"];
  if (e.status !== undefined) expectedKeys.push("status");
  if (e.serverCode !== undefined) expectedKeys.push("serverCode");
  if (e.retryAfterMs !== undefined) expectedKeys.push("retryAfterMs");
  assert.deepEqual(Object.keys(j).sort(), expectedKeys.sort(), "toJSON keys");
  assert.equal(j.name, "OAuthDeviceFlowError");
  assert.equal(j.code, e.code);
  assert.equal(j.retryable, e.retryable);
  assert.equal(j.status, e.status);
  assert.equal(j.serverCode, e.serverCode);
  assert.equal(j.retryAfterMs, e.retryAfterMs);
  assert.equal(j.message, e.message);
  assert.deepEqual(JSON.parse(JSON.stringify(e)), JSON.parse(JSON.stringify(j)));
  return e;
}

/** Awaits `p`, which must reject with the expected OAuthDeviceFlowError. */
export async function rejectsWith(p: Promise<unknown>, expected: ExpectedError): Promise<OAuthDeviceFlowError> {
  assert.ok(p instanceof Promise, "an async export returns a promise");
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a rejection with ${expected.code}`);
  return assertOAuthError(caught, expected);
}

/** Calls `f` (which must not throw synchronously) and expects its promise to reject. */
export async function callRejects(f: () => Promise<unknown>, expected: ExpectedError): Promise<OAuthDeviceFlowError> {
  let p: Promise<unknown>;
  try {
    p = f();
  } catch (e) {
    assert.fail(`threw synchronously instead of rejecting: ${inspect(e)}`);
  }
  return rejectsWith(p, expected);
}

/** Calls a synchronous export that must throw. */
export function throwsWith(f: () => unknown, expected: ExpectedError): OAuthDeviceFlowError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a throw with ${expected.code}`);
  return assertOAuthError(caught, expected);
}

/** No secret in any way a host might print the error. */
export function assertNoSecrets(e: unknown, secrets: readonly string[]): void {
  assert.ok(e instanceof OAuthDeviceFlowError);
  const views: Record<string, string> = {
    message: e.message,
    stack: String(e.stack),
    "JSON.stringify": JSON.stringify(e),
    String: String(e),
    inspect: inspect(e, { depth: 5 }),
  };
  for (const [view, text] of Object.entries(views)) {
    for (const s of secrets) {
      assert.ok(!text.includes(s), `${view} leaks a secret (${s.slice(0, 6)}...): ${text.slice(0, 400)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

export const ISSUER = "http://127.0.0.1:8080";
export const T0 = 1_700_000_000_000;

export function codexCode(overrides: Partial<DeviceCode> = {}): DeviceCode {
  return {
    deviceCode: "dev_auth_id_CANARY_7f3a9c",
    userCode: "ABCD-1234",
    verificationUri: `${ISSUER}/codex/device`,
    intervalMs: 5000,
    expiresAt: T0 + 15 * 60_000,
    ...overrides,
  };
}

export function rfcCode(overrides: Partial<DeviceCode> = {}): DeviceCode {
  return {
    deviceCode: "rfc_device_code_CANARY_51d0e",
    userCode: "WDJB-MJHT",
    verificationUri: "https://idp.example.com/device",
    verificationUriComplete: "https://idp.example.com/device?user_code=WDJB-MJHT",
    intervalMs: 5000,
    expiresAt: T0 + 600_000,
    ...overrides,
  };
}

/** Lets pending promise callbacks run (a few macrotask turns, no real waiting). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
