/**
 * Every error code reachable from JS: class, name, code, retryable, status, toJSON; rejection (never
 * a synchronous throw) for garbage arguments; no secret in any printed form of an error; and the
 * module keeps working after each error.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, test } from "node:test";
import {
  OAuthDeviceFlowError,
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
  type DeviceCode,
  type DeviceFlowDeps,
  type OAuthProvider,
} from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  FakeSleep,
  ISSUER,
  T0,
  assertNoSecrets,
  callRejects,
  codexCode,
  deps,
  html,
  json,
  rejectsWith,
  rfcCode,
  settle,
  throwsWith,
  type ExpectedError,
  type Script,
} from "./support/fakes.ts";

// Canaries: none of these may ever appear in an error.
const RT = "rt_CANARY_refresh_4b1d2c";
const AT = "at_CANARY_access_8e7f01";
const CS = "cs_CANARY_secret_77aa31";
const AC = "ac_CANARY_authcode_9a8b";
const CV = "cv_CANARY_verifier_7d6e";
const CODEX_DC = codexCode().deviceCode;
const RFC_DC = rfcCode().deviceCode;
const BASIC = Buffer.from(`cli:${CS}`, "utf8").toString("base64");
const SECRETS = [RT, AT, CS, AC, CV, CODEX_DC, RFC_DC, BASIC];

const codex = openaiCodexProvider({ issuer: ISSUER, headers: { "User-Agent": "tests/1" } });
const rfc = rfc8628Provider({
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
  scope: "openid",
});
const rfcPost = rfc8628Provider({
  clientId: "cli",
  clientSecret: CS,
  clientAuth: "client_secret_post",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
});
const rfcBasic = rfc8628Provider({ ...rfcPost, clientAuth: "client_secret_basic" });
const prevTokens = { accessToken: AT, tokenType: "Bearer", refreshToken: RT, idToken: "idt", scope: "openid" };

/** A successful refresh through a fresh fake: proves the module still works after an error. */
async function assertStillWorks(): Promise<void> {
  const f = new FakeFetch(json(200, { access_token: "at_after", refresh_token: "rt_after" }));
  const t = await refreshAccessToken(codex, "rt_before", deps(f, new FakeClock(T0)));
  assert.equal(t.accessToken, "at_after");
  const f2 = new FakeFetch(json(400, { error: "authorization_pending" }));
  assert.equal((await pollDeviceToken(rfc, rfcCode(), deps(f2, new FakeClock(T0)))).status, "pending");
}

interface Case {
  name: string;
  expected: ExpectedError;
  replies?: Script[];
  clock?: number;
  extraDeps?: Partial<DeviceFlowDeps>;
  call: (d: DeviceFlowDeps) => Promise<unknown>;
  /** How many requests must have been made (default: all scripted replies). */
  requests?: number;
  check?: (e: OAuthDeviceFlowError, f: FakeFetch) => void;
}

const exchangeOk = () => json(200, { authorization_code: AC, code_verifier: CV, code_challenge: "cc" });
const refreshCodex = (d: DeviceFlowDeps) => refreshAccessToken(codex, RT, d);
const refreshCodexTokens = (d: DeviceFlowDeps) => refreshAccessToken(codex, prevTokens, d);
const refreshRfc = (d: DeviceFlowDeps) => refreshAccessToken(rfcPost, prevTokens, d);
const pollCodex = (d: DeviceFlowDeps) => pollDeviceToken(codex, codexCode(), d);
const pollRfc = (d: DeviceFlowDeps) => pollDeviceToken(rfcPost, rfcCode(), d);

const cases: Case[] = [
  // access_denied
  { name: "rfc8628 poll access_denied", replies: [json(400, { error: "access_denied" })], call: pollRfc, expected: { code: "access_denied", retryable: false, status: 400, serverCode: "access_denied" } },
  { name: "openai-codex poll access_denied in error.code on a 403", replies: [json(403, { error: { code: "access_denied" } })], call: pollCodex, expected: { code: "access_denied", status: 403 } },
  // expired_token
  { name: "expired_token by the clock (rfc8628 poll, no request)", clock: rfcCode().expiresAt + 1, call: pollRfc, expected: { code: "expired_token", retryable: false }, requests: 0 },
  { name: "expired_token by the clock (openai-codex poll at exactly expiresAt, no request)", clock: codexCode().expiresAt, call: pollCodex, expected: { code: "expired_token" }, requests: 0 },
  { name: "expired_token by the server (rfc8628)", replies: [json(400, { error: "expired_token" })], call: pollRfc, expected: { code: "expired_token", status: 400 } },
  { name: "expired_token by the server (openai-codex deviceauth_expired)", replies: [json(410, { error: { code: "deviceauth_expired" } })], call: pollCodex, expected: { code: "expired_token", status: 410 } },
  // device_flow_disabled
  { name: "device_flow_disabled: openai-codex user-code 404", replies: [html(404)], call: (d) => requestDeviceCode(codex, d), expected: { code: "device_flow_disabled", retryable: false, status: 404 } },
  // invalid_grant
  { name: "invalid_grant: rfc8628 refresh invalid_grant", replies: [json(400, { error: "invalid_grant" })], call: refreshRfc, expected: { code: "invalid_grant", retryable: false, status: 400, serverCode: "invalid_grant" } },
  { name: "invalid_grant: openai-codex refresh 401 with an empty body", replies: [{ status: 401 }], call: refreshCodex, expected: { code: "invalid_grant", status: 401 } },
  { name: "invalid_grant: refresh 401 with JSON without a code", replies: [json(401, { error: { message: "Unauthorized" } })], call: refreshCodex, expected: { code: "invalid_grant", status: 401 } },
  { name: "invalid_grant: openai-codex code exchange 401 {}", replies: [exchangeOk(), json(401, {})], call: pollCodex, expected: { code: "invalid_grant", status: 401 } },
  // refresh_token_*
  { name: "refresh_token_expired (error string, any casing and spaces)", replies: [json(400, { error: " Refresh_Token_Expired " })], call: refreshCodex, expected: { code: "refresh_token_expired", retryable: false, status: 400, serverCode: "refresh_token_expired" } },
  { name: "refresh_token_reused (error.code on a 401)", replies: [json(401, { error: { code: "refresh_token_reused", message: "already used" } })], call: refreshCodexTokens, expected: { code: "refresh_token_reused", status: 401 } },
  { name: "refresh_token_invalidated (top-level code)", replies: [json(401, { code: "refresh_token_invalidated" })], call: refreshCodex, expected: { code: "refresh_token_invalidated", status: 401 } },
  { name: "refresh_token_reused even on a 200", replies: [json(200, { error: "refresh_token_reused" })], call: refreshCodex, expected: { code: "refresh_token_reused", status: 200 } },
  // oauth_error
  { name: "oauth_error with serverCode (rfc8628 invalid_client)", replies: [json(401, { error: "invalid_client", error_description: "Client authentication failed" })], call: refreshRfc, expected: { code: "oauth_error", retryable: false, status: 401, serverCode: "invalid_client" } },
  { name: "oauth_error serverCode is sanitised (lowercase, [a-z0-9_.-] only)", replies: [json(400, { error: " Invalid Client! (x) " })], call: (d) => requestDeviceCode(rfc, d), expected: { code: "oauth_error", status: 400, serverCode: "invalidclientx" } },
  { name: "oauth_error serverCode is cut to 64 characters", replies: [json(400, { error: "e".repeat(100) })], call: refreshCodex, expected: { code: "oauth_error", status: 400, serverCode: "e".repeat(64) } },
  { name: "oauth_error: a 2xx with an error code and no success fields", replies: [json(200, { error: "unauthorized_client" })], call: refreshCodex, expected: { code: "oauth_error", status: 200, serverCode: "unauthorized_client" } },
  // server_error
  { name: "server_error: 500 with an HTML page", replies: [html(500)], call: refreshCodex, expected: { code: "server_error", retryable: true, status: 500 } },
  { name: "server_error: 503 with Retry-After seconds", replies: [{ status: 503, headers: { "Retry-After": "120" } }], call: pollRfc, expected: { code: "server_error", status: 503, retryAfterMs: 120_000 } },
  { name: "server_error: 429 with Retry-After as an HTTP date on the clock", clock: Date.UTC(2015, 9, 21, 7, 28, 0), replies: [json(429, {}, { "retry-after": "Wed, 21 Oct 2015 07:28:30 GMT" })], call: refreshCodex, expected: { code: "server_error", status: 429, retryAfterMs: 30_000 } },
  { name: "server_error: a past Retry-After date gives 0", clock: Date.UTC(2015, 9, 21, 7, 28, 0), replies: [{ status: 503, headers: { "Retry-After": "Wed, 21 Oct 2015 07:00:00 GMT" } }], call: refreshCodex, expected: { code: "server_error", status: 503, retryAfterMs: 0 } },
  { name: "server_error: 503 with an unknown OAuth code keeps it as serverCode", replies: [json(503, { error: "temporarily_unavailable" })], call: (d) => revokeToken(codex, RT, d), expected: { code: "server_error", status: 503, serverCode: "temporarily_unavailable" } },
  // network_error
  { name: "network_error: fetch rejects", replies: [{ kind: "reject", error: new TypeError(`fetch failed for ${RT}`) }], call: refreshCodex, expected: { code: "network_error", retryable: true } },
  { name: "network_error: fetch throws synchronously", replies: [{ kind: "throw", error: new Error(`boom ${AT}`) }], call: pollRfc, expected: { code: "network_error" } },
  { name: "network_error: reading the body rejects", replies: [{ kind: "textRejects", status: 200 }], call: refreshCodex, expected: { code: "network_error" } },
  { name: "network_error: a poll whose exchange fetch rejects", replies: [exchangeOk(), { kind: "reject" }], call: pollCodex, expected: { code: "network_error" } },
  // invalid_response
  { name: "invalid_response: HTML on 200", replies: [html(200)], call: refreshCodex, expected: { code: "invalid_response", retryable: true, status: 200 } },
  { name: "invalid_response: HTML on 400", replies: [html(400)], call: pollRfc, expected: { code: "invalid_response", status: 400 } },
  { name: "invalid_response: 200 JSON without access_token", replies: [json(200, { token_type: "bearer" })], call: refreshRfc, expected: { code: "invalid_response", status: 200 } },
  { name: "invalid_response: 200 with access_token of the wrong type", replies: [json(200, { access_token: 42 })], call: refreshCodex, expected: { code: "invalid_response", status: 200 } },
  { name: "invalid_response: 200 JSON array", replies: [json(200, [1, 2])], call: (d) => requestDeviceCode(codex, d), expected: { code: "invalid_response", status: 200 } },
  { name: "invalid_response: body over 64 KiB (UTF-8 bytes, fewer UTF-16 units)", replies: [json(200, { access_token: "at", pad: "é".repeat(33_000) })], call: refreshCodex, expected: { code: "invalid_response", status: 200 } },
  { name: "invalid_response: Content-Length over 64 KiB, body not read", replies: [{ status: 200, headers: { "Content-Length": "65537" }, body: '{"access_token":"at"}' }], call: refreshCodex, expected: { code: "invalid_response", status: 200 }, check: (_e, f) => assert.equal(f.textReads, 0) },
  { name: "a body of exactly 64 KiB is still read (the limit is exclusive)", replies: [{ status: 500, body: "x".repeat(65_536) }], call: refreshCodex, expected: { code: "server_error", status: 500 } },
  { name: "invalid_response: body of 64 KiB + 1 byte", replies: [{ status: 500, body: "x".repeat(65_537) }], call: refreshCodex, expected: { code: "invalid_response", status: 500 } },
  { name: "invalid_response: a status the protocol does not use", replies: [{ status: 600, body: "{}" }], call: refreshCodex, expected: { code: "invalid_response", status: 600 } },
  // redirect
  { name: "redirect: 302 on refresh, body not read", replies: [{ status: 302, headers: { Location: "https://portal.example/login" }, body: "<html>login</html>" }], call: refreshCodex, expected: { code: "redirect", retryable: true, status: 302 }, check: (_e, f) => assert.equal(f.textReads, 0) },
  { name: "redirect: 307 on a revocation", replies: [{ status: 307 }], call: (d) => revokeToken(rfc, RT, d), expected: { code: "redirect", status: 307 } },
  { name: "redirect: 301 on the openai-codex poll", replies: [{ status: 301 }], call: pollCodex, expected: { code: "redirect", status: 301 } },
  // invalid_config through the fetch
  { name: "invalid_config: fetch resolves to {}", replies: [{ kind: "resolve", value: {} }], call: refreshCodex, expected: { code: "invalid_config", retryable: false } },
  { name: "invalid_config: fetch resolves to 42", replies: [{ kind: "resolve", value: 42 }], call: pollRfc, expected: { code: "invalid_config" } },
  { name: "invalid_config: fetch resolves to null", replies: [{ kind: "resolve", value: null }], call: (d) => requestDeviceCode(codex, d), expected: { code: "invalid_config" } },
  { name: "invalid_config: fetch resolves to an object without headers", replies: [{ kind: "resolve", value: { status: 200, text: async () => "{}" } }], call: refreshCodex, expected: { code: "invalid_config" } },
  { name: "invalid_config: text() resolves to a non-string", replies: [{ kind: "resolve", value: { status: 200, headers: { get: () => null }, text: async () => 42 } }], call: refreshCodex, expected: { code: "invalid_config" } },
  { name: "invalid_config: status is a string", replies: [{ kind: "resolve", value: { status: "200", headers: { get: () => null }, text: async () => "{}" } }], call: refreshCodex, expected: { code: "invalid_config" } },
  // more classification rules
  { name: "rule 1 beats rule 2: refresh_token_expired on a 503", replies: [json(503, { error: "refresh_token_expired" }, { "Retry-After": "5" })], call: refreshCodex, expected: { code: "refresh_token_expired", status: 503 } },
  { name: "invalid_response: refresh reply with an empty access_token", replies: [json(200, { access_token: "", refresh_token: "rt_new" })], call: refreshCodex, expected: { code: "invalid_response", status: 200 } },
  { name: "invalid_response: a 204 with no body on refresh", replies: [{ status: 204 }], call: refreshRfc, expected: { code: "invalid_response", status: 204 } },
  { name: "invalid_response: openai-codex poll 200 {}", replies: [json(200, {})], call: pollCodex, expected: { code: "invalid_response", status: 200 } },
  { name: "oauth_error: openai-codex poll 200 with an unknown code and no authorization_code", replies: [json(200, { error: { code: "odd" } })], call: pollCodex, expected: { code: "oauth_error", status: 200, serverCode: "odd" } },
  // invalid_config: arguments
  { name: "invalid_config: refresh of tokens without refreshToken (no request)", call: (d) => refreshAccessToken(codex, { accessToken: AT, tokenType: "Bearer" }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: refresh of tokens whose refreshToken is empty (no request)", call: (d) => refreshAccessToken(codex, { ...prevTokens, refreshToken: "" }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: revoke of an empty token (no request)", call: (d) => revokeToken(codex, "", d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: rfc8628 revoke without revocationEndpoint (no request)", call: (d) => revokeToken({ ...rfc, revocationEndpoint: undefined } as OAuthProvider, RT, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: a hand-built openai-codex provider with scope", call: (d) => requestDeviceCode({ ...codex, scope: "openid" }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: a hand-built openai-codex provider with clientAuth client_secret_basic", call: (d) => refreshAccessToken({ ...codex, clientAuth: "client_secret_basic", clientSecret: CS }, RT, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: a hand-built provider with kind other", call: (d) => requestDeviceCode({ ...rfc, kind: "other" as never }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: provider header naming Authorization", call: (d) => refreshAccessToken({ ...rfc, headers: { authorization: `Bearer ${AT}` } }, RT, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: extraParams repeating scope", call: (d) => requestDeviceCode({ ...rfc, extraParams: { scope: "x" } }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: code with intervalMs 0", call: (d) => pollDeviceToken(rfc, rfcCode({ intervalMs: 0 }), d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: code without deviceCode", call: (d) => pollDeviceToken(rfc, { ...rfcCode(), deviceCode: "" }, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: code {}", call: (d) => pollDeviceToken(codex, {} as DeviceCode, d), expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: timeoutMs -1", extraDeps: { timeoutMs: -1 }, call: refreshCodex, expected: { code: "invalid_config" }, requests: 0 },
  { name: "invalid_config: signal that is not an AbortSignal", extraDeps: { signal: {} as AbortSignal }, call: refreshCodex, expected: { code: "invalid_config" }, requests: 0 },
  // insecure_endpoint
  { name: "insecure_endpoint: hand-built rfc8628 provider with an http token endpoint (refresh, no request)", call: (d) => refreshAccessToken({ ...rfc, tokenEndpoint: "http://idp.example.com/token" }, RT, d), expected: { code: "insecure_endpoint", retryable: false }, requests: 0 },
  { name: "insecure_endpoint: hand-built openai-codex provider with an http poll endpoint (no request)", call: (d) => pollDeviceToken({ ...codex, devicePollEndpoint: "http://evil.example/poll" }, codexCode(), d), expected: { code: "insecure_endpoint" }, requests: 0 },
  { name: "insecure_endpoint: http revocation endpoint on a non-loopback IP (no request)", call: (d) => revokeToken({ ...rfc, revocationEndpoint: "http://192.168.1.10/revoke" }, RT, d), expected: { code: "insecure_endpoint" }, requests: 0 },
  // aborted (already)
  { name: "aborted: signal already aborted, requestDeviceCode makes no request", extraDeps: { signal: AbortSignal.abort() }, call: (d) => requestDeviceCode(codex, d), expected: { code: "aborted", retryable: false }, requests: 0 },
  { name: "aborted: signal already aborted, poll makes no request", extraDeps: { signal: AbortSignal.abort() }, call: pollRfc, expected: { code: "aborted" }, requests: 0 },
  { name: "aborted: signal already aborted, refresh makes no request", extraDeps: { signal: AbortSignal.abort() }, call: refreshCodex, expected: { code: "aborted" }, requests: 0 },
  { name: "aborted: signal already aborted, revoke makes no request", extraDeps: { signal: AbortSignal.abort() }, call: (d) => revokeToken(rfcBasic, RT, d), expected: { code: "aborted" }, requests: 0 },
];

describe("error cases: class, code, retryable, status, toJSON, no secrets, module keeps working", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const f = new FakeFetch(...(c.replies ?? []));
      const d = deps(f, new FakeClock(c.clock ?? T0), c.extraDeps);
      const e = await callRejects(() => c.call(d), c.expected);
      assert.equal(f.calls.length, c.requests ?? c.replies?.length ?? 0, "requests made");
      c.check?.(e, f);
      assertNoSecrets(e, SECRETS);
      await assertStillWorks();
    });
  }
});

describe("invalid_config for deps and clock", () => {
  const badDeps: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["a string", "deps"],
    ["{}", {}],
    ["fetch only", { fetch: () => Promise.resolve() }],
    ["clock only", { clock: () => T0 }],
    ["fetch not a function", { fetch: "https://x", clock: () => T0 }],
    ["clock not a function", { fetch: () => Promise.resolve(), clock: T0 }],
  ];
  for (const [what, d] of badDeps) {
    test(`deps ${what}: every async export rejects invalid_config`, async () => {
      const dd = d as DeviceFlowDeps;
      await callRejects(() => requestDeviceCode(codex, dd), { code: "invalid_config" });
      await callRejects(() => pollDeviceToken(rfc, rfcCode(), dd), { code: "invalid_config" });
      await callRejects(() => waitForDeviceToken(rfc, rfcCode(), dd), { code: "invalid_config" });
      await callRejects(() => refreshAccessToken(codex, RT, dd), { code: "invalid_config" });
      const e = await callRejects(() => revokeToken(codex, RT, dd), { code: "invalid_config" });
      assertNoSecrets(e, SECRETS);
      await assertStillWorks();
    });
  }

  const badClocks: Array<[string, () => unknown]> = [
    ["NaN", () => NaN],
    ["-1", () => -1],
    ["a string", () => "1700000000000"],
    ["Infinity", () => Infinity],
    ["undefined", () => undefined],
    ["a throwing clock", () => {
      throw new Error("clock broke");
    }],
  ];
  for (const [what, clock] of badClocks) {
    test(`a clock returning ${what} rejects invalid_config before any request`, async () => {
      const f = new FakeFetch(json(200, { access_token: "x" }));
      const d = { fetch: f.fetch, clock: clock as () => number };
      await callRejects(() => requestDeviceCode(rfc, d), { code: "invalid_config" });
      await callRejects(() => pollDeviceToken(codex, codexCode(), d), { code: "invalid_config" });
      await callRejects(() => waitForDeviceToken(codex, codexCode(), { ...d, sleep: async () => {} }), {
        code: "invalid_config",
      });
      await callRejects(() => refreshAccessToken(rfc, RT, d), { code: "invalid_config" });
      await callRejects(() => revokeToken(rfc, RT, d), { code: "invalid_config" });
      assert.equal(f.calls.length, 0);
      throwsWith(() => isAccessTokenExpired({ accessToken: AT, tokenType: "Bearer", expiresAt: T0 }, d.clock), {
        code: "invalid_config",
      });
      await assertStillWorks();
    });
  }
});

describe("async exports reject (never throw synchronously) for garbage arguments", () => {
  // Not "x": a non-empty string is a valid refresh token / revocation token.
  const garbage: unknown[] = [undefined, null, 0, 42, NaN, -1, "", true, [], {}, () => 1, Symbol("s"), 10n];
  test("requestDeviceCode, pollDeviceToken, waitForDeviceToken, refreshAccessToken, revokeToken with garbage in every position", async () => {
    const f = new FakeFetch();
    const good = deps(f, new FakeClock(T0));
    const a = (v: unknown) => v as never;
    for (const g of garbage) {
      const calls: Array<() => Promise<unknown>> = [
        () => requestDeviceCode(a(g), a(g)),
        () => requestDeviceCode(a(g), good),
        () => requestDeviceCode(codex, a(g)),
        () => pollDeviceToken(a(g), a(g), a(g)),
        () => pollDeviceToken(rfc, a(g), good),
        () => pollDeviceToken(a(g), rfcCode(), good),
        () => pollDeviceToken(rfc, rfcCode(), a(g)),
        () => waitForDeviceToken(a(g), a(g), a(g)),
        () => waitForDeviceToken(rfc, a(g), { ...good, sleep: async () => {} }),
        () => waitForDeviceToken(rfc, rfcCode(), a(g)),
        () => refreshAccessToken(a(g), a(g), a(g)),
        () => refreshAccessToken(codex, a(g), good),
        () => refreshAccessToken(a(g), RT, good),
        () => revokeToken(a(g), a(g), a(g)),
        () => revokeToken(codex, a(g), good),
        () => revokeToken(a(g), RT, good),
      ];
      for (const call of calls) {
        const e = await callRejects(call, { code: "invalid_config" });
        assertNoSecrets(e, SECRETS);
      }
    }
    assert.equal(f.calls.length, 0);
    await assertStillWorks();
  });

  test("a circular provider object and a provider with a getter that throws reject invalid_config", async () => {
    const circular: Record<string, unknown> = { ...rfc };
    circular["self"] = circular;
    const f = new FakeFetch();
    await callRejects(() => refreshAccessToken(circular as never, RT, deps(f, new FakeClock(T0))), {
      code: "invalid_config",
    });
    const throwing = Object.defineProperty({ ...rfc }, "clientId", {
      get() {
        throw new Error("getter");
      },
      enumerable: true,
    });
    await callRejects(() => refreshAccessToken(throwing, RT, deps(f, new FakeClock(T0))), { code: "invalid_config" });
    assert.equal(f.calls.length, 0);
    await assertStillWorks();
  });

  test("synchronous helpers throw OAuthDeviceFlowError invalid_config for garbage; decodeTokenClaims never throws", () => {
    const primitives: unknown[] = [undefined, null, 0, 42, NaN, "", "x", true, () => 1, Symbol("s"), 10n];
    for (const g of primitives) {
      const a = g as never;
      throwsWith(() => isAccessTokenExpired(a, () => T0), { code: "invalid_config" });
      throwsWith(() => codexAuthHeaders(a), { code: "invalid_config" });
      throwsWith(() => rfc8628Provider(a), { code: "invalid_config" });
    }
    for (const g of [...primitives, [], {}, { accessToken: 42, idToken: {} }]) {
      assert.deepEqual(decodeTokenClaims(g as never), {});
    }
    for (const g of [0, 42, "", "x", true, [], () => 1, Symbol("s"), 10n]) {
      throwsWith(() => openaiCodexProvider(g as never), { code: "invalid_config" });
    }
    throwsWith(() => codexAuthHeaders({ accessToken: "", tokenType: "Bearer" }), { code: "invalid_config" });
    throwsWith(() => codexAuthHeaders({ accessToken: "a\r\nX-Injected: 1", tokenType: "Bearer" }), { code: "invalid_config" });
    throwsWith(() => isAccessTokenExpired({ accessToken: AT, tokenType: "Bearer" }, 5 as never), { code: "invalid_config" });
    throwsWith(() => isAccessTokenExpired({ accessToken: AT, tokenType: "Bearer" }, () => T0, NaN), { code: "invalid_config" });
    throwsWith(() => isAccessTokenExpired({ accessToken: AT, tokenType: "Bearer", expiresAt: NaN }, () => T0), { code: "invalid_config" });
  });

  test("openaiCodexProvider(NaN) and (Infinity) throw invalid_config: they are not an options object", () => {
    // JSON.stringify(NaN) is "null", which the adapter reads as "no options" (src/wasm/js.rs to_value).
    throwsWith(() => openaiCodexProvider(NaN as never), { code: "invalid_config" });
    throwsWith(() => openaiCodexProvider(Infinity as never), { code: "invalid_config" });
  });

  test(
    "isAccessTokenExpired throws invalid_config for an array or an object without accessToken",
    () => {
      throwsWith(() => isAccessTokenExpired([] as never, () => T0), { code: "invalid_config" });
      throwsWith(() => isAccessTokenExpired({} as never, () => T0), { code: "invalid_config" });
    },
  );
});

describe("network timeouts and aborts in flight", () => {
  test("timeoutMs with a never-resolving fetch rejects network_error promptly", async () => {
    const f = new FakeFetch({ kind: "never" });
    const started = Date.now();
    const e = await callRejects(() => refreshAccessToken(codex, RT, deps(f, new FakeClock(T0), { timeoutMs: 20 })), {
      code: "network_error",
      retryable: true,
    });
    assert.ok(Date.now() - started < 2000);
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0]!.hasSignal, true, "fetch gets a signal when timeoutMs is set");
    assertNoSecrets(e, SECRETS);
    await assertStillWorks();
  });

  test(
    "a fetch that timed out is cancelled through the signal it was given",
    async () => {
      const f = new FakeFetch({ kind: "never" });
      await callRejects(() => refreshAccessToken(codex, RT, deps(f, new FakeClock(T0), { timeoutMs: 20 })), {
        code: "network_error",
      });
      await settle();
      assert.equal(f.calls[0]!.signal?.aborted, true, "the timed-out fetch is cancelled");
    },
  );

  test("timeoutMs also bounds reading the body", async () => {
    const f = new FakeFetch({
      kind: "resolve",
      value: { status: 200, headers: { get: () => null }, text: () => new Promise(() => {}) },
    });
    await callRejects(() => pollDeviceToken(rfc, rfcCode(), deps(f, new FakeClock(T0), { timeoutMs: 20 })), {
      code: "network_error",
    });
    await assertStillWorks();
  });

  test("a fetch that answers within timeoutMs succeeds", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_fast" }));
    const t = await refreshAccessToken(codex, RT, deps(f, new FakeClock(T0), { timeoutMs: 5000 }));
    assert.equal(t.accessToken, "at_fast");
  });

  test("aborting mid-fetch rejects aborted promptly and aborts the fetch's signal", async () => {
    const f = new FakeFetch({ kind: "never" });
    const ctrl = new AbortController();
    const p = refreshAccessToken(codex, RT, deps(f, new FakeClock(T0), { signal: ctrl.signal }));
    await settle();
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0]!.signal?.aborted, false);
    ctrl.abort();
    const e = await rejectsWith(p, { code: "aborted", retryable: false });
    assert.equal(f.calls[0]!.signal?.aborted, true);
    assertNoSecrets(e, SECRETS);
    await assertStillWorks();
  });

  test("no abort listener is left on the host's signal after success, failure or a whole wait", async () => {
    const ctrl = new AbortController();
    await refreshAccessToken(codex, RT, deps(new FakeFetch(json(200, { access_token: "a" })), new FakeClock(T0), { signal: ctrl.signal, timeoutMs: 5000 }));
    await callRejects(() => refreshAccessToken(codex, RT, deps(new FakeFetch(html(500)), new FakeClock(T0), { signal: ctrl.signal })), {
      code: "server_error",
      status: 500,
    });
    const clock = new FakeClock(T0);
    const sleep = new FakeSleep(clock);
    const f = new FakeFetch(json(400, { error: "authorization_pending" }), html(503), json(200, { access_token: "a" }));
    await waitForDeviceToken(rfc, rfcCode(), { fetch: f.fetch, clock: clock.clock, sleep: sleep.sleep, signal: ctrl.signal });
    assert.equal(getEventListeners(ctrl.signal, "abort").length, 0);
  });

  test("aborting between the openai-codex poll and the code exchange rejects aborted", async () => {
    const ctrl = new AbortController();
    const f = new FakeFetch(() => {
      ctrl.abort();
      return exchangeOk();
    });
    const e = await callRejects(() => pollDeviceToken(codex, codexCode(), deps(f, new FakeClock(T0), { signal: ctrl.signal })), {
      code: "aborted",
    });
    assert.ok(f.calls.length <= 1, "no exchange after the abort");
    assertNoSecrets(e, SECRETS);
    await assertStillWorks();
  });

  test("aborting while the body is being read rejects aborted", async () => {
    const ctrl = new AbortController();
    const f = new FakeFetch({
      kind: "resolve",
      value: {
        status: 200,
        headers: { get: () => null },
        text: () => {
          setImmediate(() => ctrl.abort());
          return new Promise(() => {});
        },
      },
    });
    await callRejects(() => refreshAccessToken(rfc, RT, deps(f, new FakeClock(T0), { signal: ctrl.signal })), {
      code: "aborted",
    });
    await assertStillWorks();
  });
});

describe("secrets never appear in errors", () => {
  const echo = (s: string) => `The token ${s} is not valid (you sent "${s}")`;
  const leakCases: Array<[string, Script[], (d: DeviceFlowDeps) => Promise<unknown>]> = [
    ["refresh: error_description echoes the refresh token (invalid_grant)", [json(400, { error: "invalid_grant", error_description: echo(RT) })], refreshCodex],
    ["refresh: error.message echoes the refresh token (refresh_token_reused)", [json(401, { error: { code: "refresh_token_reused", message: echo(RT) } })], refreshCodexTokens],
    ["refresh: 500 description echoes the refresh token and the old access token", [json(500, { error: "server_error", error_description: `${echo(RT)} ${echo(AT)}` })], refreshCodexTokens],
    ["refresh: oauth_error description echoes the client secret (client_secret_post)", [json(401, { error: "invalid_client", error_description: echo(CS) })], refreshRfc],
    ["refresh: description echoes the client secret (client_secret_basic)", [json(400, { error: "invalid_client", error_description: echo(CS) })], (d) => refreshAccessToken(rfcBasic, RT, d)],
    ["refresh: description echoes the Basic credentials (client_secret_basic)", [json(401, { error: "invalid_client", error_description: `bad Authorization: Basic ${BASIC}` })], (d) => refreshAccessToken(rfcBasic, RT, d)],
    ["poll: description echoes the device code", [json(400, { error: "weird_error", error_description: echo(RFC_DC) })], pollRfc],
    ["openai-codex poll: 403 message echoes the device_auth_id", [json(403, { error: { code: "blocked", message: echo(CODEX_DC) } })], pollCodex],
    ["openai-codex exchange: description echoes the authorization code and verifier", [exchangeOk(), json(400, { error: "invalid_grant", error_description: `${echo(AC)} ${echo(CV)}` })], pollCodex],
    ["revoke: description echoes the token", [json(400, { error: "invalid_request", error_description: echo(RT) })], (d) => revokeToken(rfcPost, RT, d)],
    ["device authorization: description echoes the client secret", [json(400, { error: "invalid_client", error_description: echo(CS) })], (d) => requestDeviceCode(rfcPost, d)],
    ["a non-JSON body that contains the refresh token", [{ status: 400, body: `refresh_token=${RT}` }], refreshCodex],
    ["an HTML 500 that contains the token", [html(500, `<p>${RT}</p>`)], refreshCodex],
  ];
  for (const [name, replies, call] of leakCases) {
    test(name, async () => {
      const f = new FakeFetch(...replies);
      const e = await callRejects(() => call(deps(f, new FakeClock(T0))), await probeError(replies, call));
      assertNoSecrets(e, SECRETS);
      await assertStillWorks();
    });
  }

  test("the server's description may appear, with the secret replaced and at most 200 characters", async () => {
    const f = new FakeFetch(json(400, { error: "invalid_grant", error_description: `${echo(RT)} ${"x ".repeat(300)}` }));
    const e = await callRejects(() => refreshCodex(deps(f, new FakeClock(T0))), { code: "invalid_grant", status: 400 });
    assert.match(e.message, /The token \[redacted\] is not valid/);
    const says = e.message.split("Server says: ")[1] ?? "";
    assert.ok(says.length <= 200, `description cut to 200 characters (${says.length})`);
  });

  test("a server error code that echoes the refresh token does not leak it through serverCode or the message", async () => {
    const lower = "rt_canary_lowercase_refresh_91ab";
    for (const [reply, code, status] of [
      [json(400, { error: lower }), "oauth_error", 400],
      [json(401, { error: { code: `bad_${lower}` } }), "oauth_error", 401],
      [json(503, { code: lower }), "server_error", 503],
    ] as const) {
      const f = new FakeFetch(reply);
      const e = await callRejects(() => refreshAccessToken(codex, lower, deps(f, new FakeClock(T0))), { code, status });
      assertNoSecrets(e, [lower]);
    }
    await assertStillWorks();
  });

  test(
    "a description that echoes the refresh token form-encoded does not leak it",
    async () => {
      const rt = "8xLOxBtZp8/Kq+Tm3a==";
      const f = new FakeFetch(
        json(400, { error: "invalid_grant", error_description: `bad body refresh_token=${encodeURIComponent(rt)}` }),
      );
      const e = await callRejects(() => refreshAccessToken(codex, rt, deps(f, new FakeClock(T0))), {
        code: "invalid_grant",
        status: 400,
      });
      assertNoSecrets(e, [rt, encodeURIComponent(rt), new URLSearchParams({ x: rt }).toString().slice(2)]);
    },
  );
});

/** What a scripted failure produces (run once on a throwaway fake), so leak cases need no table of codes. */
async function probeError(replies: Script[], call: (d: DeviceFlowDeps) => Promise<unknown>): Promise<ExpectedError> {
  try {
    await call(deps(new FakeFetch(...replies), new FakeClock(T0)));
  } catch (e) {
    assert.ok(e instanceof OAuthDeviceFlowError);
    return { code: e.code, status: e.status };
  }
  assert.fail("expected the call to fail");
}

describe("OAuthDeviceFlowError", () => {
  test("is constructible by hosts, with retryable defaulting from the code and toJSON omitting absent fields", () => {
    const e = new OAuthDeviceFlowError("server_error", "down", { status: 503, retryAfterMs: 1000 });
    assert.equal(e.retryable, true);
    assert.equal(e.name, "OAuthDeviceFlowError");
    assert.deepEqual(e.toJSON(), {
      name: "OAuthDeviceFlowError",
      code: "server_error",
      retryable: true,
      status: 503,
      retryAfterMs: 1000,
      message: "down",
    });
    const cause = new OAuthDeviceFlowError("refresh_token_reused", "reused");
    const r = new OAuthDeviceFlowError("reauth_required", "sign in again", { cause });
    assert.equal(r.retryable, false);
    assert.equal(r.cause, cause);
    assert.deepEqual(Object.keys(r.toJSON()).sort(), ["code", "message", "name", "retryable"]);
    assert.equal(String(r), "OAuthDeviceFlowError: sign in again");
    assert.equal(new OAuthDeviceFlowError("storage_error", "disk").retryable, true);
  });

  test("errors from the module have the class's prototype, a stack and String() naming the class", async () => {
    const e = await rejectsWith(refreshCodex(deps(new FakeFetch(html(502)), new FakeClock(T0))), {
      code: "server_error",
      status: 502,
    });
    assert.equal(Object.getPrototypeOf(e), OAuthDeviceFlowError.prototype);
    assert.match(String(e), /^OAuthDeviceFlowError: /);
    assert.match(String(e.stack), /^OAuthDeviceFlowError: /);
    assert.equal(e.cause, undefined);
  });
});
