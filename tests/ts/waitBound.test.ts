/**
 * waitForDeviceToken without `deps.timeoutMs`: each poll's request gets a default bound of
 * 30 s, never reaching past the code's expiry, so a fetch that never settles ends in
 * `network_error` (retried) and then `expired_token`, instead of keeping the wait pending for
 * good. Module and baseline alike, on mocked timers (no real waiting): the sleeps are injected
 * and move the test's clock, the bound's timer is ticked by hand.
 */
import assert from "node:assert/strict";
import { describe, mock, test } from "node:test";
import * as baseline from "../../baseline/oauthDeviceFlow.ts";
import * as wasmModule from "../../js/oauthDeviceFlow.ts";
import type { DeviceFlowEvent, FetchLike } from "../../js/oauthDeviceFlow.ts";

const T0 = 1_700_000_000_000;
const flush = async () => {
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
};

for (const [name, api] of [
  ["module", wasmModule],
  ["baseline", baseline],
] as const) {
  describe(`[${name}] the waiting loop's default request bound`, () => {
    test("a fetch that never settles ends after 30 s, then after the time left, then the code expires", async (t) => {
      mock.timers.enable({ apis: ["setTimeout"] });
      t.after(() => mock.timers.reset());
      let now = T0;
      const signals: AbortSignal[] = [];
      const fetch: FetchLike = (_url, init) => {
        signals.push(init.signal as AbortSignal);
        return new Promise(() => {});
      };
      const events: DeviceFlowEvent[] = [];
      const provider = api.rfc8628Provider({ clientId: "cli", deviceAuthorizationEndpoint: "https://idp.example.com/d", tokenEndpoint: "https://idp.example.com/t" });
      const code = { deviceCode: "dc", userCode: "U", verificationUri: "https://idp.example.com/device", intervalMs: 5000, expiresAt: T0 + 60_000 };
      const state: { settled?: { ok: boolean; value: unknown } } = {};
      api
        .waitForDeviceToken(provider, code, {
          fetch,
          clock: () => now,
          sleep: async (ms) => {
            now += ms;
          },
          onEvent: (e) => events.push(e),
        })
        .then(
          (value) => (state.settled = { ok: true, value }),
          (value: unknown) => (state.settled = { ok: false, value }),
        );
      await flush();
      assert.equal(signals.length, 1, "the first poll is in flight, with a signal");
      const advance = async (ms: number) => {
        now += ms;
        mock.timers.tick(ms);
        await flush();
      };
      await advance(29_999);
      assert.equal(state.settled, undefined);
      assert.equal(signals.length, 1, "still waiting on the first request");
      await advance(1);
      assert.equal(signals[0]?.aborted, true, "the hung request is cancelled");
      assert.equal(signals.length, 2, "retried after the back-off");
      // The second poll starts at T0 + 40 s: 20 s are left on the code, and that is its bound.
      await advance(19_999);
      assert.equal(state.settled, undefined);
      await advance(1);
      assert.equal(signals[1]?.aborted, true);
      const settled = state.settled as { ok: boolean; value: unknown } | undefined;
      assert.deepEqual(settled && { ok: settled.ok, code: (settled.value as { code?: string }).code }, { ok: false, code: "expired_token" });
      assert.deepEqual(events, [
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 60_000 },
        { type: "retrying", code: "network_error", attempt: 1, delayMs: 5000 },
        { type: "waiting", nextPollInMs: 5000, expiresAt: T0 + 60_000 },
        { type: "retrying", code: "network_error", attempt: 2, delayMs: 10_000 },
        { type: "expired" },
      ]);
    });

    test("deps.timeoutMs, when set, is the bound instead", async (t) => {
      mock.timers.enable({ apis: ["setTimeout"] });
      t.after(() => mock.timers.reset());
      let now = T0;
      let calls = 0;
      const fetch: FetchLike = () => {
        calls += 1;
        return new Promise(() => {});
      };
      const provider = api.rfc8628Provider({ clientId: "cli", deviceAuthorizationEndpoint: "https://idp.example.com/d", tokenEndpoint: "https://idp.example.com/t" });
      const code = { deviceCode: "dc", userCode: "U", verificationUri: "https://idp.example.com/device", intervalMs: 5000, expiresAt: T0 + 600_000 };
      const ac = new AbortController();
      const done = api
        .waitForDeviceToken(provider, code, { fetch, clock: () => now, timeoutMs: 45_000, signal: ac.signal, sleep: async (ms) => void (now += ms) })
        .catch((e: unknown) => e);
      await flush();
      mock.timers.tick(30_000);
      await flush();
      assert.equal(calls, 1, "30 s is not the bound when timeoutMs says 45 s");
      mock.timers.tick(15_000);
      await flush();
      assert.equal(calls, 2, "45 s is");
      ac.abort();
      assert.equal(((await done) as { code?: string }).code, "aborted");
    });
  });
}
