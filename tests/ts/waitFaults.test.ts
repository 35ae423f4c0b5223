/**
 * waitForDeviceToken while things go wrong: network failures (rejecting, throwing, timing out),
 * 5xx pages, 429/503 with Retry-After, captive portals, a failing OpenAI code exchange, a clock
 * that jumps, and aborts. Each scenario asserts the exact event sequence and sleeps, and the rules
 * that hold in every one of them: no sleep shorter than the code's current interval, no sleep past
 * the code's expiry, `attempt` counting consecutive failures, and a stop at once on a permanent
 * error. Sleeps are fake (they advance a fake clock); only `timeoutMs` is a real 1 ms timer, as the
 * contract defines it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  openaiCodexProvider,
  rfc8628Provider,
  waitForDeviceToken,
  type DeviceCode,
  type DeviceFlowEvent,
  type OAuthErrorCode,
  type OAuthProvider,
} from "../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, FakeSleep, ISSUER, T0, assertNoSecrets, codexCode, html, json, rejectsWith, rfcCode, settle, type Script } from "./support/fakes.ts";

const codex = openaiCodexProvider({ issuer: ISSUER });
const rfc = rfc8628Provider({
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
});
const pending = (): Script => json(400, { error: "authorization_pending" });
const slowDown = (): Script => json(400, { error: "slow_down" });
const tokens = (): Script => json(200, { access_token: "at_ok", refresh_token: "rt_ok", expires_in: 3600 });
const reject = (): Script => ({ kind: "reject", error: new TypeError("fetch failed: ECONNRESET") });
const approval = (): Script => json(200, { authorization_code: "ac_CANARY_wait_1", code_verifier: "cv_CANARY_wait_1" });

interface Run {
  events: DeviceFlowEvent[];
  sleeps: number[];
  fetch: FakeFetch;
  clock: FakeClock;
  result: { ok: true; tokens: unknown } | { ok: false; error: unknown };
}

/** Runs one wait with fake fetch/clock/sleep and checks the rules every wait must keep. */
async function wait(p: OAuthProvider, code: DeviceCode, replies: Script[], extra: { timeoutMs?: number; clock?: FakeClock } = {}): Promise<Run> {
  const clock = extra.clock ?? new FakeClock(T0);
  const fetch = new FakeFetch(...replies);
  const sleep = new FakeSleep(clock);
  const events: DeviceFlowEvent[] = [];
  let result: Run["result"];
  try {
    const t = await waitForDeviceToken(p, code, {
      fetch: fetch.fetch,
      clock: clock.clock,
      sleep: sleep.sleep,
      onEvent: (e) => void events.push(e),
      ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
    });
    result = { ok: true, tokens: t };
  } catch (error) {
    result = { ok: false, error };
  }
  // Every sleep was announced by a `waiting` event with the same duration, in order.
  const announced = events.flatMap((e) => (e.type === "waiting" ? [e.nextPollInMs] : []));
  assert.deepEqual(sleep.requested, announced, "each sleep follows its waiting event");
  // Never sooner than the interval in force; never past the code's expiry.
  let interval = code.intervalMs;
  for (const e of events) {
    if (e.type === "slowed_down") interval = e.intervalMs;
    if (e.type === "waiting") {
      assert.ok(e.nextPollInMs >= interval, `a wait of ${e.nextPollInMs} ms is shorter than the interval ${interval}`);
      assert.ok(e.nextPollInMs <= 60_000 || e.nextPollInMs === interval, "backoff is capped at 60 s");
      assert.equal(e.expiresAt, code.expiresAt);
    }
    if (e.type === "retrying") assert.ok(e.delayMs >= interval && e.delayMs <= Math.max(60_000, interval));
  }
  const slept = sleep.requested.reduce((a, b) => a + b, 0);
  assert.ok(T0 + slept < code.expiresAt, "no sleep reaches past the code's expiry");
  return { events, sleeps: sleep.requested, fetch, clock, result };
}

const W = (ms: number, code: DeviceCode) => ({ type: "waiting" as const, nextPollInMs: ms, expiresAt: code.expiresAt });
const R = (code: OAuthErrorCode, attempt: number, delayMs: number): DeviceFlowEvent => ({ type: "retrying", code, attempt, delayMs });

describe("waitForDeviceToken under faults", () => {
  test("network failures (rejecting and throwing fetch) are retried with backoff, then the login completes", async () => {
    const code = rfcCode();
    const r = await wait(rfc, code, [reject(), { kind: "throw", error: new Error("socket hang up") }, pending(), tokens()]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [W(5000, code), R("network_error", 1, 5000), W(5000, code), R("network_error", 2, 10_000), W(10_000, code), W(5000, code)]);
    assert.equal(r.fetch.calls.length, 4);
  });

  test("a fetch that never answers is ended by timeoutMs (network_error) and the wait goes on", async () => {
    const code = rfcCode();
    const r = await wait(rfc, code, [{ kind: "never" }, { kind: "never" }, tokens()], { timeoutMs: 1 });
    assert.ok(r.result.ok, String(!r.result.ok && r.result.error));
    assert.deepEqual(r.events, [W(5000, code), R("network_error", 1, 5000), W(5000, code), R("network_error", 2, 10_000), W(10_000, code)]);
    // The timed-out requests were cancelled through the signal handed to fetch.
    assert.equal(r.fetch.calls[0]?.signal?.aborted, true);
    assert.equal(r.fetch.calls[1]?.signal?.aborted, true);
  });

  test("5xx pages (HTML and JSON) are retried, attempt counting consecutive failures and resetting after a pending poll", async () => {
    const code = rfcCode();
    const r = await wait(rfc, code, [html(502), json(500, { error: "server_error" }), pending(), html(503), tokens()]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [
      W(5000, code),
      R("server_error", 1, 5000),
      W(5000, code),
      R("server_error", 2, 10_000),
      W(10_000, code),
      W(5000, code),
      R("server_error", 1, 5000),
      W(5000, code),
    ]);
  });

  test("429 and 503 with Retry-After (seconds, HTTP date, past date) wait at least that long, capped at 60 s", async () => {
    const code = rfcCode();
    // The fourth poll reads the clock at T0 + 5 + 30 + 20 + 60 s; its Retry-After date is 15 s later.
    const fourthPollAt = new Date(T0 + 115_000 + 15_000).toUTCString();
    const r = await wait(rfc, code, [
      json(429, { error: "rate_limited" }, { "Retry-After": "30" }),
      { status: 503, headers: { "Retry-After": "20" } },
      { status: 503, headers: { "Retry-After": "600" } },
      { status: 503, headers: { "Retry-After": fourthPollAt } },
      { status: 503, headers: { "Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT" } },
      tokens(),
    ]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [
      W(5000, code),
      R("server_error", 1, 30_000),
      W(30_000, code),
      R("server_error", 2, 20_000),
      W(20_000, code),
      R("server_error", 3, 60_000),
      W(60_000, code),
      R("server_error", 4, 40_000),
      W(40_000, code),
      R("server_error", 5, 60_000),
      W(60_000, code),
    ]);
  });

  test("a Retry-After that would pass the code's expiry ends the wait with expired, without sleeping past it", async () => {
    const code = rfcCode({ expiresAt: T0 + 60_000 });
    const r = await wait(rfc, code, [{ status: 503, headers: { "Retry-After": "120" } }]);
    assert.ok(!r.result.ok);
    await rejectsWith(Promise.reject(r.result.error), { code: "expired_token" });
    assert.deepEqual(r.events, [W(5000, code), R("server_error", 1, 60_000), { type: "expired" }]);
    assert.deepEqual(r.sleeps, [5000]);
  });

  test("an outage that outlasts the code is retried within its lifetime and ends with expired", async () => {
    const code = rfcCode({ expiresAt: T0 + 120_000 });
    const r = await wait(rfc, code, [reject(), reject(), reject(), reject(), reject()]);
    assert.ok(!r.result.ok);
    await rejectsWith(Promise.reject(r.result.error), { code: "expired_token" });
    assert.deepEqual(r.events, [
      W(5000, code),
      R("network_error", 1, 5000),
      W(5000, code),
      R("network_error", 2, 10_000),
      W(10_000, code),
      R("network_error", 3, 20_000),
      W(20_000, code),
      R("network_error", 4, 40_000),
      W(40_000, code),
      R("network_error", 5, 60_000),
      { type: "expired" },
    ]);
    assert.equal(r.fetch.calls.length, 5);
  });

  test("captive portals (a 302, an HTML page on 200) are retried as redirect and invalid_response", async () => {
    const code = rfcCode();
    const r = await wait(rfc, code, [
      { status: 302, headers: { Location: "http://portal.example/login" }, body: "<html>login</html>" },
      html(200, "<html><body>Accept the terms of the hotel Wi-Fi</body></html>"),
      tokens(),
    ]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [W(5000, code), R("redirect", 1, 5000), W(5000, code), R("invalid_response", 2, 10_000), W(10_000, code)]);
    assert.equal(r.fetch.textReads, 2, "the redirect's body is never read");
  });

  test("slow_down during an outage: the backoff uses the slowed-down interval", async () => {
    const code = rfcCode();
    const r = await wait(rfc, code, [slowDown(), reject(), reject(), tokens()]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [
      W(5000, code),
      { type: "slowed_down", intervalMs: 10_000 },
      W(10_000, code),
      R("network_error", 1, 10_000),
      W(10_000, code),
      R("network_error", 2, 20_000),
      W(20_000, code),
    ]);
  });

  test("openai-codex: a failing code exchange is retried by polling again, then the login completes", async () => {
    const code = codexCode();
    const r = await wait(codex, code, [{ status: 403, body: "" }, approval(), html(502), approval(), tokens()]);
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [W(5000, code), W(5000, code), R("server_error", 1, 5000), W(5000, code)]);
    assert.deepEqual(
      r.fetch.calls.map((c) => c.url),
      [`${ISSUER}/api/accounts/deviceauth/token`, `${ISSUER}/api/accounts/deviceauth/token`, `${ISSUER}/oauth/token`, `${ISSUER}/api/accounts/deviceauth/token`, `${ISSUER}/oauth/token`],
    );
    assert.deepEqual(r.result.tokens, { accessToken: "at_ok", tokenType: "Bearer", refreshToken: "rt_ok", expiresAt: T0 + 15_000 + 3_600_000 });
  });

  for (const [name, reply, expected] of [
    ["access_denied", json(400, { error: "access_denied" }), { code: "access_denied", status: 400, serverCode: "access_denied" }],
    ["invalid_grant on the openai-codex exchange", null, { code: "invalid_grant", status: 400, serverCode: "invalid_grant" }],
    ["oauth_error (unauthorized_client)", json(400, { error: "unauthorized_client" }), { code: "oauth_error", status: 400, serverCode: "unauthorized_client" }],
    ["a fetch resolving to a non-response", { kind: "resolve", value: { ok: true } }, { code: "invalid_config" }],
  ] as const) {
    test(`${name} after failures stops at once: no retrying event for it, no further request`, async () => {
      const isExchange = reply === null;
      const code = isExchange ? codexCode() : rfcCode();
      const last: Script[] = isExchange ? [approval(), json(400, { error: "invalid_grant" })] : [reply as Script];
      const r = await wait(isExchange ? codex : rfc, code, [reject(), ...last, tokens()]);
      assert.ok(!r.result.ok);
      const e = await rejectsWith(Promise.reject(r.result.error), expected);
      assertNoSecrets(e, ["ac_CANARY_wait_1", "cv_CANARY_wait_1", code.deviceCode]);
      assert.deepEqual(r.events, [W(5000, code), R("network_error", 1, 5000), W(5000, code)]);
      assert.equal(r.fetch.remaining, 1, "the token reply was never asked for");
    });
  }

  test("expired_token from the server after failures emits expired and stops", async () => {
    const code = codexCode();
    const r = await wait(codex, code, [html(500), json(410, { error: { code: "deviceauth_expired" } }), tokens()]);
    assert.ok(!r.result.ok);
    await rejectsWith(Promise.reject(r.result.error), { code: "expired_token", status: 410 });
    assert.deepEqual(r.events, [W(5000, code), R("server_error", 1, 5000), W(5000, code), { type: "expired" }]);
    assert.equal(r.fetch.remaining, 1);
  });

  test("a clock that jumps back an hour mid-wait is tolerated: the wait goes on and completes", async () => {
    const code = rfcCode();
    const clock = new FakeClock(T0);
    const r = await wait(rfc, code, [
      pending(),
      (): ReturnType<typeof json> => {
        clock.advance(-3_600_000);
        return json(400, { error: "authorization_pending" });
      },
      reject(),
      tokens(),
    ], { clock });
    assert.ok(r.result.ok);
    assert.deepEqual(r.events, [W(5000, code), W(5000, code), W(5000, code), R("network_error", 1, 5000), W(5000, code)]);
  });

  test("a clock that turns NaN mid-wait rejects invalid_config and makes no further request", async () => {
    const code = rfcCode();
    const clock = new FakeClock(T0);
    const r = await wait(rfc, code, [
      (): ReturnType<typeof json> => {
        clock.now = Number.NaN;
        return json(400, { error: "authorization_pending" });
      },
      tokens(),
    ], { clock });
    assert.ok(!r.result.ok);
    await rejectsWith(Promise.reject(r.result.error), { code: "invalid_config" });
    assert.equal(r.fetch.calls.length, 1);
    assert.deepEqual(r.events, [W(5000, code)]);
  });

  test("an abort while a poll's fetch hangs ends the wait promptly with aborted", async () => {
    const code = rfcCode();
    const clock = new FakeClock(T0);
    const fetch = new FakeFetch(reject(), { kind: "never" }, tokens());
    const sleep = new FakeSleep(clock);
    const ctrl = new AbortController();
    const events: DeviceFlowEvent[] = [];
    const p = waitForDeviceToken(rfc, code, { fetch: fetch.fetch, clock: clock.clock, sleep: sleep.sleep, signal: ctrl.signal, onEvent: (e) => void events.push(e) });
    while (fetch.calls.length < 2) await settle(1);
    ctrl.abort();
    await rejectsWith(p, { code: "aborted" });
    assert.equal(fetch.calls.length, 2);
    assert.equal(fetch.calls[1]?.signal?.aborted, true, "the hanging request is cancelled");
    assert.deepEqual(events, [W(5000, code), R("network_error", 1, 5000), W(5000, code)]);
  });

  test("an abort during a backoff sleep ends the wait promptly with aborted", async () => {
    const code = rfcCode();
    const clock = new FakeClock(T0);
    const fetch = new FakeFetch(html(503), tokens());
    const sleep = new FakeSleep(clock);
    const ctrl = new AbortController();
    const events: DeviceFlowEvent[] = [];
    const p = waitForDeviceToken(rfc, code, { fetch: fetch.fetch, clock: clock.clock, sleep: sleep.sleep, signal: ctrl.signal, onEvent: (e) => void events.push(e) });
    const secondSleep = (async () => {
      await sleep.nextSleep();
      sleep.hang = true;
      await sleep.nextSleep();
    })();
    await secondSleep;
    ctrl.abort();
    await rejectsWith(p, { code: "aborted" });
    assert.equal(fetch.calls.length, 1);
    assert.deepEqual(events, [W(5000, code), R("server_error", 1, 5000), W(5000, code)]);
  });
});
