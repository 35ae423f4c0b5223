/**
 * Host faults, for every async operation: a fetch that rejects, throws synchronously, never
 * resolves (ended by `signal` -> `aborted`, or `timeoutMs` -> `network_error`), or resolves to
 * something that is not a response; a response whose parts misbehave; a clock that returns NaN, a
 * negative or out-of-range number, a non-number or throws (`invalid_config`, before any request),
 * or goes backwards between operations (tolerated). Every failure is a typed OAuthDeviceFlowError
 * (no trap, no hang: `timeoutMs` is a real 1 ms timer, as the contract defines it), shows no secret
 * in any printed form, and the module keeps working afterwards.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  isAccessTokenExpired,
  openaiCodexProvider,
  pollDeviceToken,
  refreshAccessToken,
  requestDeviceCode,
  revokeToken,
  rfc8628Provider,
  type DeviceFlowDeps,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, ISSUER, T0, assertNoSecrets, callRejects, codexCode, deps, json, rfcCode, settle, type ExpectedError, type Script } from "./support/fakes.ts";

const RT = "rt_CANARY_hostfault_51a2";
const AT = "at_CANARY_hostfault_93bd";
const CS = "cs_CANARY_hostfault_c0de";
const AC = "ac_CANARY_hostfault_7e11";
const CV = "cv_CANARY_hostfault_4f4f";
const SECRETS = [RT, AT, CS, AC, CV, codexCode().deviceCode, rfcCode().deviceCode, Buffer.from(`cli:${CS}`).toString("base64")];

const codex = openaiCodexProvider({ issuer: ISSUER });
const rfcPost = rfc8628Provider({
  clientId: "cli",
  clientSecret: CS,
  clientAuth: "client_secret_post",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
  revocationEndpoint: "https://idp.example.com/revoke",
});
const rfcBasic = rfc8628Provider({ ...rfcPost, clientAuth: "client_secret_basic" });

interface Operation {
  name: string;
  /** Replies before the faulty request (the OpenAI approval before its code exchange). */
  before: Script[];
  call: (d: DeviceFlowDeps) => Promise<unknown>;
}

const operations: Operation[] = [
  { name: "requestDeviceCode", before: [], call: (d) => requestDeviceCode(rfcPost, d) },
  { name: "pollDeviceToken (rfc8628)", before: [], call: (d) => pollDeviceToken(rfcPost, rfcCode(), d) },
  {
    name: "pollDeviceToken (openai-codex code exchange)",
    before: [json(200, { authorization_code: AC, code_verifier: CV })],
    call: (d) => pollDeviceToken(codex, codexCode(), d),
  },
  { name: "refreshAccessToken", before: [], call: (d) => refreshAccessToken(codex, { accessToken: AT, tokenType: "Bearer", refreshToken: RT }, d) },
  { name: "revokeToken", before: [], call: (d) => revokeToken(rfcBasic, RT, d) },
];

const fakeResponse = (over: Record<string, unknown>) => ({ status: 200, headers: { get: () => null }, text: async () => "{}", ...over });

interface Fault {
  name: string;
  script: Script;
  expected: ExpectedError;
  timeoutMs?: number;
  /** Abort deps.signal once the faulty request is in flight. */
  abort?: boolean;
  /** A fault in reading the body: a revocation reads none on a 2xx, so it gets a 500. */
  readsBody?: boolean;
}

const faults: Fault[] = [
  { name: "fetch rejects (with a secret in its error)", script: { kind: "reject", error: new TypeError(`connect ECONNREFUSED ${RT}`) }, expected: { code: "network_error" } },
  { name: "fetch rejects with a non-Error", script: { kind: "reject", error: { code: RT } }, expected: { code: "network_error" } },
  { name: "fetch throws synchronously", script: { kind: "throw", error: new Error(`bad ${AT}`) }, expected: { code: "network_error" } },
  { name: "fetch throws a string synchronously", script: { kind: "throw", error: `string ${CS}` }, expected: { code: "network_error" } },
  { name: "fetch never resolves, deps.signal aborts", script: { kind: "never" }, abort: true, expected: { code: "aborted" } },
  { name: "fetch never resolves, timeoutMs passes", script: { kind: "never" }, timeoutMs: 1, expected: { code: "network_error" } },
  { name: "text() never resolves, timeoutMs passes", readsBody: true, script: { kind: "resolve", value: fakeResponse({ text: () => new Promise(() => {}) }) }, timeoutMs: 1, expected: { code: "network_error" } },
  { name: "text() rejects", readsBody: true, script: { kind: "resolve", value: fakeResponse({ text: () => Promise.reject(new Error(RT)) }) }, expected: { code: "network_error" } },
  {
    name: "text() throws synchronously",
    readsBody: true,
    script: { kind: "resolve", value: fakeResponse({ text: () => { throw new Error(AT); } }) },
    expected: { code: "network_error" },
  },
  { name: "fetch resolves to undefined", script: { kind: "resolve", value: undefined }, expected: { code: "invalid_config" } },
  { name: "fetch resolves to null", script: { kind: "resolve", value: null }, expected: { code: "invalid_config" } },
  { name: "fetch resolves to a string", script: { kind: "resolve", value: "HTTP/1.1 200 OK" }, expected: { code: "invalid_config" } },
  { name: "fetch resolves to a number", script: { kind: "resolve", value: 200 }, expected: { code: "invalid_config" } },
  { name: "fetch resolves to an empty object", script: { kind: "resolve", value: {} }, expected: { code: "invalid_config" } },
  { name: "status is a string", script: { kind: "resolve", value: fakeResponse({ status: "200" }) }, expected: { code: "invalid_config" } },
  { name: "status is NaN", script: { kind: "resolve", value: fakeResponse({ status: Number.NaN }) }, expected: { code: "invalid_config" } },
  { name: "status is 200.5", script: { kind: "resolve", value: fakeResponse({ status: 200.5 }) }, expected: { code: "invalid_config" } },
  { name: "status is -1", script: { kind: "resolve", value: fakeResponse({ status: -1 }) }, expected: { code: "invalid_config" } },
  { name: "status is 70000", script: { kind: "resolve", value: fakeResponse({ status: 70_000 }) }, expected: { code: "invalid_config" } },
  {
    name: "a status getter that throws",
    script: { kind: "resolve", value: Object.defineProperty(fakeResponse({}), "status", { get: () => { throw new Error(RT); } }) },
    expected: { code: "invalid_config" },
  },
  { name: "headers missing", script: { kind: "resolve", value: { status: 200, text: async () => "{}" } }, expected: { code: "invalid_config" } },
  { name: "headers.get is not a function", script: { kind: "resolve", value: fakeResponse({ headers: { get: 1 } }) }, expected: { code: "invalid_config" } },
  {
    name: "headers.get throws",
    script: { kind: "resolve", value: fakeResponse({ headers: { get: () => { throw new Error(CS); } } }) },
    expected: { code: "invalid_config" },
  },
  { name: "text is not a function", script: { kind: "resolve", value: fakeResponse({ text: "{}" }) }, expected: { code: "invalid_config" } },
  { name: "text() resolves to a number", readsBody: true, script: { kind: "resolve", value: fakeResponse({ text: async () => 42 }) }, expected: { code: "invalid_config" } },
  { name: "text() resolves to a Buffer", readsBody: true, script: { kind: "resolve", value: fakeResponse({ text: async () => Buffer.from("{}") }) }, expected: { code: "invalid_config" } },
  { name: "fetch resolves to a thenable that rejects", script: { kind: "resolve", value: { then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error(RT)) } }, expected: { code: "network_error" } },
];

/** A normal refresh through a fresh fake: the module still works. */
async function assertStillWorks(): Promise<void> {
  const f = new FakeFetch(json(200, { access_token: "at_after", refresh_token: "rt_after" }));
  const t = await refreshAccessToken(codex, "rt_before", deps(f, new FakeClock(T0)));
  assert.deepEqual(t, { accessToken: "at_after", tokenType: "Bearer", refreshToken: "rt_after" });
}

describe("host faults: fetch", () => {
  for (const op of operations) {
    for (const fault of faults) {
      test(`${op.name}: ${fault.name} -> ${fault.expected.code}`, async () => {
        const script =
          fault.readsBody && op.name === "revokeToken" && "value" in fault.script
            ? { kind: "resolve" as const, value: { ...(fault.script.value as object), status: 500 } }
            : fault.script;
        const f = new FakeFetch(...op.before, script);
        const ctrl = new AbortController();
        const extra: Partial<DeviceFlowDeps> = {};
        if (fault.timeoutMs !== undefined) extra.timeoutMs = fault.timeoutMs;
        if (fault.abort) extra.signal = ctrl.signal;
        const pending = callRejects(() => op.call(deps(f, new FakeClock(T0), extra)), fault.expected);
        if (fault.abort) {
          while (f.calls.length < op.before.length + 1) await settle(1);
          ctrl.abort();
        }
        const e = await pending;
        assert.equal(f.calls.length, op.before.length + 1, "no request after the fault");
        if (fault.abort || fault.timeoutMs !== undefined) {
          assert.equal(f.calls.at(-1)?.signal?.aborted, true, "the hung request is cancelled");
        }
        assertNoSecrets(e, SECRETS);
        await assertStillWorks();
      });
    }
  }

  test("a 2xx revocation never reads the body, even one whose text() would throw", async () => {
    let reads = 0;
    const value = fakeResponse({ status: 200, text: () => { reads++; throw new Error(RT); } });
    await revokeToken(rfcBasic, RT, deps(new FakeFetch({ kind: "resolve", value }), new FakeClock(T0)));
    assert.equal(reads, 0);
  });

  test("a 32 MB body without Content-Length is invalid_response and is not copied into the module's memory", async () => {
    const big = "x".repeat(32 * 1024 * 1024);
    const value = fakeResponse({ text: async () => big });
    const before = process.memoryUsage().external;
    for (let i = 0; i < 3; i++) {
      await callRejects(() => refreshAccessToken(codex, RT, deps(new FakeFetch({ kind: "resolve", value }), new FakeClock(T0))), {
        code: "invalid_response",
        status: 200,
      });
    }
    // WebAssembly memory never shrinks: a copied body would stay as 32 MB of external memory.
    const grown = process.memoryUsage().external - before;
    assert.ok(grown < 8 * 1024 * 1024, `external memory grew by ${grown} bytes`);
    await assertStillWorks();
  });

  test("a fetch that returns a plain response object instead of a promise is tolerated", async () => {
    const f = (() => ({ status: 200, headers: { get: () => null }, text: async () => '{"access_token":"at_sync"}' })) as unknown as DeviceFlowDeps["fetch"];
    const t = await refreshAccessToken(codex, "rt", { fetch: f, clock: new FakeClock(T0).clock });
    assert.equal(t.accessToken, "at_sync");
  });
});

const badClocks: Array<[string, () => unknown]> = [
  ["NaN", () => Number.NaN],
  ["-1", () => -1],
  ["-Infinity", () => -Infinity],
  ["Infinity", () => Infinity],
  ["beyond the largest JS date", () => 8.64e15 + 1],
  ["a numeric string", () => String(T0)],
  ["a Date object", () => new Date(T0)],
  ["a BigInt", () => BigInt(T0)],
  ["undefined", () => undefined],
  ["a function that throws", () => { throw new Error(RT); }],
];

describe("host faults: clock", () => {
  for (const op of operations) {
    for (const [what, clock] of badClocks) {
      test(`${op.name}: a clock returning ${what} rejects invalid_config before any request`, async () => {
        const f = new FakeFetch(...op.before, json(200, {}));
        const e = await callRejects(() => op.call({ fetch: f.fetch, clock: clock as () => number }), { code: "invalid_config" });
        assert.equal(f.calls.length, 0, "no request");
        assertNoSecrets(e, SECRETS);
        await assertStillWorks();
      });
    }
  }

  test("isAccessTokenExpired throws invalid_config for a NaN or negative clock, and reads it once", () => {
    for (const bad of [Number.NaN, -5]) {
      let reads = 0;
      assert.throws(
        () => isAccessTokenExpired({ accessToken: "a", tokenType: "Bearer", expiresAt: T0 }, () => (reads++, bad)),
        (e: unknown) => (e as { code?: string }).code === "invalid_config",
      );
      assert.equal(reads, 1);
    }
  });

  test("a clock that goes backwards between operations is tolerated: a code issued later than 'now' is polled", async () => {
    const clock = new FakeClock(T0);
    const f = new FakeFetch(
      json(200, { device_code: "dc_back", user_code: "U", verification_uri: "https://idp.example.com/device", expires_in: 600, interval: 5 }),
      json(400, { error: "authorization_pending" }),
      json(200, { access_token: "at_back", expires_in: 60 }),
    );
    const code = await requestDeviceCode(rfcPost, deps(f, clock));
    assert.equal(code.expiresAt, T0 + 600_000);
    clock.advance(-3_600_000); // NTP steps the clock back an hour
    assert.deepEqual(await pollDeviceToken(rfcPost, code, deps(f, clock)), { status: "pending", intervalMs: 5000 });
    const r = await pollDeviceToken(rfcPost, code, deps(f, clock));
    assert.deepEqual(r, { status: "success", tokens: { accessToken: "at_back", tokenType: "Bearer", expiresAt: T0 - 3_600_000 + 60_000 } });
    // The token looks expired on a clock that returns to the present: expiry is by the reading.
    clock.advance(3_600_000);
    assert.equal(r.status === "success" && isAccessTokenExpired(r.tokens, clock.clock, 0), true);
  });

  test("a clock reading of 0 (the epoch) is valid", async () => {
    const f = new FakeFetch(json(200, { access_token: "at_zero", expires_in: 10 }));
    const t = await refreshAccessToken(codex, "rt", deps(f, new FakeClock(0)));
    assert.equal(t.expiresAt, 10_000);
  });
});
