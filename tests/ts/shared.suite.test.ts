/**
 * The shared suite: every case of tests/ts/shared/cases.ts against the WebAssembly module and the
 * TypeScript baseline with the same fakes ("[module] ...", "[baseline] ..."), then both together
 * ("[both] ..."): the same requests byte for byte, and the same outcome, events, sleeps, clock
 * readings and body reads; or, for a documented difference, exactly the stated difference.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CASES } from "./shared/cases.ts";
import { DIFFERENCES } from "./shared/differences.ts";
import { assertSameBehaviour, comparable, observe, verdictFor } from "./shared/harness.ts";
import { BASELINE, IMPLEMENTATIONS, MODULE } from "./shared/implementations.ts";

const groups = [...new Set(CASES.map((c) => c.group))];

for (const group of groups) {
  describe(`shared: ${group}`, () => {
    for (const c of CASES.filter((x) => x.group === group)) {
      for (const impl of IMPLEMENTATIONS) {
        test(`[${impl.name}] ${c.name}`, async () => {
          verdictFor(c, impl.name, await observe(impl.api, c.scenario));
        });
      }
      const d = c.difference;
      test(
        d
          ? `[both] ${c.name}: the same requests; the outcomes differ exactly as documented (${d.id})`
          : `[both] ${c.name}: identical on the wire and in every result`,
        async () => {
          const m = await observe(MODULE.api, c.scenario);
          const b = await observe(BASELINE.api, c.scenario);
          if (!d) {
            assertSameBehaviour(m, b);
            return;
          }
          assert.ok(DIFFERENCES[d.id], `difference ${d.id} is documented`);
          assert.deepEqual(b.wire, m.wire, "the same requests, byte for byte");
          verdictFor(c, "module", m);
          verdictFor(c, "baseline", b);
          assert.notDeepEqual(comparable(b).outcome, comparable(m).outcome, "the documented difference shows");
        },
      );
    }
  });
}

test("[both] every documented difference has at least one explicit case", () => {
  const covered = new Set(CASES.flatMap((c) => (c.difference ? [c.difference.id] : [])));
  assert.deepEqual([...covered].sort(), Object.keys(DIFFERENCES).sort());
});

/**
 * The classic behaviours of a hand-written device-flow module, by the start of their cases' names:
 * each has at least one classic case, and no classic case is outside them.
 */
const CLASSIC_BEHAVIOURS = [
  "openai-codex device code request:",
  "rfc8628 device code request:",
  "poll pending (openai-codex",
  "poll pending (rfc8628",
  "poll slow_down:",
  "poll success (rfc8628):",
  "poll success (openai-codex):",
  "poll denied:",
  "poll expired by the server",
  "poll expired by the clock:",
  "refresh success (openai-codex):",
  "refresh rotation:",
  "refresh without rotation:",
  "refresh failure: refresh_token_expired",
  "refresh failure: refresh_token_reused",
  "refresh failure: refresh_token_invalidated",
  "refresh failure: invalid_grant",
  "refresh failure: a bare 401",
  "refresh failure: a 502 HTML page",
  "refresh failure: fetch rejects",
  "refresh failure: an HTML page on 200",
  "no token in errors:",
  "no stale token after refresh:",
  "isAccessTokenExpired: expired inside the default",
  "isAccessTokenExpired: not expired outside the default",
  "isAccessTokenExpired: expired exactly at",
  "isAccessTokenExpired: not expired with zero skew",
  "isAccessTokenExpired: from the access token's JWT exp",
  "isAccessTokenExpired: unknown expiry",
  "revoke (openai-codex):",
  "revoke (rfc8628,",
  "waitForDeviceToken: pending, slow_down, then success",
  "waitForDeviceToken: retryable failures back off",
  "waitForDeviceToken: when the next wait would reach expiresAt",
  "waitForDeviceToken: access_denied",
  "decodeTokenClaims:",
  "codexAuthHeaders:",
];

test("[both] the classic cases are exactly the classic behaviours, each at least once", () => {
  const classic = CASES.filter((c) => c.group === "classic").map((c) => c.name);
  const missing = CLASSIC_BEHAVIOURS.filter((b) => !classic.some((name) => name.startsWith(b)));
  assert.deepEqual(missing, [], "classic behaviours without a case");
  const unlisted = classic.filter((name) => !CLASSIC_BEHAVIOURS.some((b) => name.startsWith(b)));
  assert.deepEqual(unlisted, [], "classic cases outside the named behaviours");
});
