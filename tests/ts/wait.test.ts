/** waitForDeviceToken with a fake sleep: events, sleep durations, backoff, expiry, abort. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  openaiCodexProvider,
  rfc8628Provider,
  waitForDeviceToken,
  type DeviceFlowEvent,
  type OAuthTokens,
} from "../../js/oauthDeviceFlow.ts";
import {
  FakeClock,
  FakeFetch,
  FakeSleep,
  ISSUER,
  T0,
  codexCode,
  html,
  json,
  rejectsWith,
  rfcCode,
  settle,
} from "./support/fakes.ts";

const codex = openaiCodexProvider({ issuer: ISSUER });
const rfc = rfc8628Provider({
  clientId: "cli",
  deviceAuthorizationEndpoint: "https://idp.example.com/device/code",
  tokenEndpoint: "https://idp.example.com/token",
});
const pending = () => json(400, { error: "authorization_pending" });
const slowDown = () => json(400, { error: "slow_down" });
const tokenReply = () => json(200, { access_token: "at_ok", refresh_token: "rt_ok", expires_in: 3600 });

function harness(...replies: ConstructorParameters<typeof FakeFetch>) {
  const clock = new FakeClock(T0);
  const fetch = new FakeFetch(...replies);
  const sleep = new FakeSleep(clock);
  const events: DeviceFlowEvent[] = [];
  const waitDeps = { fetch: fetch.fetch, clock: clock.clock, sleep: sleep.sleep, onEvent: (e: DeviceFlowEvent) => void events.push(e) };
  return { clock, fetch, sleep, events, waitDeps };
}

describe("waitForDeviceToken", () => {
  test("rfc8628: waits one interval first, emits waiting before each sleep, slowed_down then the larger interval, and resolves on success", async () => {
    const code = rfcCode();
    const h = harness(pending(), slowDown(), pending(), tokenReply());
    const tokens = await waitForDeviceToken(rfc, code, h.waitDeps);
    const exp = code.expiresAt;
    assert.deepEqual(h.events, [
      { type: "waiting", nextPollInMs: 5000, expiresAt: exp },
      { type: "waiting", nextPollInMs: 5000, expiresAt: exp },
      { type: "slowed_down", intervalMs: 10_000 },
      { type: "waiting", nextPollInMs: 10_000, expiresAt: exp },
      { type: "waiting", nextPollInMs: 10_000, expiresAt: exp },
    ]);
    assert.deepEqual(h.sleep.requested, [5000, 5000, 10_000, 10_000]);
    assert.equal(h.fetch.calls.length, 4);
    assert.deepEqual(tokens, {
      accessToken: "at_ok",
      tokenType: "Bearer",
      refreshToken: "rt_ok",
      expiresAt: T0 + 30_000 + 3_600_000,
    } satisfies OAuthTokens);
  });

  test("the first poll happens only after the first sleep", async () => {
    const h = harness(tokenReply());
    let fetchesAtFirstSleep = -1;
    const sleep = (ms: number) => {
      if (fetchesAtFirstSleep < 0) fetchesAtFirstSleep = h.fetch.calls.length;
      return h.sleep.sleep(ms);
    };
    await waitForDeviceToken(rfc, rfcCode(), { ...h.waitDeps, sleep });
    assert.equal(fetchesAtFirstSleep, 0);
  });

  test("openai-codex: 403/404 pending then the two-request success", async () => {
    const h = harness(
      { status: 403 },
      { status: 404 },
      json(200, { authorization_code: "ac", code_verifier: "cv" }),
      json(200, { access_token: "at", refresh_token: "rt", id_token: "idt" }),
    );
    const tokens = await waitForDeviceToken(codex, codexCode(), h.waitDeps);
    assert.deepEqual(tokens, { accessToken: "at", tokenType: "Bearer", refreshToken: "rt", idToken: "idt" });
    assert.deepEqual(h.sleep.requested, [5000, 5000, 5000]);
    assert.deepEqual(
      h.fetch.calls.map((c) => c.url),
      [
        `${ISSUER}/api/accounts/deviceauth/token`,
        `${ISSUER}/api/accounts/deviceauth/token`,
        `${ISSUER}/api/accounts/deviceauth/token`,
        `${ISSUER}/oauth/token`,
      ],
    );
    assert.deepEqual(
      h.events.map((e) => e.type),
      ["waiting", "waiting", "waiting"],
    );
  });

  test("retrying: attempt counts consecutive failures, delay = min(60000, max(interval, retryAfterMs, interval*2^(attempt-1))), reset after a pending poll", async () => {
    const code = rfcCode({ intervalMs: 5000, expiresAt: T0 + 3_600_000 });
    const h = harness(
      html(503, "<h1>busy</h1>") /* attempt 1 */,
      { status: 503, headers: { "Retry-After": "30" } } /* attempt 2: retry-after 30 s wins */,
      html(502) /* attempt 3: 5000*4 = 20000 */,
      { kind: "reject" } /* attempt 4: network 40000 */,
      json(429, {}, { "retry-after": "120" }) /* attempt 5: capped 60000 */,
      pending() /* reset */,
      html(500) /* attempt 1 again */,
      { status: 302, headers: { Location: "https://portal.example" } } /* attempt 2: redirect */,
      html(200) /* attempt 3: invalid_response */,
      tokenReply(),
    );
    const tokens = await waitForDeviceToken(rfc, code, h.waitDeps);
    assert.equal(tokens.accessToken, "at_ok");
    const exp = code.expiresAt;
    const w = (ms: number) => ({ type: "waiting", nextPollInMs: ms, expiresAt: exp });
    const r = (c: string, attempt: number, delayMs: number) => ({ type: "retrying", code: c, attempt, delayMs });
    assert.deepEqual(h.events, [
      w(5000),
      r("server_error", 1, 5000),
      w(5000),
      r("server_error", 2, 30_000),
      w(30_000),
      r("server_error", 3, 20_000),
      w(20_000),
      r("network_error", 4, 40_000),
      w(40_000),
      r("server_error", 5, 60_000),
      w(60_000),
      w(5000),
      r("server_error", 1, 5000),
      w(5000),
      r("redirect", 2, 10_000),
      w(10_000),
      r("invalid_response", 3, 20_000),
      w(20_000),
    ]);
    assert.deepEqual(h.sleep.requested, [5000, 5000, 30_000, 20_000, 40_000, 60_000, 5000, 5000, 10_000, 20_000]);
  });

  test("a slow_down resets the attempt counter and the backoff uses the slowed-down interval", async () => {
    const code = rfcCode({ intervalMs: 2000, expiresAt: T0 + 3_600_000 });
    const h = harness(html(503), html(503), slowDown(), html(503), html(503), tokenReply());
    await waitForDeviceToken(rfc, code, h.waitDeps);
    assert.deepEqual(
      h.events.filter((e) => e.type !== "waiting"),
      [
        { type: "retrying", code: "server_error", attempt: 1, delayMs: 2000 },
        { type: "retrying", code: "server_error", attempt: 2, delayMs: 4000 },
        { type: "slowed_down", intervalMs: 7000 },
        { type: "retrying", code: "server_error", attempt: 1, delayMs: 7000 },
        { type: "retrying", code: "server_error", attempt: 2, delayMs: 14_000 },
      ],
    );
    assert.deepEqual(h.sleep.requested, [2000, 2000, 4000, 7000, 7000, 14_000]);
  });

  test("Retry-After as an HTTP date sets the delay relative to the clock reading", async () => {
    const clock = new FakeClock(Date.UTC(2015, 9, 21, 7, 28, 0));
    const code = rfcCode({ intervalMs: 1000, expiresAt: clock.now + 3_600_000 });
    const fetch = new FakeFetch(
      { status: 503, headers: { "Retry-After": "Wed, 21 Oct 2015 07:28:46 GMT" } },
      tokenReply(),
    );
    const sleep = new FakeSleep(clock);
    const events: DeviceFlowEvent[] = [];
    await waitForDeviceToken(rfc, code, { fetch: fetch.fetch, clock: clock.clock, sleep: sleep.sleep, onEvent: (e) => events.push(e) });
    // The poll reads the clock at 07:28:01 (after the first 1 s sleep): 45 s remain.
    assert.deepEqual(events[1], { type: "retrying", code: "server_error", attempt: 1, delayMs: 45_000 });
    assert.deepEqual(sleep.requested, [1000, 45_000]);
  });

  test("expired: when the next wait would reach expiresAt it emits expired and rejects expired_token without sleeping", async () => {
    const code = rfcCode({ intervalMs: 5000, expiresAt: T0 + 12_000 });
    const h = harness(pending(), pending());
    await rejectsWith(waitForDeviceToken(rfc, code, h.waitDeps), { code: "expired_token", retryable: false });
    assert.deepEqual(h.events, [
      { type: "waiting", nextPollInMs: 5000, expiresAt: code.expiresAt },
      { type: "waiting", nextPollInMs: 5000, expiresAt: code.expiresAt },
      { type: "expired" },
    ]);
    assert.deepEqual(h.sleep.requested, [5000, 5000]);
    assert.equal(h.fetch.calls.length, 2);
  });

  test("expired: a wait that would end exactly at expiresAt counts as reaching it", async () => {
    const code = rfcCode({ intervalMs: 5000, expiresAt: T0 + 10_000 });
    const h = harness(pending());
    await rejectsWith(waitForDeviceToken(rfc, code, h.waitDeps), { code: "expired_token" });
    assert.deepEqual(h.sleep.requested, [5000]);
    assert.deepEqual(h.events.at(-1), { type: "expired" });
    assert.equal(h.fetch.calls.length, 1);
  });

  test("expired: a backoff delay that would reach expiresAt also ends with expired", async () => {
    const code = rfcCode({ intervalMs: 5000, expiresAt: T0 + 40_000 });
    const h = harness(html(503), { status: 503, headers: { "retry-after": "60" } });
    await rejectsWith(waitForDeviceToken(rfc, code, h.waitDeps), { code: "expired_token" });
    assert.deepEqual(h.events.slice(-2), [
      { type: "retrying", code: "server_error", attempt: 2, delayMs: 60_000 },
      { type: "expired" },
    ]);
    assert.deepEqual(h.sleep.requested, [5000, 5000]);
  });

  test("a code that is already too close to expiry rejects expired_token with no sleep and no request", async () => {
    const code = rfcCode({ intervalMs: 5000, expiresAt: T0 + 4000 });
    const h = harness();
    await rejectsWith(waitForDeviceToken(rfc, code, h.waitDeps), { code: "expired_token" });
    assert.deepEqual(h.events, [{ type: "expired" }]);
    assert.deepEqual(h.sleep.requested, []);
    assert.equal(h.fetch.calls.length, 0);
  });

  test("the server's expired_token ends the wait with expired and expired_token", async () => {
    const h = harness(pending(), json(400, { error: "expired_token" }));
    await rejectsWith(waitForDeviceToken(rfc, rfcCode(), h.waitDeps), { code: "expired_token", status: 400 });
    assert.deepEqual(h.events.at(-1), { type: "expired" });
    assert.equal(h.fetch.calls.length, 2);
  });

  test("a permanent error (access_denied) rejects at once without retrying", async () => {
    const h = harness(pending(), json(400, { error: "access_denied" }));
    await rejectsWith(waitForDeviceToken(rfc, rfcCode(), h.waitDeps), { code: "access_denied", status: 400 });
    assert.deepEqual(
      h.events.map((e) => e.type),
      ["waiting", "waiting"],
    );
    assert.equal(h.fetch.calls.length, 2);
    assert.equal(h.fetch.remaining, 0);
  });

  test("an openai-codex regional-block 403 rejects at once with oauth_error instead of waiting out the code", async () => {
    const h = harness(json(403, { error: { code: "unsupported_country_region_territory" } }));
    await rejectsWith(waitForDeviceToken(codex, codexCode(), h.waitDeps), {
      code: "oauth_error",
      status: 403,
      serverCode: "unsupported_country_region_territory",
    });
    assert.equal(h.sleep.requested.length, 1);
  });

  test("an onEvent that throws does not stop the flow", async () => {
    const h = harness(pending(), html(503), tokenReply());
    let calls = 0;
    const tokens = await waitForDeviceToken(rfc, rfcCode(), {
      ...h.waitDeps,
      onEvent: () => {
        calls++;
        throw new Error("UI crashed");
      },
    });
    assert.equal(tokens.accessToken, "at_ok");
    assert.equal(calls, 4, "waiting, waiting, retrying, waiting");
  });

  test("works without onEvent", async () => {
    const h = harness(pending(), tokenReply());
    const { onEvent: _omit, ...noEvents } = h.waitDeps;
    assert.equal((await waitForDeviceToken(rfc, rfcCode(), noEvents)).accessToken, "at_ok");
  });

  test("does not mutate the caller's DeviceCode after slow_down", async () => {
    const code = rfcCode();
    const before = structuredClone(code);
    const h = harness(slowDown(), tokenReply());
    await waitForDeviceToken(rfc, code, h.waitDeps);
    assert.deepEqual(code, before);
  });

  test("abort during a pending fake sleep rejects aborted promptly and makes no further request", async () => {
    const h = harness(pending(), tokenReply());
    const ctrl = new AbortController();
    h.sleep.hang = true;
    const p = waitForDeviceToken(rfc, rfcCode(), { ...h.waitDeps, signal: ctrl.signal });
    await h.sleep.nextSleep();
    await settle();
    assert.equal(h.sleep.requested.length, 1);
    ctrl.abort();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("not prompt")), 2000).unref());
    await rejectsWith(Promise.race([p, timeout]), { code: "aborted", retryable: false });
    assert.equal(h.fetch.calls.length, 0);
  });

  test("abort during a later sleep (after polls) also rejects aborted", async () => {
    const h = harness(pending(), pending(), tokenReply());
    const ctrl = new AbortController();
    const sleep = (ms: number) => {
      if (h.sleep.requested.length === 2) h.sleep.hang = true;
      return h.sleep.sleep(ms);
    };
    const p = waitForDeviceToken(rfc, rfcCode(), { ...h.waitDeps, sleep, signal: ctrl.signal });
    while (h.sleep.requested.length < 3) await settle(1);
    ctrl.abort(new Error("user cancelled"));
    await rejectsWith(p, { code: "aborted" });
    assert.equal(h.fetch.calls.length, 2);
  });

  test("the default sleep is a real timer that abort cancels promptly", async () => {
    const clock = new FakeClock(T0);
    const fetch = new FakeFetch();
    const ctrl = new AbortController();
    const started = Date.now();
    const p = waitForDeviceToken(rfc, rfcCode({ intervalMs: 3_000_000, expiresAt: T0 + 3_600_000 }), {
      fetch: fetch.fetch,
      clock: clock.clock,
      signal: ctrl.signal,
    });
    setTimeout(() => ctrl.abort(), 10);
    await rejectsWith(p, { code: "aborted" });
    assert.ok(Date.now() - started < 1000, "aborted promptly");
    assert.equal(fetch.calls.length, 0);
  });

  test("an already-aborted signal rejects aborted with no request", async () => {
    const h = harness(tokenReply());
    await rejectsWith(waitForDeviceToken(rfc, rfcCode(), { ...h.waitDeps, signal: AbortSignal.abort() }), {
      code: "aborted",
    });
    assert.equal(h.fetch.calls.length, 0);
  });

  test("a sleep that is not a function is invalid_config", async () => {
    const h = harness();
    await rejectsWith(waitForDeviceToken(rfc, rfcCode(), { ...h.waitDeps, sleep: 5 as never }), {
      code: "invalid_config",
    });
    assert.equal(h.fetch.calls.length, 0);
  });
});
