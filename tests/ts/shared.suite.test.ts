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

test("[both] the suite holds at least the 19 classic cases", () => {
  assert.ok(CASES.filter((c) => c.group === "classic").length >= 19);
});
